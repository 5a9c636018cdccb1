"""Plain async helpers that build accounts and tokens through the real app (or the database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import LoginAttempt, User, UserEvent, UserSession

PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "purple elephant sings opera"


async def register(
    client: httpx.AsyncClient,
    email: str = "alice@example.com",
    password: str = PASSWORD,
    **extra: Any,
) -> dict[str, Any]:
    r = await client.post("/register", json={"email": email, "password": password, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def password_grant(
    client: httpx.AsyncClient,
    username: str = "alice@example.com",
    password: str = PASSWORD,
    **extra: str,
) -> httpx.Response:
    return await client.post(
        "/token",
        data={"grant_type": "password", "username": username, "password": password, **extra},
    )


async def login(
    client: httpx.AsyncClient,
    username: str = "alice@example.com",
    password: str = PASSWORD,
    **extra: str,
) -> dict[str, Any]:
    r = await password_grant(client, username, password, **extra)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def refresh_grant(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def insert_user(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    email: str,
    password_hash: str,
    **columns: Any,
) -> User:
    """A user row written directly, e.g. one migrated from the old platform with bcrypt."""
    now = datetime.now(UTC)
    user = User(
        id=uuid.uuid4(),
        email=email,
        email_normalized=email.strip().lower(),
        password_hash=password_hash,
        roles=[],
        created_at=now,
        updated_at=now,
        **columns,
    )
    async with sessionmaker() as session:
        session.add(user)
        await session.commit()
    return user


async def user_row(sessionmaker: async_sessionmaker[AsyncSession], email: str) -> User:
    async with sessionmaker() as session:
        stmt = select(User).where(User.email_normalized == email.strip().lower())
        return (await session.scalars(stmt)).one()


async def events(
    sessionmaker: async_sessionmaker[AsyncSession], type: str | None = None
) -> list[UserEvent]:
    async with sessionmaker() as session:
        stmt = select(UserEvent).order_by(UserEvent.created_at, UserEvent.id)
        if type is not None:
            stmt = stmt.where(UserEvent.type == type)
        return list((await session.scalars(stmt)).all())


async def attempts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[LoginAttempt]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(LoginAttempt))).all())


async def sessions_of(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID | str
) -> list[UserSession]:
    uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(user_id)
    async with sessionmaker() as session:
        stmt = select(UserSession).where(UserSession.user_id == uid)
        return list((await session.scalars(stmt)).all())


def access_token(services: Any, **overrides: Any) -> str:
    """A token signed by the app's current key: by default a user's, for a made-up session."""
    values: dict[str, Any] = {
        "subject": str(uuid.uuid4()),
        "session_id": uuid.uuid4(),
        "scope": "",
        "roles": (),
        "client_id": services.first_party.client_id,
        "audience": services.first_party.default_audience,
        **overrides,
    }
    token: str = services.access_tokens.issue(**values).token
    return token


async def register_client(
    services: Any,
    client_id: str,
    *,
    confidential: bool = False,
    **spec: Any,
) -> str | None:
    """Register an OAuth client as an operator would; its secret (confidential ones only)."""
    from identity.services.client_admin import ClientSpec, create_client
    from identity.services.origin import Origin

    _, secret = await create_client(
        services,
        client_id,
        ClientSpec(**spec),
        confidential=confidential,
        actor_id=None,
        origin=Origin(),
    )
    return secret
