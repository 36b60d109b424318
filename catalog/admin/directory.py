"""Admin of the directory: regions, institutions, users and roles, API keys."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.utils.translation import gettext_lazy as _

from catalog.directory import services as directory_services

from .. import policies
from ..choices import Role
from ..models import ApiKey, Organization, Region, User
from .base import ServiceAdminMixin, run_allowed


@admin.register(Region)
class RegionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "requires_signoff"]
    list_filter = ["level", "requires_signoff"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]

    def save_model(self, request, obj, form, change):
        fields = ("code", "name", "level", "parent", "requires_signoff")
        if change:
            obj.refresh_from_db()
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in fields}
            self._safely(request, lambda: directory_services.region_update(actor=request.user, region=obj, data=data))
        else:
            self._safely(
                request,
                lambda: setattr(
                    obj,
                    "pk",
                    directory_services.region_create(
                        actor=request.user, **{f: form.cleaned_data[f] for f in fields}
                    ).pk,
                ),
            )


@admin.register(Organization)
class OrganizationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "kind", "region", "parent"]
    list_filter = ["kind", "region__level"]
    search_fields = ["name", "code", "region__name"]
    autocomplete_fields = ["region", "parent"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        fields = ("code", "name", "kind", "region", "parent")
        if change:
            obj.refresh_from_db()
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in fields}
            self._safely(
                request, lambda: directory_services.organization_update(actor=request.user, org=obj, data=data)
            )
        else:
            self._safely(
                request,
                lambda: setattr(
                    obj,
                    "pk",
                    directory_services.organization_create(
                        actor=request.user, **{f: form.cleaned_data[f] for f in fields}
                    ).pk,
                ),
            )


class UserAdminForm(UserChangeForm):
    roles = forms.MultipleChoiceField(
        label=_("roles"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta(UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["roles"] = self.instance.roles

    def clean(self):
        cleaned = super().clean()

        for role in cleaned.get("roles", []):
            if not policies.role_allowed_in_org(role, cleaned.get("org")):
                self.add_error(
                    "roles", _("The authority role is only for users of a public-data authority institution.")
                )
        return cleaned


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserAdminForm
    list_display = ["username", "org", "email", "role_list", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "role_set__role", "org__kind"]
    search_fields = ["username", "email", "org__name"]
    autocomplete_fields = ["org"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Institution and roles"), {"fields": ("org", "roles")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "org", "password1", "password2")}),)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("org").prefetch_related("role_set")

    @admin.display(description=_("roles"))
    def role_list(self, obj):
        return ", ".join(str(Role(r).label) for r in obj.roles)  # labels are lazy translations

    def save_model(self, request, obj, form, change):
        roles = form.cleaned_data.get("roles", obj.roles if obj.pk else [])
        if change:
            data = {
                f: form.cleaned_data[f]
                for f in form.changed_data
                if f in ("org", "email", "is_active", "is_staff", "first_name", "last_name", "username")
            }
            data["roles"] = roles
            is_superuser = form.cleaned_data.get("is_superuser")
            directory_services.user_update(actor=request.user, user=obj, data=data)
            if is_superuser is not None and "is_superuser" in form.changed_data:
                directory_services.user_update(actor=request.user, user=obj, data={"is_superuser": is_superuser})
        else:
            created = directory_services.user_create(
                actor=request.user,
                username=form.cleaned_data["username"],
                org=form.cleaned_data.get("org"),
                roles=roles,
                password=form.cleaned_data.get("password1"),
            )
            obj.pk = created.pk
            obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "scope", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at", "user", "scope", "expires_at", "name"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created with the API or `manage.py create_api_key` (shown once)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request, queryset):
        run_allowed(
            self,
            request,
            queryset,
            "apikey.revoke",
            lambda key: directory_services.api_key_revoke(actor=request.user, key=key),
            _("Revoked."),
        )
