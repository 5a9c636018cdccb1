# syntax=docker/dockerfile:1
# Robot Overlord Identity: `docker build -t robot-overlord-identity .` (docs/operations.md).
# Build stage: uv installs exactly what uv.lock pins (no dev tools) into /app/.venv, then
# builds the project's wheel (`uv build`, the wheel CI's .ci/wheel_smoke.py tests) and
# installs it there.
# Runtime stage: the slim Python base and that venv only (no source tree, no uv), a non-root user.
# No secret is baked in: every IDENTITY_* setting comes from the environment at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# uv as a pinned image, the same version that writes uv.lock here (COPY --from takes no ARG).
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
# The source stays in this stage; only /app/.venv reaches the image.
WORKDIR /src
# Dependencies first, in their own layer: it changes only when uv.lock does.
# (The verifier is a workspace member: its pyproject is needed to read the lock; it comes as
# a wheel below, like the server.)
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=verifier/pyproject.toml,target=verifier/pyproject.toml \
    uv sync --frozen --no-dev --no-install-project --no-install-package robot-overlord-identity-verifier
# What the wheels are built from: the package (migrations included), the verifier's
# distribution metadata, and their metadata files.
COPY pyproject.toml README.md LICENSE ./
COPY verifier ./verifier
COPY identity ./identity
# The project as wheels (the server and the verifier it depends on), like any dependency:
# --no-deps, so every dependency is the one uv.lock pinned above, and `uv pip check` fails
# the build if the lock lacks one it needs.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv build --wheel --out-dir /tmp/dist --all-packages \
    && uv pip install --python /app/.venv/bin/python --no-deps /tmp/dist/*.whl \
    && uv pip check --python /app/.venv/bin/python

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 identity \
    && useradd --system --uid 10001 --gid identity --home-dir /var/lib/identity \
        --no-create-home --shell /usr/sbin/nologin identity \
    && install -d -o identity -g identity -m 0750 /var/lib/identity
# The venv holds the installed wheel; it stays owned by root, so the service cannot
# rewrite itself.
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The working directory is the only writable place (a development run's SQLite file and
# generated secret); production keeps its state in PostgreSQL.
WORKDIR /var/lib/identity
# Numeric, so orchestrators (runAsNonRoot) can check it is not root.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["identity", "serve", "--host", "0.0.0.0", "--port", "8000"]
