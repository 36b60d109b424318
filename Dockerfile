# The production image (docker-compose.yml). Its build steps are deploy/build.sh's, which
# deploy/check.sh runs in CI too.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DJANGO_VAR_DIR=/app/var
WORKDIR /app
# The locked runtime tree first (its own layer: rebuilt only when the lock changes).
COPY requirements.lock ./
COPY deploy/build.sh deploy/
RUN sh deploy/build.sh deps
COPY . .
RUN sh deploy/build.sh app \
    && useradd --system --home /app app && mkdir -p /app/var/audit && chown -R app /app/var
USER app
EXPOSE 8000
# bind, workers, threads, timeouts and request limits: config/gunicorn.py
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]
