"""The admin site: who may log in (Django's default asks `is_staff`)."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import policies


def may_use_admin(user) -> bool:
    """Platform administrators (`is_staff`), and the data authorities' officers, who review
    catalog entries here: they see only the catalog section (catalog.admin.resources), the rest
    refuses them. Institution staff (clerks) use the portal and the API."""
    return policies.is_admin(user) or policies.is_authority_officer(user)


class AdminLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)  # (active), not Django's is_staff check
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class CatalogAdminSite(admin.AdminSite):
    """Who may log into the admin: see may_use_admin (Django's default asks `is_staff`)."""

    login_form = AdminLoginForm
    site_header = _("Public-data catalog and sharing — administration")
    site_title = _("Public-data administration")
    index_title = _("Administration")

    def has_permission(self, request):
        return may_use_admin(request.user)
