"""The directory: regions, institutions, users and their roles, API keys."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..choices import (
    ApiKeyScope,
    OrgKind,
    RegionLevel,
    Role,
)
from ..validators import validate_uscc


class Region(models.Model):
    """An administrative division identified by its GB/T 2260 code (province → city → county)."""

    code = models.CharField(_("code"), max_length=6, unique=True, help_text=_("GB/T 2260, 6 digits"))
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Order 809 (经部门负责人审核同意): whether a sharing request of an institution in this region
    # leaves it only after its head (or CDO) signs it off. Empty: as the region above (none: no).
    requires_signoff = models.BooleanField(
        _("requests need the department head's sign-off"),
        null=True,
        blank=True,
        help_text=_("Empty: as the region above it (and no sign-off where no region above says so)"),
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{6}$"), name="region_code_six_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def subtree_prefix(self) -> str:
        """The code prefix that the region and every division below it share (GB/T 2260)."""
        return {RegionLevel.PROVINCE: self.code[:2], RegionLevel.CITY: self.code[:4]}.get(self.level, self.code)

    def requires_signoff_effective(self) -> bool:
        """The sign-off policy in force here: this region's own setting, else the nearest region
        above that has one, else off. Reads the parents (select_related them to save queries)."""
        for region in (self, *self.ancestors()):
            if region.requires_signoff is not None:
                return region.requires_signoff
        return False

    def ancestors(self) -> list["Region"]:
        """Parents from the nearest up to the province."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Organization(models.Model):
    """A public management and service institution (or an enterprise, public institution or
    university that may receive shared data). The `authority` kind is the public-data
    authority of its region; there is at most one per region."""

    code = models.CharField(_("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc])
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(pgettext_lazy("institution", "kind"), max_length=16, choices=OrgKind.choices)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="organizations")
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["region__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region"], condition=Q(kind="authority"), name="one_authority_per_region"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> str:
        return self.region.level


class User(AbstractUser):
    """A person (or the owner of a machine client's API key), belonging to one institution.
    Roles are held in UserRole rows; `roles` is the list of their names."""

    org = models.ForeignKey(
        Organization,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    @property
    def roles(self) -> list[str]:
        cached = getattr(self, "_roles_cache", None)
        if cached is None:
            if self.pk is None:
                return []
            cached = sorted(r.role for r in self.role_set.all())
            self._roles_cache = cached
        return cached

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def get_full_name(self) -> str:
        """The name as it is written: a Chinese name family name first and without a space
        (梁志强), others given name first (Django's "first last")."""
        first, last = (self.first_name or "").strip(), (self.last_name or "").strip()
        if any("\u3400" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return super().get_full_name()

    @property
    def is_administrator(self) -> bool:
        return self.is_active and (self.is_staff or self.is_superuser)


class UserRole(models.Model):
    """One role held by one user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_set")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_user_role")]
        indexes = [models.Index(fields=["role", "user"])]

    def __str__(self) -> str:
        return self.get_role_display()


class ApiKey(models.Model):
    """A machine client's credential. Only the SHA-256 of the key is stored; the prefix is
    shown to identify it. A key acts as its user, within its scope."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    scope = models.CharField(_("scope"), max_length=16, choices=ApiKeyScope.choices, default=ApiKeyScope.READ_WRITE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
