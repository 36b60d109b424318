"""Serializer fields every API uses."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class SaneDateTimeField(serializers.DateTimeField):
    """A date-time within the years this system can mean. Before 1901 Asia/Shanghai has a
    local mean time offset with seconds (+08:05:43), which is no RFC 3339 date-time in the
    answer, and near year 9999 deadlines overflow."""

    MIN_YEAR, MAX_YEAR = 1970, 2999

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if not self.MIN_YEAR <= result.year <= self.MAX_YEAR:
            raise serializers.ValidationError(
                _("Enter a date-time between the years %(min)d and %(max)d.")
                % {"min": self.MIN_YEAR, "max": self.MAX_YEAR}
            )
        return result
