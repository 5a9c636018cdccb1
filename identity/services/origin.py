"""Where a request came from, as the services record it on sessions, attempts and events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict


class OriginFields(TypedDict):
    ip: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    @classmethod
    def command_line(cls) -> Origin:
        return cls(user_agent="identity-cli")

    def fields(self) -> OriginFields:
        """As keyword arguments of `services.events.record`."""
        return {"ip": self.ip, "user_agent": self.user_agent, "request_id": self.request_id}
