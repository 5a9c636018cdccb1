"""Composition root: `build_services` turns Settings into the one container of
collaborators (the CLI uses it too); `create_app` wires it to routes and middleware."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from identity.clock import Clock, SystemClock
from identity.config import InvalidSettings, Settings, load_settings
from identity.crypto.client_secrets import ClientSecretDigests
from identity.crypto.passwords import Argon2Parameters, PasswordHasher
from identity.crypto.refresh_tokens import RefreshTokenCodec
from identity.db.engine import create_engine, create_sessionmaker
from identity.http.edge import EdgeMiddleware
from identity.http.errors import EXCEPTION_HANDLERS, OAUTH_PATHS
from identity.http.metrics import METRICS_PATH
from identity.http.middleware import BodyLimitMiddleware
from identity.http.routes import routes
from identity.logs import configure_logging
from identity.metrics import Metrics
from identity.services import cleanup
from identity.services.access_tokens import AccessTokens
from identity.services.client_admin import first_party_conflict
from identity.services.clients import first_party_client
from identity.services.container import Services
from identity.services.hashing import PasswordHashing
from identity.services.key_ring import KeyManager, KeyRing
from identity.services.keys import KeyPolicy
from identity.services.login_timing import calibrate_from_accounts
from identity.services.password_policy import PasswordRules
from identity.services.policy import AccountPolicy
from identity.services.throttle import Rate, Rule, Throttle, exact_key, ip_key

logger = logging.getLogger("identity.app")


def engine_from(settings: Settings) -> AsyncEngine:
    """The database engine as configured (the server and every CLI command)."""
    return create_engine(
        settings.database_url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
        connect_timeout=settings.database_connect_timeout.total_seconds(),
        statement_timeout=settings.database_statement_timeout.total_seconds(),
        pool_timeout=settings.database_pool_timeout.total_seconds(),
    )


def build_services(
    settings: Settings,
    engine: AsyncEngine,
    *,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
) -> Services:
    """Every collaborator the services need, as configured. Cheap: nothing runs yet."""
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    sessionmaker = create_sessionmaker(engine)
    ring = KeyRing()
    keys = KeyManager(
        sessionmaker,
        ring,
        policy=KeyPolicy(
            alg=settings.signing_alg,
            rotation_interval=settings.key_rotation_interval,
            jwks_max_age=settings.jwks_max_age,
            reload_interval=settings.key_refresh_interval,
            access_token_ttl=settings.access_token_ttl,
        ),
        secrets=settings.secrets(),
        clock=clock,
    )
    hasher = PasswordHasher(
        Argon2Parameters(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        )
    )
    return Services(
        engine=engine,
        sessionmaker=sessionmaker,
        clock=clock,
        policy=AccountPolicy(
            password=PasswordRules(
                min_length=settings.password_min_length, max_length=settings.password_max_length
            ),
            lockout_threshold=settings.lockout_threshold,
            refresh_idle_ttl=settings.refresh_idle_ttl,
            session_max_ttl=settings.session_max_ttl,
            refresh_reuse_grace=settings.refresh_reuse_grace,
            device_token_ttl=settings.device_token_ttl,
        ),
        hashing=PasswordHashing(
            hasher,
            settings.hash_concurrency,
            queue_limit=settings.hash_queue_limit,
            metrics=metrics,
        ),
        refresh_tokens=RefreshTokenCodec(settings.secrets()),
        client_secrets=ClientSecretDigests(settings.secrets()),
        first_party=first_party_client(
            settings.first_party_client_id,
            scopes=settings.first_party_scopes,
            audiences=settings.first_party_audiences,
            default_audience=settings.audience,
        ),
        access_tokens=AccessTokens(
            ring,
            issuer=settings.issuer,
            audience=settings.audience,
            ttl=settings.access_token_ttl,
            clock=clock,
        ),
        keys=keys,
        throttle=Throttle(
            {
                "token": Rule(Rate(settings.rate_limit_token_per_minute, 60), key=ip_key),
                "token-account": Rule(
                    Rate(settings.rate_limit_account_per_minute, 60), key=exact_key
                ),
                "register": Rule(Rate(settings.rate_limit_register_per_hour, 3600), key=ip_key),
                "change-password": Rule(
                    Rate(settings.rate_limit_change_password_per_hour, 3600), key=ip_key
                ),
                "change-password-account": Rule(
                    Rate(settings.rate_limit_change_password_per_hour, 3600), key=exact_key
                ),
            },
            enabled=settings.rate_limit_enabled,
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_key_prefix,
            metrics=metrics,
            key_secret=settings.secrets()[0],
        ),
        metrics=metrics,
        trusted_proxies=tuple(settings.trusted_proxies),
    )


def retention_from(settings: Settings) -> cleanup.Retention:
    """What the cleanup pass keeps, as configured (the server's task and `identity cleanup`)."""
    return cleanup.Retention(
        sessions=settings.session_retention,
        attempts=settings.attempt_retention,
        events=settings.event_retention,
        batch_size=settings.cleanup_batch_size,
    )


async def refuse_a_registered_first_party_id(services: Services) -> None:
    """Start-up check: the first-party id must not name a registered client."""
    try:
        conflict = await first_party_conflict(services)
    except Exception:  # the database may come up later; the check is then skipped
        logger.warning("could not check IDENTITY_FIRST_PARTY_CLIENT_ID at start-up")
        return
    if conflict:
        raise RuntimeError(
            f"IDENTITY_FIRST_PARTY_CLIENT_ID={services.first_party.client_id!r} names a "
            "registered client, whose sessions would then refresh without its secret: "
            "choose an id no client has (identity clients list)"
        )


def observe(services: Services) -> None:
    """The gauges read from the services' state rather than counted (metrics.sampled_gauge)."""
    metrics, engine = services.metrics, services.engine
    metrics.sampled_gauge(
        "identity_db_pool_in_use",
        "Database connections checked out of the pool.",
        lambda: pool_in_use(engine),
    )
    metrics.sampled_gauge(
        "identity_password_hash_queue_depth",
        "Password work waiting for a slot in the hash pool.",
        services.hashing.queue_depth,
    )
    metrics.sampled_gauge(
        "identity_signing_key_age_seconds",
        "Seconds since the current signing key started signing (NaN: none loaded).",
        services.keys.current_key_age,
        multiprocess_mode="livemax",
    )


def pool_in_use(engine: AsyncEngine) -> float:
    checkedout = getattr(engine.pool, "checkedout", None)  # StaticPool (in-memory) has none
    return float(checkedout()) if callable(checkedout) else 0.0


async def sample_forever(metrics: Metrics) -> None:
    """Multiprocess mode: keep this worker's sampled gauges fresh in the shared files, for
    scrapes another process answers (the management port, another worker)."""
    while True:
        try:
            metrics.sample()
        except Exception:
            logger.warning("could not sample the gauges", exc_info=True)
        await asyncio.sleep(SAMPLE_INTERVAL)


# Multiprocess mode: how stale a gauge of another worker may be in a scrape.
SAMPLE_INTERVAL = 5.0
# Bound on the lifespan's own shutdown (after uvicorn has drained the requests within
# IDENTITY_SHUTDOWN_TIMEOUT): stopping background tasks and closing connections.
STOP_TIMEOUT = 5.0


async def _stop(
    background: list[asyncio.Task[None]], services: Services, engine: AsyncEngine | None
) -> None:
    """Stop the background tasks and release connections, within STOP_TIMEOUT in all: a
    key maintenance stuck on a dead database must not hold the process past its bound."""

    async def stop() -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await services.throttle.close()
        services.hashing.close()
        if engine is not None:
            await engine.dispose()

    try:
        await asyncio.wait_for(stop(), STOP_TIMEOUT)
    except Exception:  # a timeout, or a connection that fails to close: exit regardless
        logger.warning(
            "shutdown: background tasks or connections did not stop cleanly", exc_info=True
        )


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """Build the ASGI app. Tests inject `engine` and `clock`; uvicorn calls it with none."""
    if settings is None:
        try:
            settings = load_settings()
        except InvalidSettings as exc:
            # Under `uvicorn --factory` directly: the same one line per problem as the CLI.
            sys.stderr.writelines(f"identity: {problem}\n" for problem in exc.problems)
            raise SystemExit(2) from None
        configure_logging(settings.log_level, settings.log_json)
    owns_engine = engine is None
    # Built before the lifespan, so that the middleware below can count every request.
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = engine or engine_from(settings)
        services = build_services(settings, db, clock=clock, metrics=metrics)
        observe(services)
        await services.hashing.warm_up()
        await calibrate_from_accounts(services)  # the refusal floor covers legacy hashes
        app.state.services = services
        await refuse_a_registered_first_party_id(services)
        try:
            await services.keys.tick()
        except Exception:
            # Not ready (readyz says so) rather than dead: the database may come up later.
            logger.exception("could not load signing keys at start-up")
        background = [asyncio.create_task(services.keys.run_forever(), name="signing-keys")]
        if settings.cleanup_interval:  # 0: cleanup runs elsewhere (`identity cleanup`)
            background.append(
                asyncio.create_task(
                    cleanup.run_forever(
                        services, retention_from(settings), settings.cleanup_interval
                    ),
                    name="cleanup",
                )
            )
        if metrics.multiprocess:
            background.append(asyncio.create_task(sample_forever(metrics), name="metrics"))
        try:
            yield
        finally:
            await _stop(background, services, db if owns_engine else None)
            metrics.close()

    middleware = [
        # Request id, hardening headers, no-store on the token endpoints, and the access
        # count, time and line; outermost, so that it times everything else and sees the
        # status the client gets.
        Middleware(
            EdgeMiddleware,
            metrics=metrics,
            no_store_paths=OAUTH_PATHS,
            log_level=settings.access_log_levelno(),
            trusted_proxies=settings.trusted_proxies,
        ),
    ]
    if settings.cors_origins:
        middleware.append(cors(settings))
    middleware.append(Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes))
    # Operational data stays off the public listener in production: the metrics tell an
    # unknown account from a wrong password and count lockouts, which the public answers
    # deliberately do not (docs/operations.md, "The management port").
    public_metrics = settings.metrics_port is None and settings.env != "production"
    served = [r for r in routes if public_metrics or getattr(r, "path", None) != METRICS_PATH]
    return Starlette(
        routes=served,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


def cors(settings: Settings) -> Middleware:
    """Starlette's CORS for the listed origins only (docs/security.md, "CORS").

    Inside the edge middleware, so preflights are counted and logged like any request.
    Credentials are allowed, for the HttpOnly device cookie of a frontend on another
    origin; hence no wildcard (config.py refuses one): Starlette would echo any origin.
    """
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After", "WWW-Authenticate"],
        max_age=int(settings.cors_max_age.total_seconds()),
    )
