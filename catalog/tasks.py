"""The catalog's Celery tasks (found by autodiscovery): load by id, call one function, safe to
run twice. Big workbook imports run here instead of in a web worker."""

from celery import shared_task
from django.db import transaction

from . import audit, importexport


@shared_task(name="catalog.tasks.seal_audit", ignore_result=True)
def seal_audit() -> None:
    """Seal the audit rows committed since the last run and export their heads (beat, every 5 s)."""
    audit.seal()


@shared_task(name="catalog.tasks.run_import_job", ignore_result=True)
def run_import_job(job_id: int) -> None:
    """Import the workbook of one ImportJob (a no-op once it is done)."""
    importexport.import_job_run(job_id=job_id)


def import_job_start(*, actor, source_org, content: bytes, filename: str = ""):
    """Keep the workbook as an ImportJob and queue it once the request's transaction commits."""
    job = importexport.import_job_create(actor=actor, source_org=source_org, content=content, filename=filename)
    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job
