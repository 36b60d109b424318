"""The auditor's pages of the portal: the audit trail with its filters (actor, object, date),
its CSV export and the ledger's verification status. Read-only: who reads what is
catalog.policies' (`audit.trail`, `audit.verify`, `visible_audit_events`); every read of
the trail in the portal is itself recorded, as the API records its reads."""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import json
import logging

from django.apps import apps
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog import audit, policies
from catalog.calendar import SHANGHAI
from catalog.core.spreadsheets import safe_cell
from catalog.models import AuditEvent, AuditHead

from .views import page, portal_view, require

log = logging.getLogger(__name__)

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 100_000
VERIFY_CACHE_KEY = "portal:audit-verify:v1"
VERIFY_CACHE_SECONDS = 30 * 24 * 3600
OBJECT_APPS = ("catalog", "sharing")

# What an audit row's action did, in words (the action is "<object>.<verb>"; the object is
# named by its model's verbose name). An action not listed shows its verb as it is.
VERBS = {
    "create": gettext_lazy("created"),
    "update": gettext_lazy("changed"),
    "delete": gettext_lazy("deleted"),
    "submit": gettext_lazy("submitted"),
    "approve": gettext_lazy("approved"),
    "reject": gettext_lazy("rejected"),
    "return": gettext_lazy("returned"),
    "withdraw": gettext_lazy("withdrawn"),
    "fulfil": gettext_lazy("fulfilled"),
    "answer": gettext_lazy("answered"),
    "transfer": gettext_lazy("transferred"),
    "extend": gettext_lazy("extended"),
    "sign_off": gettext_lazy("signed off"),
    "issue": gettext_lazy("issued"),
    "revoke": gettext_lazy("revoked"),
    "revoked": gettext_lazy("revoked"),
    "narrow": gettext_lazy("narrowed"),
    "narrowed": gettext_lazy("narrowed"),
    "suspend": gettext_lazy("suspended"),
    "lift": gettext_lazy("suspension lifted"),
    "restore": gettext_lazy("restored"),
    "expired": gettext_lazy("expired"),
    "usage": gettext_lazy("usage reported"),
    "open": gettext_lazy("opened"),
    "step": gettext_lazy("step recorded"),
    "advance": gettext_lazy("moved to its next stage"),
    "resolve": gettext_lazy("decided"),
    "file": gettext_lazy("filed"),
    "read": gettext_lazy("read"),
    "list": gettext_lazy("listed"),
    "export": gettext_lazy("exported"),
    "verify": gettext_lazy("verified"),
    "refresh": gettext_lazy("data refreshed"),
    "retire": gettext_lazy("retired"),
    "revise": gettext_lazy("revision started"),
    "designate": gettext_lazy("source designated"),
    "source_designated": gettext_lazy("source designated"),
    "consent": gettext_lazy("consented"),
    "urge": gettext_lazy("urged"),
    "forward": gettext_lazy("forwarded"),
    "route": gettext_lazy("routed"),
    "link": gettext_lazy("linked"),
    "complete": gettext_lazy("completed"),
    "close": gettext_lazy("closed"),
    "disable": gettext_lazy("disabled"),
    "profile": gettext_lazy("deadline profile changed"),
    "region_profile": gettext_lazy("region's deadline profile changed"),
    "request": gettext_lazy("asked for"),
    "refuse": gettext_lazy("refused"),
    "reopen": gettext_lazy("reopened"),
    "resubmit": gettext_lazy("resubmitted"),
    "satisfy": gettext_lazy("satisfied"),
    "await_signoff": gettext_lazy("sent for the head's sign-off"),
    "sign_off_send_back": gettext_lazy("sent back by the head"),
    "deadline_recomputed": gettext_lazy("deadline recomputed"),
    "active": gettext_lazy("active again"),
    "suspended": gettext_lazy("suspended"),
}


def object_types() -> list[tuple[str, str]]:
    """(object type as the ledger writes it, its name) for the models of the two apps."""
    out = []
    for label in OBJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            out.append((model._meta.label_lower, str(model._meta.verbose_name)))
    return sorted(out, key=lambda pair: pair[1])


