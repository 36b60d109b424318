"""The base of every viewset: the permission that asks the one policy registry
(catalog.policies) for the viewset's `policy_actions`, and no PUT (PATCH only)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import permissions, viewsets

from .. import policies
from ..choices import ApiKeyScope

# Keys that may not change anything: read keys, and the exchange gateway's (grants checks).
READ_ONLY_SCOPES = (ApiKeyScope.READ, ApiKeyScope.GATEWAY)


class PolicyPermission(permissions.BasePermission):
    """Asks policies.can for the viewset's `policy_actions[action]`. A read-only API key may
    not use unsafe methods, except for the view's `question_actions` (a POST that only asks)."""

    def _action(self, view) -> str | None:
        mapping = getattr(view, "policy_actions", {})
        if hasattr(view, "action") and view.action is None:
            return None  # a method the viewset does not route: DRF answers 405
        action = getattr(view, "action", None)
        if action is None:  # a plain APIView: its handler methods are its actions
            method = view.request.method.lower()
            if method not in view.http_method_names or not hasattr(view, method):
                return None  # no handler: DRF answers 405
            action = {"head": "get", "options": "metadata"}.get(method, method)  # HEAD runs the GET handler
        if action == "metadata":
            return None  # OPTIONS: describes the endpoint, changes nothing
        if action not in mapping:
            raise KeyError(f"{type(view).__name__} has no policy action for {action!r}")
        return mapping[action]

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        key = request.auth
        if (
            key is not None
            and getattr(key, "scope", None) in READ_ONLY_SCOPES
            and request.method not in permissions.SAFE_METHODS
            and getattr(view, "action", None) not in getattr(view, "question_actions", ())
        ):
            self.message = _("This API key is read-only.")
            return False
        action = self._action(view)
        if action is None:
            return True
        if getattr(view, "detail", False):
            return True  # decided per object
        return self._by_person(request, action) and policies.can(request.user, action)

    def _by_person(self, request, action: str) -> bool:
        """Actions a signed-in person (or an administrator) takes, never an API key
        (policies.PERSON_ONLY_ACTIONS)."""
        if request.auth is not None and action in policies.PERSON_ONLY_ACTIONS:
            self.message = _("API keys are created by a signed-in person or an administrator, not with an API key.")
            return False
        return True

    def has_object_permission(self, request, view, obj):
        action = self._action(view)
        if action is None:
            return True
        target = view.policy_object(obj) if hasattr(view, "policy_object") else obj
        return self._by_person(request, action) and policies.can(request.user, action, target)


class PolicyViewSet(viewsets.GenericViewSet):
    """Base for every viewset: the policy permission, no PUT (PATCH only)."""

    permission_classes = [PolicyPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    policy_actions: dict[str, str | None] = {}
