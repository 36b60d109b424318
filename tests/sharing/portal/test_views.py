"""The sharing pages of the portal without a browser: requests, the approver's desk, grants,
the inbox, the authority's disputes and dashboard, and the header's unread count;
permissions (404 outside the policy querysets, 403 for a visible object the user may not
act on), CSRF, and service errors beside the fields. The catalog's pages:
tests/catalog/portal/test_views.py."""

import datetime as dt

import pytest
from django.test import Client

from sharing.models import SharingRequest

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_anonymous_is_sent_to_login(world):
    for url in ("/requests/", "/desk/", "/grants/", "/inbox/", "/authority/filings/", "/authority/dashboard/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_header_shows_user_institution_and_unread(world, django_capture_on_commit_callbacks):
    resource = world.published()
    with django_capture_on_commit_callbacks(execute=True):
        world.request(resource)  # notifies the source's approvers
    body = client_for(world.approver).get("/").content.decode()
    assert "广东省公安厅(测试)" in body and 'data-unread="1"' in body


def test_request_pages_visibility(world):
    resource = world.published()
    req = world.request(resource)
    assert client_for(world.requester).get(f"/requests/{req.pk}/").status_code == 200
    assert client_for(world.approver).get(f"/desk/{req.pk}/").status_code == 200
    # The requester sees the request but may not decide it; the clerk of the source (no
    # approver role) does not see it at all.
    assert client_for(world.requester).get(f"/desk/{req.pk}/").status_code == 403
    assert client_for(world.clerk).get(f"/requests/{req.pk}/").status_code == 404
    assert client_for(world.outsider).get("/desk/").status_code == 403
    assert client_for(world.requester).get("/authority/dashboard/").status_code == 403


def test_reject_requires_legal_basis_shown_beside_the_field(world):
    req = world.request(world.published())
    response = client_for(world.approver).post(
        f"/desk/{req.pk}/", {"action": "reject", "decision_basis": "", "comment": "不符合"}
    )
    assert response.status_code == 200
    assert response.context["reject_form"].errors["decision_basis"]
    req.refresh_from_db()
    assert req.status == "submitted"


def test_approve_narrows_items_and_date(world):
    req = world.request(world.published())
    until = req.requested_until - dt.timedelta(days=30)
    response = client_for(world.approver).post(
        f"/desk/{req.pk}/", {"action": "approve", "approved_items": ["DE0002"], "approved_until": until.isoformat()}
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "approved" and req.approved_items == ["DE0002"] and req.approved_until == until


def test_approve_later_than_requested_is_refused_beside_the_field(world):
    req = world.request(world.published())
    later = req.requested_until + dt.timedelta(days=30)
    response = client_for(world.approver).post(
        f"/desk/{req.pk}/", {"action": "approve", "approved_items": ["DE0002"], "approved_until": later.isoformat()}
    )
    assert response.status_code == 200 and response.context["approve_form"].errors["approved_until"]
    req.refresh_from_db()
    assert req.status == "submitted"


def test_desk_orders_overdue_first_and_marks_them(world):
    resource = world.published()
    late, fresh = world.request(resource), world.request(resource)
    SharingRequest.objects.filter(pk=late.pk).update(reply_due_at=late.reply_due_at - dt.timedelta(days=30))
    response = client_for(world.approver).get("/desk/")
    rows = response.context["rows"]
    assert [r.pk for r in rows] == [late.pk, fresh.pk]
    assert rows[0].deadline.overdue and not rows[1].deadline.overdue
    assert 'class="row-overdue"' in response.content.decode()


def test_request_form_offers_only_the_entry_items_and_warns_out_of_scope(world):
    resource = world.published(scope_regions=["440300"])  # Shenzhen only
    response = client_for(world.requester).get(f"/requests/new/{resource.pk}/?kind=sharing")
    assert [c for c, _l in response.context["form"].fields["items"].choices] == ["DE0001", "DE0002", "DE0003"]
    assert response.context["warning"]
    assert 'data-testid="scope-warning"' in response.content.decode()


def test_request_form_errors_from_the_service(world):
    resource = world.published()
    data = {
        "kind": "sharing",
        "action": "submit",
        "scenario": "x",
        "purpose": "y",
        "purpose_category": "public_duty",
        "duty_basis": "z",
        "requested_until": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
        "contact_name": "张",
        "system_name": "s",
        "system_network": "extranet",
    }
    response = client_for(world.requester).post(f"/requests/new/{resource.pk}/", data)
    assert response.status_code == 200 and response.context["form"].errors["items"]
    assert not SharingRequest.objects.exists()
    response = client_for(world.requester).post(f"/requests/new/{resource.pk}/", {**data, "items": ["DE0003"]})
    assert response.status_code == 302
    assert SharingRequest.objects.get().status == "submitted"


def test_inbox_mark_read_and_other_users_notifications_404(world, django_capture_on_commit_callbacks):
    resource = world.published()
    with django_capture_on_commit_callbacks(execute=True):
        world.request(resource)
    from sharing.models import Notification

    note = Notification.objects.get(user=world.approver)
    assert client_for(world.requester).post(f"/inbox/{note.pk}/read/").status_code == 404
    response = client_for(world.approver).post(f"/inbox/{note.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == f"/requests/{note.subject_id}/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_posts_need_csrf(world):
    req = world.request(world.published())
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.approver)
    assert c.post(f"/desk/{req.pk}/approve/").status_code == 403
    req.refresh_from_db()
    assert req.status == "submitted"


def test_dashboard_and_export(world):
    resource = world.published()
    req = world.request(resource)
    from sharing import services as sharing_services

    sharing_services.request_approve(actor=world.approver, request=req)
    c = client_for(world.authority)
    response = c.get("/authority/dashboard/")
    assert response.status_code == 200 and response.context["totals"]["requests"] == 1
    assert response.content.decode().count("<svg") == 4
    response = c.get("/authority/dashboard.xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_dispute_opened_by_the_requester_and_resolved_by_the_authority(world):
    from sharing import services as sharing_services

    req = world.request(world.published())
    sharing_services.request_reject(
        actor=world.approver, request=req, decision_basis="《数据安全法》", comment="不予提供"
    )
    requester = client_for(world.requester)
    assert b'action="/requests/%d/dispute/"' % req.pk in requester.get(f"/requests/{req.pk}/").content
    response = requester.post(f"/requests/{req.pk}/dispute/", {"reason": "属于法定职责所需"})
    assert response.status_code == 302
    dispute = req.disputes.get()
    officer = client_for(world.authority)
    assert officer.get(f"/authority/disputes/{dispute.pk}/").status_code == 200
    assert (
        requester.post(
            f"/authority/disputes/{dispute.pk}/", {"action": "resolve", "outcome": "overturned", "comment": "x"}
        ).status_code
        == 403
    )
    officer.post(f"/authority/disputes/{dispute.pk}/", {"action": "step", "stage": "coordination", "note": "组织协调"})
    response = officer.post(
        f"/authority/disputes/{dispute.pk}/", {"action": "resolve", "outcome": "overturned", "comment": "应予共享"}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    req.refresh_from_db()
    assert dispute.status == "resolved" and dispute.steps.count() == 2  # opened (negotiation), coordination
    assert req.status == "submitted"  # back to the source for approval


# --- a returned request: edited and resubmitted ------------------------------------------------


def _form_data(req, **changes):
    data = {
        "items": req.items,
        "scenario": req.scenario,
        "purpose": req.purpose,
        "purpose_category": req.purpose_category,
        "duty_basis": req.duty_basis,
        "requested_until": req.requested_until.isoformat(),
        "contact_name": req.contact_name,
        "system_name": req.system_name,
        "system_network": req.system_network,
    }
    data.update(changes)
    return data


def _returned(world):
    from sharing import services as sharing_services

    req = world.request(world.published())
    SharingRequest.objects.filter(pk=req.pk).update(reply_started_at=req.reply_started_at - dt.timedelta(days=20))
    req.refresh_from_db()
    return sharing_services.request_return(
        actor=world.approver,
        request=req,
        comment="请补充法定职责依据，并只申请所需信息项",
        missing=["法定职责依据"],  # Order 809: everything missing, listed once
    )


def test_returned_request_shows_the_comment_and_is_edited_and_resubmitted(world):
    req = _returned(world)
    started = req.reply_started_at
    requester = client_for(world.requester)
    body = requester.get(f"/requests/{req.pk}/").content.decode()
    assert "请补充法定职责依据" in body and f'href="/requests/{req.pk}/edit/"' in body
    response = requester.get(f"/requests/{req.pk}/edit/")
    assert response.status_code == 200 and "请补充法定职责依据" in response.content.decode()
    assert response.context["form"].initial["items"] == ["DE0001", "DE0002", "DE0003"]
    # The date field is filled in a form the browser's date input accepts, whatever the language.
    assert f'name="requested_until" value="{req.requested_until.isoformat()}"' in response.content.decode()
    assert [c for c, _l in response.context["form"].fields["items"].choices] == ["DE0001", "DE0002", "DE0003"]

    response = requester.post(
        f"/requests/{req.pk}/edit/",
        {
            **_form_data(req, items=["DE0002"], duty_basis="《社会救助暂行办法》第十一条"),
            "action": "submit",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/requests/{req.pk}/"
    req.refresh_from_db()
    assert req.status == "submitted" and req.items == ["DE0002"] and req.duty_basis == "《社会救助暂行办法》第十一条"
    assert req.reply_due_at is not None and req.reply_started_at > started  # the answer deadline starts again
    body = requester.get(f"/requests/{req.pk}/").content.decode()
    assert "共享申请已重新提交" in body  # the timeline tells the resubmission from the first submission
    assert f'href="/requests/{req.pk}/edit/"' not in body  # no longer editable
    assert [r.pk for r in client_for(world.approver).get("/desk/").context["rows"]] == [req.pk]
    # Submitted: the edit page sends the requester back with a message instead of a form.
    response = requester.get(f"/requests/{req.pk}/edit/")
    assert response.status_code == 302


def test_returned_request_edit_errors_keep_it_returned(world):
    req = _returned(world)
    requester = client_for(world.requester)
    # No items: the service's message is shown beside the field, and nothing is saved.
    response = requester.post(
        f"/requests/{req.pk}/edit/", {**_form_data(req, items=[], duty_basis="改过"), "action": "submit"}
    )
    assert response.status_code == 200 and response.context["form"].errors["items"]
    # An item that is not in the entry is not even a choice.
    response = requester.post(f"/requests/{req.pk}/edit/", {**_form_data(req, items=["XX9999"]), "action": "submit"})
    assert response.status_code == 200 and response.context["form"].errors["items"]
    req.refresh_from_db()
    assert req.status == "returned" and req.duty_basis == "《社会救助暂行办法》" and req.reply_due_at is None
    # Saving without resubmitting keeps it returned.
    response = requester.post(
        f"/requests/{req.pk}/edit/", {**_form_data(req, purpose="核对户籍与住址"), "action": "save"}
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "returned" and req.purpose == "核对户籍与住址"


def test_only_the_requesting_institution_edits_a_returned_request(world):
    req = _returned(world)
    data = {**_form_data(req, duty_basis="别人改的"), "action": "submit"}
    approver = client_for(world.approver)  # sees it, may not edit it
    assert approver.get(f"/requests/{req.pk}/edit/").status_code == 403
    assert approver.post(f"/requests/{req.pk}/edit/", data).status_code == 403
    assert 'data-testid="edit-request"' not in approver.get(f"/requests/{req.pk}/").content.decode()
    assert client_for(world.clerk).post(f"/requests/{req.pk}/edit/", data).status_code == 404  # may not see it
    assert client_for(world.outsider).post(f"/requests/{req.pk}/edit/", data).status_code == 403  # no staff role
    req.refresh_from_db()
    assert req.status == "returned" and req.duty_basis == "《社会救助暂行办法》"


# --- grants: listed for both sides, revoked by the source's approver ---------------------------


def _granted(world):
    req = world.request(world.published(sharing_type="unconditional"))  # approved at once, with a grant
    return req, req.grants.get()


def test_grants_page_lists_the_institutions_grants(world):
    from catalog.choices import Role
    from tests.factories import OrganizationFactory, make_user

    req, grant = _granted(world)
    approver = client_for(world.approver)
    response = approver.get("/")
    assert 'data-testid="nav-grants"' in response.content.decode()
    response = approver.get("/grants/")
    assert response.status_code == 200 and response.context["side"] == "issued"
    body = response.content.decode()
    assert f'data-grant="{grant.pk}"' in body and "广东省民政厅(测试)" in body and "公民身份号码" in body
    assert f'href="/grants/{grant.pk}/revoke/"' in body
    # The requester sees the grants it received, without a revoke button.
    response = client_for(world.requester).get("/grants/")
    assert response.context["side"] == "received" and [g.pk for g in response.context["rows"]] == [grant.pk]
    assert "/revoke/" not in response.content.decode()
    # Another institution sees none of them.
    stranger = make_user("stranger", OrganizationFactory(name="深圳市某局"), [Role.STAFF, Role.APPROVER])
    for side in ("issued", "received"):
        assert client_for(stranger).get(f"/grants/?side={side}").context["rows"] == []


def test_approver_asks_to_revoke_a_grant_with_a_reason(world, django_capture_on_commit_callbacks):
    req, grant = _granted(world)
    approver = client_for(world.approver)
    response = approver.post(f"/grants/{grant.pk}/revoke/", {"reason": "  "})
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    grant.refresh_from_db()
    assert grant.status == "active"
    with django_capture_on_commit_callbacks(execute=True):
        response = approver.post(f"/grants/{grant.pk}/revoke/", {"reason": "申请单位超范围使用数据"})
    assert response.status_code == 302 and response["Location"] == f"/grants/{grant.pk}/"
    grant.refresh_from_db()
    assert grant.status == "active"  # Order 809: waiting for the data authority
    body = approver.get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-kind="revoke"' in body and "申请单位超范围使用数据" in body
    # The authority consents on the grant's page: revoked, and the requester sees why.
    officer = client_for(world.authority)
    change = grant.changes.get()
    assert f'data-change="{change.pk}"' in officer.get("/grant-changes/").content.decode()
    response = officer.post(
        f"/grants/{grant.pk}/", {"action": "approve", "change": change.pk, "decide-comment": "同意"}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    req.refresh_from_db()
    assert (
        grant.status == "revoked"
        and grant.end_reason == "申请单位超范围使用数据"
        and grant.revoked_by == world.approver
    )
    assert req.status == "revoked"
    # Gone from the active list, shown with its reason under "all"; the requester sees why.
    assert approver.get("/grants/").context["rows"] == []
    assert "申请单位超范围使用数据" in approver.get("/grants/?side=issued&status=all").content.decode()
    body = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    assert 'data-event="grant.change_requested"' in body
    assert 'data-event="grant.revoked"' in body and "申请单位超范围使用数据" in body
    # A second revocation is refused by the service; the page says so.
    response = approver.post(f"/grants/{grant.pk}/revoke/", {"reason": "再次"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()


def test_grant_revocation_is_for_the_source_approver_only(world):
    from catalog.choices import Role
    from tests.factories import OrganizationFactory, make_user

    _req, grant = _granted(world)
    requester = client_for(world.requester)  # sees the grant, may not revoke it
    assert requester.get(f"/grants/{grant.pk}/revoke/").status_code == 403
    assert requester.post(f"/grants/{grant.pk}/revoke/", {"reason": "想撤就撤"}).status_code == 403
    assert (
        client_for(world.clerk).post(f"/grants/{grant.pk}/revoke/", {"reason": "x"}).status_code == 403
    )  # staff, not approver
    stranger = make_user("stranger", OrganizationFactory(name="深圳市某局"), [Role.APPROVER])
    assert client_for(stranger).post(f"/grants/{grant.pk}/revoke/", {"reason": "x"}).status_code == 404
    grant.refresh_from_db()
    assert grant.status == "active"


# --- transfer to another institution ------------------------------------------------------


def test_approver_transfers_a_request_to_another_department(world):
    from catalog.choices import Role
    from tests.factories import OrganizationFactory, make_user

    holder = OrganizationFactory(name="广东省自然资源厅(测试)")
    holder_approver = make_user("holder-approver", holder, [Role.APPROVER])
    req = world.request(world.published())
    approver = client_for(world.approver)
    response = approver.get(f"/desk/{req.pk}/")
    choices = list(response.context["transfer_form"].fields["to_org"].queryset)
    assert holder in choices and world.source_org not in choices and world.authority_org not in choices
    assert 'data-testid="transfer"' in response.content.decode()
    assert f'name="approved_until" value="{req.requested_until.isoformat()}"' in response.content.decode()

    # The reason is required, and the service refuses the requester's own institution.
    response = approver.post(f"/desk/{req.pk}/", {"action": "transfer", "to_org": holder.pk, "reason": ""})
    assert response.status_code == 200 and response.context["transfer_form"].errors["reason"]
    response = approver.post(
        f"/desk/{req.pk}/", {"action": "transfer", "to_org": world.requester_org.pk, "reason": "错投"}
    )
    assert response.status_code == 200 and response.context["transfer_form"].errors["to_org"]
    req.refresh_from_db()
    assert req.source_org == world.source_org and req.transfer_count == 0

    response = approver.post(
        f"/desk/{req.pk}/", {"action": "transfer", "to_org": holder.pk, "reason": "该数据由自然资源厅采集"}
    )
    assert response.status_code == 302 and response["Location"] == "/desk/"
    req.refresh_from_db()
    assert req.source_org == holder and req.status == "submitted" and req.transfer_count == 1
    # It left this institution's queue and reached the holder's.
    assert approver.get("/desk/").context["rows"] == []
    assert approver.get(f"/desk/{req.pk}/").status_code == 404
    assert [r.pk for r in client_for(holder_approver).get("/desk/").context["rows"]] == [req.pk]
    # The timeline shows the hop and the reason.
    body = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    assert "广东省公安厅(测试) → 广东省自然资源厅(测试)" in body and "该数据由自然资源厅采集" in body


def test_requester_may_not_transfer(world):
    from tests.factories import OrganizationFactory

    holder = OrganizationFactory()
    req = world.request(world.published())
    response = client_for(world.requester).post(
        f"/desk/{req.pk}/", {"action": "transfer", "to_org": holder.pk, "reason": "x"}
    )
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.source_org == world.source_org


# --- phone width: every cell of a data table carries its column's label ----------------------


def _stacked_cells(html: str) -> list[tuple[str, str | None]]:
    """(text, data-label) of every body cell of the tables that reflow at phone width."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth, self.in_body, self.cells = 0, False, []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table" and "stack" in (a.get("class") or "").split():
                self.depth += 1
            elif tag == "tbody" and self.depth:
                self.in_body = True
            elif tag == "td" and self.in_body and "empty" not in (a.get("class") or ""):
                self.cells.append(a.get("data-label"))

        def handle_endtag(self, tag):
            if tag == "tbody":
                self.in_body = False
            elif tag == "table" and self.depth:
                self.depth -= 1

    parser = Cells()
    parser.feed(html)
    return parser.cells


def test_data_tables_label_every_cell_for_phone_width(world):
    from sharing import services as sharing_services

    resource = world.published()
    req = world.request(resource)
    _granted(world)
    world.published(
        name="涉密档案", sharing_type="none", items=[{"code": "DE0200", "name": "档案号"}]
    )  # filed with the authority
    sharing_services.request_approve(actor=world.approver, request=req)
    pages = [
        (world.requester, "/requests/"),
        (world.approver, "/desk/"),
        (world.approver, "/grants/"),
        (world.requester, "/grants/"),
        (world.clerk, "/my/catalog/"),
        (world.authority, "/authority/filings/"),
        (world.requester, f"/catalog/{resource.pk}/"),
    ]
    for user, url in pages:
        body = client_for(user).get(url).content.decode()
        labels = _stacked_cells(body)
        assert labels and all(labels), (url, labels)
    body = client_for(world.requester).get("/requests/").content.decode()
    assert 'data-label="状态"' in body  # the translated header
