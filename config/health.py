"""Health checks: /healthz (the process answers) and /readyz (the database and the broker answer)."""

from django.db import connection
from django.http import JsonResponse
from drf_spectacular.utils import extend_schema


@extend_schema(exclude=True)
def healthz(request):
    return JsonResponse({"status": "ok"})


def _broker_ok() -> tuple[bool, str]:
    from .celery import app

    if app.conf.task_always_eager:
        return True, "eager"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return False, type(exc).__name__


@extend_schema(exclude=True)
def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = type(exc).__name__
    ok, detail = _broker_ok()
    checks["broker"] = detail
    ready = checks["database"] == "ok" and ok
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
