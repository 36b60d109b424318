"""Property-based API test (issue 6): schemathesis generates requests from the project's own
OpenAPI schema (/api/schema/) for every /api/v1/ operation and sends them, authenticated as
the demo administrator, to the WSGI application in-process.

Checks on every answer: no 5xx, the status code is documented for the operation, the
content type is documented, and the body matches the documented schema (API.md's `Error`
body for the 4xx answers, see catalog/api/schema.py).

Bounded and deterministic for CI: a fixed number of examples per operation and mode,
`derandomize=True`, no example database, no shrinking. One test function loads the demo data
once and walks the operations (loading the demo data per operation would cost ~1.5 s each);
every example runs in a savepoint that is rolled back, so each one starts from the same
demo state (and one failed statement on PostgreSQL cannot poison the ones after it).
Failures are collected over all operations and reported together.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.generation.meta import CoverageScenario

from catalog import services as catalog_services
from catalog.demo import load_demo
from catalog.directory import services as directory_services
from catalog.models import Organization, User
from sharing.demo import load_sharing_demo

# Per operation and generation mode (positive, negative). CI runs the fixed, derandomized
# default; API_FUZZ_EXAMPLES=200 API_FUZZ_RANDOM=1 digs deeper on a laptop.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES") or 15)
DERANDOMIZE = not os.environ.get("API_FUZZ_RANDOM")

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

# Operations whose *body* cannot be generated meaningfully; they are still called (with an
# empty body) so their error answers are checked.
#   POST /api/v1/resources/import/: a multipart .xlsx workbook; random bytes only exercise
#   openpyxl's zip parser (tests/catalog/resources/test_import_export.py covers real workbooks).
NO_BODY_GENERATION = {("POST", "/api/v1/resources/import/")}

HYPOTHESIS_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=DERANDOMIZE,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)

# Ids of existing objects per collection (filled by the fixture), so that detail and workflow
# operations reach real objects, not only 404s.
KNOWN_IDS: dict[str, list[int]] = {}


def _collection(path: str) -> str:
    """'/api/v1/resources/{id}/submit/' -> '/api/v1/resources/'."""
    return path.split("{", 1)[0]


@contextmanager
def in_process_wsgi():
    """Requests go to the WSGI handler inside the test's transaction: like Django's test
    client, keep request_started/finished from closing the connection (on PostgreSQL that
    would end the test's transaction). Per call, because the test client reconnects them."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db):
    from config.wsgi import application

    with in_process_wsgi():
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json",
            application,
            config=schemathesis.Config.from_dict(
                {"generation": {"deterministic": True, "with-security-parameters": False, "database": "none"}}
            ),
        )

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Half of the cases use the id of an existing object, the rest what was generated
        # (out-of-range and negative numbers included).
        ids = KNOWN_IDS.get(_collection(context.operation.path)) if context.operation else None
        if not ids or not path_parameters or "id" not in path_parameters:
            return st.just(path_parameters)
        return st.one_of(st.just(path_parameters), st.sampled_from(ids).map(lambda i: {**path_parameters, "id": i}))

    return schema


def _extra_data(admin) -> None:
    """What the demo data (catalog.demo, sharing.demo) lacks, so that every detail operation
    meets a real object: a dispute about the rejected demo request, a catalog-update task, a
    webhook, and a notification in the administrator's inbox (events are not delivered in this test: the
    transaction is never committed)."""
    from catalog.models import Event
    from sharing import services as sharing_services
    from sharing.models import Notification, SharingRequest
    from sharing.notify import webhooks

    rejected = SharingRequest.objects.filter(status="rejected").select_related("requester_org").order_by("id").first()
    requester = rejected and User.objects.filter(org=rejected.requester_org).order_by("id").first()
    if requester is not None:
        sharing_services.dispute_open(actor=requester, request=rejected, reason="履行法定职责确需使用")
    psb = Organization.objects.filter(name="广东省公安厅").first()
    if psb is not None:
        catalog_services.catalog_task_create(
            actor=admin, org=psb, reason="《中华人民共和国治安管理处罚法》修订", basis="主席令第六十七号"
        )
    webhooks.webhook_create(
        actor=admin,
        org=admin.org,
        url="http://127.0.0.1:9/hook",
        event_types=["request.submitted"],
        allow_private=True,
    )
    event = Event.objects.order_by("id").first()
    if event is not None:
        Notification.objects.create(
            user=admin,
            event=event,
            type=event.type,
            title="演示通知",
            subject_type=event.subject_type,
            subject_id=event.subject_id,
        )


