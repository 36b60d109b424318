"""Admin of the working-day calendar and the deadline policy."""

from django.contrib import admin

from catalog import calendar as wcal

from ..models import CalendarDay, CalendarYear, DeadlinePolicy


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


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = ["kind", "amount", "unit", "source", "updated_at"]
    readonly_fields = ["kind", "unit", "source", "updated_at"]
    fields = ["kind", "amount", "unit", "source", "note", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        wcal.deadline_policy_update(actor=request.user, policy=obj, amount=obj.amount, note=obj.note)
