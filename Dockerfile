# syntax=docker/dockerfile:1
# WallTrack service image: `python -m walltrack serve` (webhook server, live loop, trading and
# the scheduled jobs under one supervisor). Build with `docker build -t walltrack .`, run with
# compose.yaml; docs/operations.md, "Container and systemd". No secret is baked in: settings
# come from the environment or an env file at run time (.dockerignore keeps .env out).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# The same install steps as a systemd host and tests/deploy: deploy/install.sh. The venv and
# the app live at the paths the runtime stage uses (/opt/venv, /app): the editable install
# points at /app/walltrack.
COPY requirements.lock pyproject.toml README.md ./
COPY deploy/install.sh deploy/
COPY walltrack walltrack/
RUN --mount=type=cache,target=/root/.cache/pip sh deploy/install.sh /opt/venv /app
COPY server.py ./
COPY jobs jobs/
COPY notebooks notebooks/
COPY deploy/healthcheck.py deploy/
# Bytecode compiled here: the runtime user cannot write beside the sources.
RUN python -m compileall -q walltrack jobs server.py deploy

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 walltrack \
    && useradd --system --uid 10001 --gid walltrack --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin walltrack
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
# Only the data directory is writable (parquet caches; the embedded store if no URL is set).
RUN mkdir -p /app/data && chown walltrack:walltrack /app/data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WALLTRACK_ENV=production \
    WALLTRACK_LOG_FORMAT=json \
    WALLTRACK_DATA_DIR=/app/data \
    WALLTRACK_SERVER_PORT=8000
WORKDIR /app
USER walltrack:walltrack
VOLUME ["/app/data"]
EXPOSE 8000
# The supervisor stops its children itself on SIGTERM (docker stop's signal).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
CMD ["python", "-m", "walltrack", "serve", "--host", "0.0.0.0"]
