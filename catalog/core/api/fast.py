"""Faster reads for model serializers, with the same output.

DRF's `Serializer.to_representation` walks every field through `get_attribute` and
`to_representation` generically; for list pages of wide rows (the approver's queue: 50 requests
of ~50 fields) that machinery costs several times the SQL. `FastReadMixin` plans once per
serializer instance how to read each field and then reads rows with plain attribute access:

- model fields whose representation is the value itself (text, numbers, booleans, choices,
  JSON) are copied as they are; dates become ISO dates; date-times are converted as DRF's
  `DateTimeField` does (to the current time zone, ISO 8601, "Z" for UTC);
- primary-key relations read the foreign key's id without loading the related row;
- nested list serializers over a prefetched relation read the prefetched rows directly (no
  queryset is built per row);
- anything else (method fields, dotted sources, custom fields) goes through DRF unchanged.

tests/sharing/requests/test_fast_serializers.py checks the output is the same as DRF's.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import BindingDict

_SKIP = object()


class ThreadFieldsMixin:
    """For flat input serializers (no nested serializer, no field that reads the context): the
    declared fields are copied and bound once per thread and class, not for every instance.
    DRF deep-copies a serializer's fields for each instance (about 20 µs a field, a third of the
    validation of a request's creation) so that instances share no state; a thread validates one
    body at a time, and these fields keep nothing between validations. Each instance takes the
    thread's fields over as their parent. Use it where the serializer is made, validated and
    dropped within one call (sharing.api.views._input)."""

    _thread_fields = threading.local()

    @cached_property
    def fields(self):
        per_class = self._thread_fields.__dict__.setdefault("by_class", {})
        held = per_class.get(type(self))
        if held is None:
            built = BindingDict(self)
            for name, field in self.get_fields().items():
                built[name] = field  # bound once: name, label, source
            held = per_class[type(self)] = dict(built.items())
        fields = BindingDict(self)
        for name, field in held.items():
            field.parent = self
            fields.fields[name] = field
        return fields


class FastReadMixin:
    """The reading plan is worked out once per serializer class (the fields of a model
    serializer are the same for every instance: a class that overrides `get_fields` plans per
    instance) as recipes that need no field objects, so a request's serializer never builds
    its fields (DRF deep-copies and re-derives them from the model for every instance, ~3 ms
    for the approver's queue) unless one of them has to be read through DRF."""

    _fast_recipes: dict[type, list[tuple[str, str, Any]]] = {}
    # Per class: the readers that need nothing of the instance (None where one does).
    _fast_readers: dict[type, list[Callable | None]] = {}

    def to_representation(self, instance):
        plan = self.__dict__.get("_fast_plan")
        if plan is None:
            plan = self._fast_plan = self._plan()
        tz = timezone.get_current_timezone()
        out = {}
        for name, read in plan:
            value = read(instance, tz)
            if value is not _SKIP:
                out[name] = value
        return out

    def _plan(self) -> list[tuple[str, Callable]]:
        """(field name, reader(obj, time zone)) for each field. A serializer of one object (a
        write's answer) reads as many fields as it plans: the readers that depend on nothing of
        the instance are made once per class."""
        recipes, per_class = self._recipes()
        cls = type(self)
        static = FastReadMixin._fast_readers.get(cls) if per_class else None
        if static is None:
            static = [_static_reader(kind, arg) for _name, kind, arg in recipes]
            if per_class:
                FastReadMixin._fast_readers[cls] = static
        return [
            (name, read if read is not None else self._reader(name, kind, arg))
            for (name, kind, arg), read in zip(recipes, static, strict=True)
        ]

    def _recipes(self) -> tuple[list[tuple[str, str, Any]], bool]:
        cls = type(self)
        per_class = cls.get_fields is serializers.ModelSerializer.get_fields
        recipes = FastReadMixin._fast_recipes.get(cls) if per_class else None
        if recipes is None:
            recipes = [(field.field_name, *self._recipe(field)) for field in self._readable_fields]
            if per_class:
                FastReadMixin._fast_recipes[cls] = recipes
        return recipes, per_class

    def _recipe(self, field) -> tuple[str, Any]:
        """How to read `field`: (kind, argument), from the field's type and its model field."""
        model = getattr(getattr(self, "Meta", None), "model", None)
        source = _plain_source(field)
        model_field = _model_field(model, source)
        kind = type(field).to_representation
        if isinstance(field, serializers.SerializerMethodField):
            return "method", field.method_name
        if model_field is not None:
            if isinstance(field, relations.PrimaryKeyRelatedField):
                if model_field.many_to_one and field.pk_field is None:
                    return "attr", model_field.attname
            elif kind is drf_fields.DateTimeField.to_representation:
                if _iso(getattr(field, "format", api_settings.DATETIME_FORMAT)) and not hasattr(field, "timezone"):
                    return "datetime", source
            elif kind is drf_fields.DateField.to_representation:
                if _iso(getattr(field, "format", api_settings.DATE_FORMAT)):
                    return "date", source
            elif kind is drf_fields.ChoiceField.to_representation:
                if all(isinstance(key, str) for key in field.choices):
                    return "attr", source  # a stored key is its own representation
            elif kind is getattr(drf_fields, "BigIntegerField", drf_fields.IntegerField).to_representation:
                if not getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING):
                    return "attr", source  # (an id, as a number)
            elif kind in _IDENTITY and not getattr(field, "binary", False):
                if isinstance(model_field, (models.CharField, models.TextField)):
                    return "str", source
                if isinstance(
                    model_field, (models.IntegerField, models.BooleanField, models.JSONField, models.AutoField)
                ):
                    return "attr", source
        if kind is drf_fields.CharField.to_representation and (path := _required_path(model, field.source)):
            return "path", path
        if isinstance(field, serializers.ListSerializer) and source:
            return "list", source
        return "drf", None

    def _reader(self, name: str, kind: str, arg: Any) -> Callable[[Any, Any], Any]:
        """The reader of a field that needs this serializer (the others: _static_reader)."""
        if kind == "method":
            method = getattr(self, arg)
            return lambda obj, _tz: method(obj)
        field = self._bound_field(name)
        if kind == "list":
            return lambda obj, _tz: field.to_representation(prefetched(obj, arg))
        return lambda obj, _tz: _drf_read(field, obj)

    def _bound_field(self, name: str):
        """The field `name` bound to this serializer: a declared one alone, as get_fields would
        make it, without building the others."""
        if "fields" not in self.__dict__ and name in self._declared_fields:
            field = copy.deepcopy(self._declared_fields[name])
            field.bind(field_name=name, parent=self)
            return field
        return self.fields[name]