# The actions whose prefix is not their model's name.
ACTION_OBJECTS = {
    "audit": "catalog.auditevent",
    "request": "sharing.sharingrequest",
    "demand": "sharing.datademand",
    "calendar": "catalog.calendarday",
    "policy": "catalog.deadlinepolicy",
    "filing": "sharing.requestfiling",
}


def action_label(action: str, type_names: dict[str, str]) -> str:
    """ "request.approve" → "共享申请 · 同意": the object's name and the verb, in words."""
    prefix, _sep, verb = action.partition(".")
    name = prefix.replace("_", "")
    subject = (
        type_names.get(ACTION_OBJECTS.get(prefix, ""))
        or type_names.get(f"catalog.{name}")
        or type_names.get(f"sharing.{name}")
        or prefix
    )
    return f"{subject} · {VERBS.get(verb, verb)}"


def changes_in_words(object_type: str, changes: dict) -> str:
    """An audit row's changes as people read them: each field by its name, coded values by their
    label ("状态：草稿 → 已提交"); ids and free text as they are. The stored JSON stays the
    ledger's; this is only how the page and the export show it."""
    if not changes:
        return ""
    try:
        model = apps.get_model(object_type) if object_type else None
    except (LookupError, ValueError):
        model = None

    def field_of(name):
        if model is None:
            return None
        try:
            return model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - a property or a removed field: shown by its key
            return None

    def word(field, value):
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, list):
            return "、".join(word(field, v) for v in value)
        choices = dict(getattr(field, "flatchoices", None) or ()) if field is not None else {}
        if isinstance(value, (str, int)) and value in choices:
            return str(choices[value])
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        return str(value) if not isinstance(value, dict) else json.dumps(value, ensure_ascii=False)

    lines = []
    for key in sorted(changes):
        field = field_of(key)
        label = str(getattr(field, "verbose_name", "") or key)
        value = changes[key]
        if isinstance(value, list) and len(value) == 2:
            lines.append(f"{label}：{word(field, value[0])} → {word(field, value[1])}")
        else:
            lines.append(f"{label}：{word(field, value)}")
    return "\n".join(lines)


def _parse_day(value: str) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def filtered_events(user, params) -> tuple:
    """The audit rows the user reads, filtered by the page's fields; and the filters as read."""
    qs = policies.visible_audit_events(user)
    f = {
        "actor": (params.get("actor") or "").strip()[:150],
        "object_type": (params.get("object_type") or "").strip()[:64],
        "object_id": (params.get("object_id") or "").strip()[:64],
        "since": _parse_day(params.get("since")),
        "until": _parse_day(params.get("until")),
    }
    if f["actor"]:
        qs = qs.filter(actor_name__icontains=f["actor"])
    if f["object_type"]:
        qs = qs.filter(object_type=f["object_type"])
    if f["object_id"]:
        qs = qs.filter(object_id=f["object_id"])
    if f["since"]:
        qs = qs.filter(occurred_at__gte=dt.datetime.combine(f["since"], dt.time.min, tzinfo=SHANGHAI))
    if f["until"]:
        qs = qs.filter(occurred_at__lt=dt.datetime.combine(f["until"] + dt.timedelta(days=1), dt.time.min, SHANGHAI))
    return qs.order_by("-id"), f


def _record_read(user, what: str, params) -> None:
    audit.record(
        actor=user,
        action=f"audit.{what}",
        object_type="catalog.auditevent",
        object_id="",
        object_repr="",
        changes={"query": [None, {k: v for k, v in params.lists() if k != "page"}]},
    )


def head_status() -> dict:
    """The last signed head, checked at once (two queries): its signature, and whether the record
    at its position still has the hash it signed; and how many records wait for the sealer."""
    head = AuditHead.objects.order_by("-seq").first()
    unsealed = AuditEvent.objects.filter(seq__isnull=True).count()
    if head is None:
        return {"head": None, "unsealed": unsealed, "ok": None}
    keys = {audit.key_id(k): k for k in audit.ledger_keys()}
    key = keys.get(head.key_id)
    mac_ok = key is not None and hmac.compare_digest(audit.head_mac(key, head.seq, head.hash), head.mac)
    row_ok = AuditEvent.objects.filter(seq=head.seq, hash=head.hash).exists()
    return {"head": head, "unsealed": unsealed, "ok": mac_ok and row_ok, "mac_ok": mac_ok, "row_ok": row_ok}


