"""Composition root: `create_app(settings, ...)` wires settings, database, clock and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from identity.clock import Clock, SystemClock
from identity.config import Settings
from identity.db.engine import create_engine, create_sessionmaker
from identity.http.context import AppContext
from identity.http.errors import EXCEPTION_HANDLERS
from identity.http.middleware import BodyLimitMiddleware, RequestIdMiddleware
from identity.http.routes import routes
from identity.logs import configure_logging


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """Build the ASGI app. Tests inject `engine` and `clock`; uvicorn calls it with none."""
    if settings is None:
        settings = Settings()
        configure_logging(settings.log_level, settings.log_json)
    owns_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = engine or create_engine(
            settings.database_url,
            echo=settings.database_echo,
            pool_size=settings.database_pool_size,
        )
        ctx = AppContext(
            settings=settings,
            engine=db,
            sessionmaker=create_sessionmaker(db),
            clock=clock or SystemClock(),
        )
        app.state.ctx = ctx
        try:
            yield
        finally:
            if owns_engine:
                await db.dispose()

    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After", "WWW-Authenticate"],
            )
        )
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
