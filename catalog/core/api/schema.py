"""OpenAPI post-processing: every /api/v1/ operation documents the error answers it can give.

drf-spectacular documents only the success answers of a view. The error answers come from
the shared plumbing (catalog.core.api.base, catalog.core.security, catalog.directory.authentication) and are
the same everywhere, so they are added here once, all with API.md's body — the `Error`
component — instead of on every view. A view that documents its own answer for a status
code keeps it.
"""

from __future__ import annotations

import re

API_PREFIX = "/api/v1/"
ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "The body of every 4xx answer (API.md, Conventions).",
    "properties": {
        "detail": {"type": "string", "description": "A human-readable message."},
        "code": {
            "type": "string",
            "description": "A machine-readable code, e.g. `invalid`, `not_found`, `invalid_state`.",
        },
        "errors": {
            "type": "object",
            "description": "Messages per input field at fault (`non_field_errors` for the input as a whole).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "code"],
}

DESCRIPTIONS = {
    "400": "Invalid input: a body, query parameter or path parameter the API does not accept (`code` `invalid`).",
    "401": "No valid credentials: a missing, malformed, expired or revoked API key.",
    "403": "The caller may see the object but not do this (or a read-only API key used for a write).",
    "404": "No such object, or one the caller may not see (also a page number beyond the last page).",
    "409": "The action does not fit the object's current state, or conflicts with a change saved at the same time.",
    "413": "The request body is too large.",
    "415": "The request body's media type is not accepted.",
    "429": "Rate-limited; retry after the number of seconds in `Retry-After`.",
}

SAFE_METHODS = {"get", "head", "options"}
BODY_METHODS = {"post", "put", "patch"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _codes_for(path: str, method: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    has_path_params = "{" in path
    paginated = any(p.get("in") == "query" and p.get("name") == "page" for p in parameters)
    codes = ["400"]  # malformed query, body or host: the shared exception handler and json_400
    if operation.get("security") != [{}] and operation.get("security", True):
        codes.append("401")
    codes.append("403")  # policies, read-only keys, CSRF for session callers
    if has_path_params or paginated:
        codes.append("404")  # outside the caller's visibility; `?page=` beyond the last page
    if method not in SAFE_METHODS:
        # Workflow actions and deletions refused in the current state (InvalidTransition),
        # and IntegrityError on any write (the exception handler answers 409).
        codes.append("409")
    if method in BODY_METHODS:
        codes += ["413", "415"]
    codes.append("429")
    return codes


def postprocess_error_responses(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry: the `Error` component and the 4xx answers."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, path_item in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes_for(path, method, operation):
                if code in responses:
                    continue  # the view documents its own answer
                answer = {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": ref}}}
                if code == "401":
                    answer["headers"] = {
                        "WWW-Authenticate": {"schema": {"type": "string"}, "description": '`Bearer realm="api"`'}
                    }
                elif code == "429":
                    answer["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}
                    }
                responses[code] = answer
            operation["responses"] = dict(sorted(responses.items(), key=lambda kv: _sort_key(kv[0])))
    return result


def _sort_key(code: str):
    return (0, int(code)) if re.fullmatch(r"\d{3}", code) else (1, code)
