"""Real database, real app in process over httpx's ASGI transport.

The schema is built once per session by Alembic (which tests the migrations too); each
test gets its own engine and committed data that is truncated afterwards, so concurrent
requests inside a test see each other's commits exactly as in production.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from identity.app import create_app
from identity.clock import FixedClock
from identity.config import Settings
from identity.db import migrations
from identity.db.base import Base
from identity.db.engine import create_engine, create_sessionmaker
from identity.logs import log_handler
from identity.services.container import Services
from tests.conftest import make_settings

BASE_URL = "http://identity.test"


class AppClient(httpx.AsyncClient):
    """An HTTP client bound to one running app, which tests may also reach into."""

    def __init__(self, app: Starlette, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.settings = settings

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> str:
    migrations.downgrade(database_url, "base")
    migrations.upgrade(database_url)
    return database_url


@pytest.fixture
async def engine(migrated_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_database)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names} CASCADE"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    await conn.execute(table.delete())
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def settings(migrated_database: str) -> Settings:
    return make_settings(migrated_database)


AppFactory = Callable[..., Any]


@pytest.fixture
async def make_client(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Callable[..., Any]]:
    """`await make_client(**settings_overrides)` → a client on a fresh app, lifespan running."""
    stack: list[tuple[LifespanManager, AppClient]] = []

    async def factory(
        *,
        client_ip: str = "203.0.113.7",
        app_engine: AsyncEngine | None = None,
        raise_app_exceptions: bool = True,
        **overrides: Any,
    ) -> AppClient:
        settings = make_settings(str(engine.url.render_as_string(hide_password=False)), **overrides)
        app: Starlette = create_app(settings, engine=app_engine or engine, clock=clock)
        manager = LifespanManager(app)
        await manager.__aenter__()
        transport = httpx.ASGITransport(
            app=manager.app, client=(client_ip, 51234), raise_app_exceptions=raise_app_exceptions
        )
        client = AppClient(app, settings, transport=transport, base_url=BASE_URL)
        stack.append((manager, client))
        return client

    yield factory
    for manager, client in reversed(stack):
        await client.aclose()
        await manager.__aexit__(None, None, None)


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> AppClient:
    result: AppClient = await make_client()
    return result


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """What the real log handler (redaction, then JSON) writes, at DEBUG."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler = log_handler(stream)
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # The test's own HTTP client logs its URLs; only the service's lines are under test.
    logging.getLogger("httpx").disabled = True
    try:
        yield stream
    finally:
        logging.getLogger("httpx").disabled = False
        root.removeHandler(handler)
        root.setLevel(saved)