def _static_reader(kind: str, arg: Any) -> Callable[[Any, Any], Any] | None:
    """A reader(obj, time zone) that needs nothing of the serializer, or None."""
    if kind == "attr":
        return lambda obj, _tz: getattr(obj, arg)
    if kind == "str":
        return lambda obj, _tz: str(value) if (value := getattr(obj, arg)) is not None else None
    if kind == "date":
        return lambda obj, _tz: value.isoformat() if (value := getattr(obj, arg)) else None
    if kind == "datetime":
        return _datetime_reader(arg)
    if kind == "path":

        def read(obj, _tz):
            for attr in arg:
                obj = getattr(obj, attr)
            return None if obj is None else str(obj)

        return read
    return None


_DATETIME = drf_fields.DateTimeField()  # the recipe's fields: ISO 8601, no time zone of their own


def _datetime_reader(source: str) -> Callable[[Any, Any], Any]:
    def read(obj, tz):
        value = getattr(obj, source)
        if value is None:
            return None
        if not (isinstance(value, dt.datetime) and timezone.is_aware(value)):
            return _DATETIME.to_representation(value)
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read


# to_representation methods that return a model value as it is (text as str).
_IDENTITY = {
    drf_fields.CharField.to_representation,
    drf_fields.IntegerField.to_representation,
    drf_fields.BooleanField.to_representation,
    drf_fields.JSONField.to_representation,
}


def _plain_source(field) -> str | None:
    source = field.source
    return source if source and source != "*" and "." not in source else None


def _required_path(model, source: str | None) -> tuple[str, ...] | None:
    """`a.b` over foreign keys that cannot be null, ending at a model field: the attribute path
    (DRF would skip the field where a link is missing; here none can be)."""
    if model is None or not source or "." not in source:
        return None
    path = tuple(source.split("."))
    for attr in path[:-1]:
        link = _model_field(model, attr)
        if link is None or not link.many_to_one or link.null:
            return None
        model = link.related_model
    return path if _model_field(model, path[-1]) is not None else None


def _iso(fmt) -> bool:
    return isinstance(fmt, str) and fmt.lower() == drf_fields.ISO_8601


def _model_field(model, source: str | None):
    if model is None or source is None:
        return None
    try:
        return model._meta.get_field(source)
    except FieldDoesNotExist:  # a property or an annotation, not a model field
        return None


def prefetched(obj, source: str) -> list:
    """The rows of a relation: the prefetched ones when there are, without a queryset per row."""
    cache = getattr(obj, "_prefetched_objects_cache", None)
    if cache is not None and source in cache:
        return list(cache[source])
    value = getattr(obj, source)
    return list(value.all()) if isinstance(value, models.Manager) else value


def _drf_read(field, obj):
    # What Serializer.to_representation does for one field.
    try:
        attribute = field.get_attribute(obj)
    except drf_fields.SkipField:
        return _SKIP
    check = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
    return None if check is None else field.to_representation(attribute)
