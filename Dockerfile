# One image for web, worker and beat (docker-compose.yml picks the process with bin/web|worker|beat).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. The lock is the project's only one
# and includes the dev tools (pytest, ruff, playwright's Python package; no browser).
COPY requirements.lock .
RUN pip install -r requirements.lock

COPY . .
# DEBUG off: the manifest storage hashes and compresses the files; WhiteNoise serves them.
RUN python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 10001 --no-create-home --home-dir /app atlas

USER atlas
EXPOSE 8000
CMD ["bin/web"]