def last_verification() -> dict | None:
    try:
        return cache.get(VERIFY_CACHE_KEY)
    except Exception:  # the cache is down: the page shows no earlier result
        log.warning("audit verification: cache unavailable", exc_info=True)
        return None


@portal_view
def audit_trail(request):
    user = request.user
    require(user, "audit.trail")
    qs, f = filtered_events(user, request.GET)
    paginator = Paginator(qs, PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    types = object_types()
    names = dict(types)
    for e in page_obj.object_list:
        e.action_label = action_label(e.action, names)
        e.type_label = names.get(e.object_type, e.object_type)
        e.changes_text = changes_in_words(e.object_type, e.changes)
    _record_read(user, "list", request.GET)
    params = request.GET.copy()
    params.pop("page", None)
    verification = last_verification()
    if verification:
        verification = {**verification, "at": dt.datetime.fromisoformat(verification["at"])}
    return page(
        request,
        "portal/audit_trail.html",
        {
            "page_obj": page_obj,
            "total": paginator.count,
            "f": f,
            "object_types": types,
            "query_string": params.urlencode(),
            "status": head_status(),
            "verification": verification,
            "can_verify": policies.can(user, "audit.verify"),
            "export_max": EXPORT_MAX_ROWS,
        },
    )


@require_POST
@portal_view
def audit_verify(request):
    """Verify the whole ledger now (manage.py verify_audit's check; it walks every sealed record,
    so it is asked for, not run on every page) and keep the result for everyone who reads the
    trail."""
    user = request.user
    require(user, "audit.verify")
    started = timezone.now()
    report = audit.verify()
    result = {
        "ok": report.ok,
        "sealed": report.sealed,
        "last_seq": report.last_seq,
        "heads": report.heads,
        "exported": report.exported,
        "unsealed": report.unsealed,
        "problem_count": len(report.problems) + report.more_problems,
        "problems": report.problems[:20],
        "at": started.isoformat(),
        "seconds": round((timezone.now() - started).total_seconds(), 1),
        "by": user.get_full_name() or user.get_username(),
    }
    try:
        cache.set(VERIFY_CACHE_KEY, result, VERIFY_CACHE_SECONDS)
    except Exception:
        log.warning("audit verification: cache unavailable, result not kept", exc_info=True)
    audit.record(
        actor=user,
        action="audit.verify",
        object_type="catalog.auditevent",
        object_id="",
        object_repr="",
        changes={"ok": [None, report.ok], "sealed": [None, report.sealed], "problems": [None, result["problem_count"]]},
    )
    if report.ok and not report.sealed:
        messages.info(request, _("Nothing sealed to verify yet"))
    elif report.ok:
        messages.success(request, _("The audit ledger is intact."))
    else:
        messages.error(request, _("The audit ledger is broken: see the problems below."))
    return redirect("portal:audit_trail")


class _Echo:
    def write(self, value):
        return value


@portal_view
def audit_export(request):
    """The filtered trail as CSV (UTF-8 with BOM, so that Excel reads the Chinese), at most
    EXPORT_MAX_ROWS rows, newest first; the export is itself recorded."""
    user = request.user
    require(user, "audit.trail")
    qs, _f = filtered_events(user, request.GET)
    qs = qs.select_related("org")[:EXPORT_MAX_ROWS]
    names = dict(object_types())
    _record_read(user, "export", request.GET)
    header = [
        _("Ledger position"),
        _("Time"),
        _("Actor"),
        _("Institution"),
        _("Source IP"),
        _("Action"),
        _("Action code"),
        _("Object type"),
        _("Object id"),
        _("Object"),
        _("Changes"),
        _("Hash"),
    ]
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff" + writer.writerow(header)
        for e in qs.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    "" if v is None else safe_cell(str(v))
                    for v in (
                        e.seq,
                        timezone.localtime(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                        e.actor_name,
                        e.org.name if e.org_id and e.org else "",
                        e.ip,
                        action_label(e.action, names),
                        e.action,
                        names.get(e.object_type, e.object_type),
                        e.object_id,
                        e.object_repr,
                        changes_in_words(e.object_type, e.changes),
                        e.hash,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{timezone.localdate():%Y%m%d}.csv"'
    return response
