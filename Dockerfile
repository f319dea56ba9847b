# One image for every triage process (docker-compose.yml runs it as migrate, ingress, worker, sender
# and web; the front MTA is deploy/mx/Dockerfile).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml setup.py MANIFEST.in README.md alembic.ini ./
COPY triage ./triage
COPY migrations ./migrations
COPY rules ./rules
COPY replies ./replies

# A plain install: the wheel carries migrations/, rules/ and replies/ as package data (setup.py).
# The postgres extra brings psycopg (the image always runs against PostgreSQL).
RUN pip install ".[postgres]" \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin triage

# Configuration is environment only (TRIAGE_*, see triage/config.py); nothing is written under /app.
USER triage
# SMTP ingress (docker-compose.yml: --smtp 0.0.0.0:2525, unprivileged), staff web UI, and
# /metrics /healthz /readyz (TRIAGE_METRICS_LISTEN).
EXPOSE 2525 8080 9100
ENTRYPOINT ["triage"]
CMD ["--help"]
