"""Admin of the working-day calendar and the deadline policy."""

from django.contrib import admin

from catalog import calendar as wcal

from ..models import CalendarDay, CalendarYear, DeadlinePolicy, DeadlineProfile, RegionDeadlineProfile


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "entered_at"]
    readonly_fields = ["entered_at"]

    def save_model(self, request, obj, form, change):
        wcal.calendar_days_set(actor=request.user, year=obj.year, days=[], source=obj.source or "manual")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_working_day", "name"]
    list_filter = ["is_working_day", "date"]
    search_fields = ["name"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        wcal.calendar_days_set(
            actor=request.user,
            year=obj.date.year,
            days=[{"date": obj.date, "is_working_day": obj.is_working_day, "name": obj.name}],
        )

    def has_delete_permission(self, request, obj=None):
        return False


class FigureInline(admin.TabularInline):
    model = DeadlinePolicy
    fields = ["kind", "amount", "unit", "source", "confirmed"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class RegionProfileInline(admin.TabularInline):
    model = RegionDeadlineProfile
    fields = ["region"]
    readonly_fields = ["region"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DeadlineProfile)
class DeadlineProfileAdmin(admin.ModelAdmin):
    """A rule's figures (SPEC §3a); the regions that use it are chosen under "regions' deadline profiles"."""

    list_display = ["code", "name", "rule", "is_baseline"]
    fields = ["code", "name", "rule", "is_baseline", "note"]
    inlines = [FigureInline, RegionProfileInline]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        wcal.deadline_profile_save(actor=request.user, profile=obj)


@admin.register(RegionDeadlineProfile)
class RegionDeadlineProfileAdmin(admin.ModelAdmin):
    """Which local profile a region (and the regions below it) uses beside the national one."""

    list_display = ["region", "profile"]
    autocomplete_fields = ["region"]

    def save_model(self, request, obj, form, change):
        wcal.region_deadline_profile_set(actor=request.user, region=obj.region, profile=obj.profile)

    def delete_model(self, request, obj):
        wcal.region_deadline_profile_set(actor=request.user, region=obj.region, profile=None)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = ["kind", "profile", "amount", "unit", "source", "confirmed", "updated_at"]
    list_filter = ["profile", "confirmed", "kind"]
    fields = ["profile", "kind", "amount", "unit", "source", "confirmed", "note", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["profile", "kind", "unit", "updated_at"] if obj is not None else ["updated_at"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            wcal.deadline_policy_add(actor=request.user, policy=obj)
            return
        wcal.deadline_policy_update(
            actor=request.user,
            policy=obj,
            amount=obj.amount,
            note=obj.note,
            source=obj.source,
            confirmed=obj.confirmed,
        )
