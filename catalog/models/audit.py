"""The append-only, hash-chained audit trail and the signed heads of its ledger."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .directory import Organization, User


class AuditEvent(models.Model):
    """An append-only record of a change or workflow action. Written in the service's
    transaction without seq or hash; the sealer (catalog.audit.seal) then gives it its place
    in the ledger and a hash over its own fields and the previous row's hash, so an altered or
    removed row breaks the chain (`manage.py verify_audit`)."""

    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    api_key_prefix = models.CharField(_("API key"), max_length=16, blank=True)
    org = models.ForeignKey(
        Organization,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    ip = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=36, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # Set once, by the sealer, after the row's transaction has committed (catalog.audit.seal):
    # the row's place in the ledger and the chain hash over it and every sealed row before it.
    seq = models.BigIntegerField(_("ledger position"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        ordering = ["-id"]
        indexes = [
            # The sealer's queue: rows not sealed yet, in id order (a few at any time).
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail is append-only")


class AuditHead(models.Model):
    """A signed checkpoint of the audit ledger, one per batch the sealer sealed: the hash of
    the row at `seq` (the chain up to it) with an HMAC by a key that is not in the database.
    Also exported off the database (settings.AUDIT_HEAD_SINKS), so that removing the last rows
    and their heads, or rewriting rows and their hashes, is detected."""

    first_seq = models.BigIntegerField(_("first ledger position"))
    seq = models.BigIntegerField(_("last ledger position"), unique=True)
    hash = models.CharField(_("hash"), max_length=64)
    count = models.PositiveIntegerField(_("records"))
    sealed_at = models.DateTimeField(_("sealed at"))
    key_id = models.CharField(_("key id"), max_length=8)
    mac = models.CharField(_("signature (HMAC)"), max_length=64)

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"{self.first_seq}–{self.seq} {self.hash[:12]}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit ledger is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit ledger is append-only")
