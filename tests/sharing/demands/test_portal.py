"""The demand pages of the portal: the list, the form, a demand's page for the requester, the
addressee and the data authority (routing and answering through the forms), the export."""

import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from sharing import services
from sharing.models import DataDemand

from .conftest import demand_body, demand_data

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _demand(requester, addressee=None, **overrides):
    return services.demand_create(
        actor=requester, requester_org=requester.org, addressee_org=addressee, data=demand_data(**overrides)
    )


def test_requester_registers_and_sees_the_demand(requester, gd_authority):
    c = client_for(requester)
    page = c.get("/demands/")
    assert page.status_code == 200 and 'data-testid="new-demand"' in page.content.decode()
    assert 'data-testid="nav-demands"' in page.content.decode()
    assert c.get("/demands/new/").status_code == 200
    body = {k: v for k, v in demand_body().items() if v is not False}
    response = c.post("/demands/new/", body)
    assert response.status_code == 302, response.content.decode()[:2000]
    demand = DataDemand.objects.get()
    assert demand.status == "routing" and response["Location"] == f"/demands/{demand.pk}/"
    detail = c.get(f"/demands/{demand.pk}/").content.decode()
    assert "不动产登记信息" in detail and 'data-status="routing"' in detail and "route-form" not in detail
    assert f'data-demand="{demand.pk}"' in c.get("/demands/").content.decode()


def test_form_shows_service_errors_beside_the_field(requester, gd_authority):
    body = {k: v for k, v in demand_body().items() if v is not False}
    body["wanted_by"] = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    response = client_for(requester).post("/demands/new/", body)
    assert response.status_code == 200 and 'data-error-for="wanted_by"' in response.content.decode()
    assert not DataDemand.objects.exists()


def test_authority_routes_and_sees_the_rates(requester, source_org, authority_user):
    demand = _demand(requester, open_data=True)
    c = client_for(authority_user)
    listing = c.get("/demands/").content.decode()
    assert 'data-testid="demand-stats"' in listing and f'data-demand="{demand.pk}"' in listing
    assert "route-form" in c.get(f"/demands/{demand.pk}/").content.decode()
    response = c.post(f"/demands/{demand.pk}/route/", {"addressee_org": source_org.pk})
    assert response.status_code == 302
    demand.refresh_from_db()
    assert demand.status == "open" and demand.addressee_org == source_org
    export = c.get("/demands/export.xlsx?open_data=true")
    rows = list(load_workbook(io.BytesIO(export.content))["demands"].iter_rows(values_only=True))
    assert len(rows) == 2


def test_addressee_answers_in_the_portal(requester, source_org, approver, outsider):
    demand = _demand(requester, source_org)
    c = client_for(approver)
    assert f'data-demand="{demand.pk}"' in c.get("/demands/?tab=incoming").content.decode()
    assert "answer-form" in c.get(f"/demands/{demand.pk}/").content.decode()
    refused = c.post(f"/demands/{demand.pk}/answer/", {"answer": "refused"})
    assert refused.status_code == 400 and 'data-error-for="refusal_basis"' in refused.content.decode()
    ok = c.post(f"/demands/{demand.pk}/answer/", {"answer": "refused", "refusal_basis": "《数据安全法》第三十八条"})
    assert ok.status_code == 302
    demand.refresh_from_db()
    assert demand.status == "refused"
    page = client_for(requester).get(f"/demands/{demand.pk}/").content.decode()
    assert "《数据安全法》第三十八条" in page and 'data-event="demand.answered"' in page
    assert client_for(outsider).get(f"/demands/{demand.pk}/").status_code == 404
    assert client_for(requester).post(f"/demands/{demand.pk}/answer/", {"answer": "refused"}).status_code == 403
