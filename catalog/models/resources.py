"""The public-data resource catalog (SPEC §2): entries, items, versions, filings, tasks."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import (
    CatalogTaskStatus,
    Classification,
    ClosedReason,
    DataForm,
    ItemDataType,
    Network,
    OpenType,
    ResourceStatus,
    SecurityGrade,
    SharingMethod,
    SharingType,
    SourceConflictStatus,
    UpdateFrequency,
)
from .directory import Organization, Region, User


class Resource(models.Model):
    """A catalog entry (数据资源). One row per entry holds its stable `code` and its live content:
    while it is published, this row is what every institution sees and what sharing refers to
    (by id or by code). Editing a published entry creates a second row, its *revision*
    (`revision_of` = the published row, same code, version + 1, status draft/submitted/returned),
    visible only to the owner and the reviewing authority; publishing the revision copies its
    content onto the published row (same id, new version) and deletes the revision row.
    Published versions are kept as ResourceVersion snapshots."""

    code = models.CharField(_("resource code"), max_length=40, db_index=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    summary = models.TextField(_("summary"), blank=True, max_length=4000)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    data_form = models.CharField(_("data form"), max_length=16, choices=DataForm.choices, default=DataForm.TABLE)
    sharing_type = models.CharField(_("sharing type"), max_length=16, choices=SharingType.choices)
    sharing_conditions = models.TextField(_("sharing conditions"), blank=True, max_length=2000)
    sharing_basis = models.TextField(
        _("sharing basis"),
        blank=True,
        max_length=2000,
        help_text=_("The basis of the conditions, or the law that forbids sharing (no-sharing entries)"),
    )
    scope_org_kinds = models.JSONField(
        _("eligible institution kinds"), default=list, blank=True, help_text=_("Empty: every kind")
    )
    scope_regions = models.JSONField(
        _("eligible regions"),
        default=list,
        blank=True,
        help_text=_("GB/T 2260 codes; an institution in one of them or below qualifies. Empty: every region"),
    )
    sharing_method = models.CharField(
        _("sharing method"), max_length=16, choices=SharingMethod.choices, default=SharingMethod.API
    )
    network = models.CharField(_("network"), max_length=16, choices=Network.choices, default=Network.EXTRANET)
    open_type = models.CharField(_("open attribute"), max_length=16, choices=OpenType.choices, default=OpenType.CLOSED)
    open_reason = models.CharField(_("reason for not opening"), max_length=24, choices=ClosedReason.choices, blank=True)
    open_conditions = models.TextField(_("open conditions or reason"), blank=True, max_length=2000)
    update_frequency = models.CharField(
        _("update frequency"), max_length=16, choices=UpdateFrequency.choices, default=UpdateFrequency.IRREGULAR
    )
    source_org = models.ForeignKey(
        Organization,
        verbose_name=_("source institution"),
        on_delete=models.PROTECT,
        related_name="resources",
        help_text=_("The owner: provides the data and edits the entry"),
    )
    collecting_org = models.ForeignKey(
        Organization,
        verbose_name=_("collecting institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    verifying_org = models.ForeignKey(
        Organization,
        verbose_name=_("verifying institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The source institution's region (kept here for filters and facets)"),
    )
    authority = models.ForeignKey(
        Organization,
        verbose_name=_("reviewing authority"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_resources",
    )
    classification = models.CharField(
        _("classification"), max_length=16, choices=Classification.choices, default=Classification.DEPARTMENT
    )
    theme = models.CharField(_("theme"), max_length=64, blank=True)
    security_grade = models.PositiveSmallIntegerField(
        _("security grade"), choices=SecurityGrade.choices, default=SecurityGrade.GRADE_2
    )
    legal_basis = models.TextField(_("legal basis for collecting"), blank=True, max_length=2000)
    status = models.CharField(_("status"), max_length=16, choices=ResourceStatus.choices, default=ResourceStatus.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    revision_of = models.OneToOneField(
        "self",
        verbose_name=_("revision of"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pending_revision",
        help_text=_("Set on the draft of a new version of a published entry"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    review_due_at = models.DateTimeField(_("review due at"), null=True, blank=True)
    review_deadline_provisional = models.BooleanField(_("provisional review deadline"), default=False)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        User, verbose_name=_("reviewed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_comment = models.TextField(_("review comment"), blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    last_refreshed_at = models.DateTimeField(_("last refreshed at"), null=True, blank=True)
    refresh_due_at = models.DateTimeField(
        _("refresh due at"), null=True, blank=True, help_text=_("After this the data is stale (update frequency)")
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
    # Segmented text for search (catalog/search.py); PostgreSQL adds a tsvector column over them.
    search_name = models.TextField(editable=False, blank=True, default="")
    search_body = models.TextField(editable=False, blank=True, default="")

    class Meta:
        verbose_name = _("data resource")
        verbose_name_plural = _("data resources")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(revision_of__isnull=True), name="resource_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(security_grade__gte=1, security_grade__lte=4), name="resource_grade_1_4"
            ),
        ]
        indexes = [
            models.Index(fields=["review_due_at"], condition=Q(status="submitted"), name="resource_review_due_idx"),
            models.Index(fields=["refresh_due_at"], condition=Q(status="published"), name="resource_refresh_due_idx"),
            models.Index(fields=["status", "updated_at"], name="resource_status_updated_idx"),
            models.Index(fields=["source_org", "status"], name="resource_org_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_revision(self) -> bool:
        return self.revision_of_id is not None

    def is_stale(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == ResourceStatus.PUBLISHED and self.refresh_due_at is not None and self.refresh_due_at < now


# The content of an item: what an edit may change, what a version records, what the API writes.
ITEM_FIELDS = ("code", "name", "data_type", "length", "description", "is_sensitive", "is_source")


class ResourceItem(models.Model):
    """A data item (信息项) of an entry: name, standard code, type, length, description and
    whether it is personal/sensitive. `is_source` claims the entry's institution as the item's
    one source department (Art. 14, see DataElementSource)."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("data resource"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    code = models.CharField(_("standard code"), max_length=64)
    name = models.CharField(_("name"), max_length=128)
    data_type = models.CharField(
        _("data type"), max_length=16, choices=ItemDataType.choices, default=ItemDataType.STRING
    )
    length = models.PositiveIntegerField(_("length"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=1000)
    is_sensitive = models.BooleanField(_("personal or sensitive"), default=False)
    is_source = models.BooleanField(_("source item"), default=True)

    def content(self) -> dict:
        """The item's content (ITEM_FIELDS) as plain values: what the API writes and a version records."""
        return {name: getattr(self, name) for name in ITEM_FIELDS}

    class Meta:
        verbose_name = _("data item")
        verbose_name_plural = _("data items")
        ordering = ["resource", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["resource", "code"], name="resource_item_code_unique")]
        indexes = [models.Index(fields=["code"], name="resource_item_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DataElementSource(models.Model):
    """One data element, one source (Art. 14): the institution that claimed a standard item
    code as its source first. A second institution's claim is refused."""

    code = models.CharField(_("standard code"), max_length=64, unique=True)
    org = models.ForeignKey(
        Organization, verbose_name=_("source institution"), on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("data element source")
        verbose_name_plural = _("data element sources")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} → {self.org_id}"


class ResourceCodeSequence(models.Model):
    """The last sequence number used in resource codes of one institution. Only ever grows,
    so a code is never re-used, not even after a draft is deleted or an entry retired."""

    org = models.OneToOneField(Organization, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("resource code sequence")
        verbose_name_plural = _("resource code sequences")

    def __str__(self) -> str:
        return f"{self.org_id}: {self.last}"


class ResourceVersion(models.Model):
    """A published version of an entry: its full content at publication and what changed
    from the previous published version."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("data resource"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        User, verbose_name=_("published by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snapshot = models.JSONField(_("content"), default=dict)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("published version")
        verbose_name_plural = _("published versions")
        ordering = ["resource", "-version"]
        constraints = [models.UniqueConstraint(fields=["resource", "version"], name="resource_version_unique")]

    def __str__(self) -> str:
        return f"{self.resource_id} v{self.version}"


class ResourceRefresh(models.Model):
    """One data refresh recorded by the source institution or its machine client (Art. 16)."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("data resource"), on_delete=models.CASCADE, related_name="refreshes"
    )
    refreshed_at = models.DateTimeField(_("refreshed at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    record_count = models.PositiveBigIntegerField(_("records"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("data refresh")
        verbose_name_plural = _("data refreshes")
        ordering = ["-refreshed_at", "-id"]
        indexes = [models.Index(fields=["resource", "-refreshed_at"], name="resource_refresh_idx")]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.refreshed_at:%Y-%m-%d %H:%M}"


class ResourceFiling(models.Model):
    """The filing (备案) of a published no-sharing entry with the data authority (Art. 13)."""

    resource = models.ForeignKey(
        Resource, verbose_name=_("data resource"), on_delete=models.CASCADE, related_name="filings"
    )
    version = models.PositiveIntegerField(_("version"))
    authority = models.ForeignKey(
        Organization, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="resource_filings"
    )
    org = models.ForeignKey(Organization, verbose_name=_("institution"), on_delete=models.PROTECT, related_name="+")
    basis = models.TextField(_("legal basis"))
    filed_at = models.DateTimeField(_("filed at"))
    filed_by = models.ForeignKey(
        User, verbose_name=_("filed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("no-sharing filing")
        verbose_name_plural = _("no-sharing filings")
        ordering = ["-filed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["resource", "version"], name="resource_filing_unique")]

    def __str__(self) -> str:
        return f"{self.resource_id} v{self.version} → {self.authority_id}"


class CatalogTask(models.Model):
    """A catalog-update task (Art. 11): an institution's legal basis or duties changed, so it
    must update its catalog by `update_due_at`, and the authority must review the update by
    `review_due_at`. Overdue tasks are those past the deadline of their open step."""

    org = models.ForeignKey(
        Organization, verbose_name=_("institution"), on_delete=models.PROTECT, related_name="catalog_tasks"
    )
    authority = models.ForeignKey(Organization, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("what changed"))
    basis = models.TextField(_("new legal basis"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CatalogTaskStatus.choices, default=CatalogTaskStatus.OPEN
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    update_due_at = models.DateTimeField(_("update due at"))
    review_due_at = models.DateTimeField(_("review due at"))
    deadline_provisional = models.BooleanField(_("provisional deadline"), default=False)
    updated_at = models.DateTimeField(_("catalog updated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    completion_comment = models.TextField(
        _("institution's comment"), blank=True, help_text=_("Given when the catalog was updated")
    )
    close_comment = models.TextField(
        _("authority's review comment"), blank=True, help_text=_("Given when the update was reviewed")
    )

    class Meta:
        verbose_name = _("catalog-update task")
        verbose_name_plural = _("catalog-update tasks")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["update_due_at"], condition=Q(status="open"), name="catalog_task_update_due_idx"),
            models.Index(fields=["review_due_at"], condition=Q(status="updated"), name="catalog_task_review_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.org_id}: {self.reason[:40]}"

    def due_at(self):
        if self.status == CatalogTaskStatus.OPEN:
            return self.update_due_at
        if self.status == CatalogTaskStatus.UPDATED:
            return self.review_due_at
        return None

    def is_overdue(self, now=None) -> bool:
        due = self.due_at()
        return due is not None and due < (now or timezone.now())

    @property
    def comment(self) -> str:
        """The latest comment: the authority's once it reviewed, else the institution's."""
        return self.close_comment or self.completion_comment


class SourceConflict(models.Model):
    """A second institution's claim to be the source of a data element that another holds
    (Art. 14 "one data element, one source"; Art. 6(5) and Order 809: the data authority
    designates the source). The claimant's entry is saved with the item marked as not a
    source meanwhile; the common data authority of the two designates the holder (the claim
    stays) or the claimant (the claim moves). Either side may take it further as an Art. 51
    dispute (sharing.Dispute links here)."""

    code = models.CharField(_("standard code"), max_length=64)
    holder = models.ForeignKey(
        Organization, verbose_name=_("current source"), on_delete=models.PROTECT, related_name="+"
    )
    claimant = models.ForeignKey(Organization, verbose_name=_("claimant"), on_delete=models.PROTECT, related_name="+")
    resource = models.ForeignKey(
        Resource,
        verbose_name=_("claimant's entry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_conflicts",
    )
    authority = models.ForeignKey(
        Organization,
        verbose_name=_("data authority"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="source_conflicts",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=SourceConflictStatus.choices, default=SourceConflictStatus.OPEN
    )
    designated_org = models.ForeignKey(
        Organization,
        verbose_name=_("designated source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)

    class Meta:
        verbose_name = _("source conflict")
        verbose_name_plural = _("source conflicts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "claimant"], condition=Q(status="open"), name="one_open_conflict_per_claim"
            ),
        ]
        indexes = [models.Index(fields=["authority", "status"], name="source_conflict_authority_idx")]

    def __str__(self) -> str:
        return f"{self.code}: {self.holder_id} / {self.claimant_id} ({self.get_status_display()})"