@pytest.fixture
def admin_key(db):
    load_demo()
    load_sharing_demo()
    admin = User.objects.get(username="admin")
    _extra_data(admin)
    _key, raw = directory_services.api_key_create(actor=None, user=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return raw, client


def _collect_ids(client, schema) -> None:
    KNOWN_IDS.clear()
    for path in {_collection(p) for p in schema.raw_schema["paths"] if "{id}" in p}:
        response = client.get(path, {"page_size": 20})
        if response.status_code == 200 and isinstance(response.json(), dict):
            KNOWN_IDS[path] = [
                row["id"] for row in response.json().get("results", []) if isinstance(row.get("id"), int)
            ]


def _run_operation(operation, call) -> None:
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        kwargs = {}
        if (operation.method.upper(), operation.path) in NO_BODY_GENERATION:
            kwargs = {"body": {}}  # a form without the workbook: the 400 naming `file`
        strategy = operation.as_strategy(generation_mode=mode, **kwargs)

        @HYPOTHESIS_SETTINGS
        @given(case=strategy)
        def run(case):
            call(case)

        try:
            run()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # Nothing to make invalid: no parameters and no body (e.g. GET /api/v1/me/).


def test_api_conforms_to_its_schema(api_schema, admin_key):
    raw_key, client = admin_key
    cache.clear()  # rate-limit counters of earlier tests
    _collect_ids(client, api_schema)
    headers = {"Authorization": f"Bearer {raw_key}"}

    server_errors: list[str] = []

    def record_exception(sender, request=None, **kwargs):
        server_errors.append(f"{request.method} {request.get_full_path()}\n{traceback.format_exc()}")

    def call(case):
        sid = transaction.savepoint()
        try:
            with in_process_wsgi():
                response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(sid)
        case.validate_response(response, checks=CHECKS, headers=headers)

    failures: list[str] = []
    operations = 0
    started = time.monotonic()
    signals.got_request_exception.connect(record_exception)
    try:
        for result in api_schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith("/api/v1/"):
                continue
            operations += 1
            try:
                _run_operation(operation, call)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                trace = f"\nServer traceback of the last 500:\n{server_errors[-1]}" if server_errors else ""
                failures.append(f"{operation.method.upper()} {operation.path}\n{_short(exc)}{trace}")
            server_errors.clear()
    finally:
        signals.got_request_exception.disconnect(record_exception)
    print(
        f"schemathesis: {operations} operations in {time.monotonic() - started:.1f}s; known ids: "
        + ", ".join(f"{path} {len(ids)}" for path, ids in sorted(KNOWN_IDS.items()))
    )
    assert operations > 50
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)


# Methods the schema does not declare for a path (its coverage phase's "unspecified HTTP method"
# scenario: GET, PUT, POST, DELETE, PATCH, TRACE and QUERY; OPTIONS, which every endpoint answers,
# is skipped by the check): 405 with an Allow header (schemathesis' unsupported_method check) and
# API.md's JSON error body, never a 500.
UNSUPPORTED_METHOD_CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.unsupported_method]


def _unsupported_method_cases(schema, operation):
    """The coverage phase's cases of methods the schema does not declare for the operation's path
    (once per path and method across its operations), with the id of an existing object."""
    config = schema.config.generation_for(operation=operation, phase="coverage")
    for case in schema.iter_coverage_cases(
        operation, generation_modes=[GenerationMode.NEGATIVE], generation_config=config
    ):
        data = case.meta.phase.data if case.meta is not None else None
        if getattr(data, "scenario", None) != CoverageScenario.UNSPECIFIED_HTTP_METHOD:
            continue
        # Routing comes before method dispatch: a path that routes (an existing id where known).
        ids = KNOWN_IDS.get(_collection(operation.path)) or [1]
        case.path_parameters = {name: ids[0] if name == "id" else 1 for name in case.path_parameters or {}}
        yield case


def test_unsupported_methods_are_a_json_405_on_every_path(api_schema, admin_key):
    raw_key, client = admin_key
    cache.clear()
    _collect_ids(client, api_schema)
    headers = {"Authorization": f"Bearer {raw_key}"}
    failures: list[str] = []
    sent: set[tuple[str, str]] = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/v1/"):
            continue
        for case in _unsupported_method_cases(api_schema, operation):
            sid = transaction.savepoint()
            try:
                with in_process_wsgi():
                    response = case.call(headers=headers)
            finally:
                transaction.savepoint_rollback(sid)
            label = f"{case.method} {case.formatted_path}"
            sent.add((case.method, operation.path))
            try:
                case.validate_response(response, checks=UNSUPPORTED_METHOD_CHECKS, headers=headers)
                assert response.headers["content-type"][0].startswith("application/json"), response.text[:300]
                if case.method != "OPTIONS":  # OPTIONS describes any endpoint (200)
                    assert response.status_code == 405, f"{response.status_code} {response.text[:300]}"
                    body = response.json()
                    assert body["code"] == "method_not_allowed" and body["detail"], body
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{label}\n{_short(exc)}")
    paths = {path for _method, path in sent}
    print(f"unsupported methods: {len(sent)} requests on {len(paths)} paths")
    assert len(paths) > 50 and {m for m, _p in sent} >= {"PUT", "DELETE", "TRACE"}
    assert ("POST", "/api/v1/me/") in sent and ("DELETE", "/api/v1/notifications/preferences/") in sent
    assert not failures, f"{len(failures)} request(s) failed:\n\n" + "\n\n".join(failures)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return re.sub(r"\n{3,}", "\n\n", text)[:4000]
