"""The beat schedule: seeded from code, then administrators' edits stick."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery import app
from sharing.notify.beat import entries_to_install

pytestmark = pytest.mark.django_db


def test_only_entries_missing_from_the_database_are_written_from_code():
    schedule = app.conf.beat_schedule
    assert set(entries_to_install(schedule)) == set(schedule)  # a fresh database gets them all
    every_ten, _ = CrontabSchedule.objects.get_or_create(
        minute="*/10", hour="*", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.create(
        name="scan-request-deadlines", task="sharing.tasks.scan_request_deadlines", crontab=every_ten, enabled=False
    )  # an administrator retimed and paused it
    remaining = entries_to_install(schedule)
    assert "scan-request-deadlines" not in remaining
    assert set(remaining) == set(schedule) - {"scan-request-deadlines"}
