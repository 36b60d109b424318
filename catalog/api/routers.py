"""Router URLs nested under their literal prefixes.

A SimpleRouter lists every route of every viewset it holds at one level (`^sharing-requests/
(?P<pk>[^/.]+)/approve/$`, …), so Django's resolver tries a request's path against each route of
each viewset registered before its own, and keeps a list of all it tried for the 404 page: a
sharing request's action went through about a hundred patterns, ~5% of a write's time (issue 16).
`by_prefix` mounts each viewset under `path("<prefix>/", …)` with its routes relative to it: a path
is compared with one literal prefix per viewset, and only its own viewset's routes are tried. The
paths and the route names are the same.
"""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter


def by_prefix(router: SimpleRouter) -> list:
    """The URL patterns of `router`, one include per registered viewset, in registration order."""
    patterns = []
    for prefix, viewset, basename in router.registry:
        own = type(router)(trailing_slash=bool(router.trailing_slash))
        own.register("", viewset, basename=basename)
        patterns.append(path(f"{prefix}/", include(own.urls)))
    return patterns
