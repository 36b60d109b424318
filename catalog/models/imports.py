"""A workbook import run by the worker (catalog.tasks.run_import_job): the uploaded file until
it is done, where it is, and its result (capped) for the user who uploaded it."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .directory import Organization, User


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One upload of the catalog workbook too large to import within the request. `content`
    holds the file (in the database, so the worker reads it wherever it runs) until the job is
    done, then it is emptied. `run` names the worker's run that owns the job: a run that finds
    another's name when it is about to write gives up, so the import is written once."""

    owner = models.ForeignKey(User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="+")
    org = models.ForeignKey(Organization, verbose_name=_("institution"), on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    content = models.BinaryField(_("file"), default=b"", editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    run = models.UUIDField(_("run"), null=True, blank=True, editable=False)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    entries_total = models.PositiveIntegerField(_("entries to write"), default=0)
    entries_done = models.PositiveIntegerField(_("entries written"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="catalog_import_job_owner_idx")]

    def __str__(self) -> str:
        return f"{self.pk} {self.filename} ({self.get_status_display()})"

    @property
    def done(self) -> bool:
        return self.status in (ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED)

    @staticmethod
    def new_run() -> uuid.UUID:
        return uuid.uuid4()
