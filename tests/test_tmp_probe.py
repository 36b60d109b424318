import pytest
from tests.test_schemathesis import admin_key, _sample_data  # noqa

BIG = 2**70
CASES = [
    ("get", "/api/v1/grants/?org=99999999999999999999", None),
    ("get", "/api/v1/sharing-requests/?resource=1e30", None),
    ("get", "/api/v1/sharing-requests/?resource=1.5", None),
    ("get", "/api/v1/audit-events/?actor=-99999999999999999999", None),
    ("get", "/api/v1/calendar/days/?year=0", None),
    ("get", "/api/v1/calendar/days/?year=99999", None),
    ("get", f"/api/v1/regions/{BIG}/", None),
    ("get", f"/api/v1/sharing-requests/{BIG}/", None),
    ("get", f"/api/v1/notifications/{BIG}/", None),
    ("get", "/api/v1/regions/?parent=99999999999999999999", None),
    ("post", "/api/v1/sharing-requests/", {"resource": BIG, "scenario": "a", "purpose": "b", "purpose_category": "public_duty", "duty_basis": "c", "requested_until": "2030-01-01", "contact_name": "x", "system_name": "s", "system_network": "extranet", "renewal_of": BIG}),
    ("post", "/api/v1/disputes/", {"request": BIG, "reason": "x"}),
    ("post", "/api/v1/regions/", {"code": "449999", "name": "x", "level": "county", "parent": BIG}),
    ("post", f"/api/v1/users/1/api-keys/{BIG}/revoke/", {}),
    ("patch", "/api/v1/users/1/", {"org": BIG}),
    ("get", "/api/v1/resources/?source_org=99999999999999999999&security_grade=99999999999999999999999", None),
    ("get", "/api/v1/resource-filings/?resource=99999999999999999999", None),
    ("get", "/api/v1/catalog-tasks/?org=99999999999999999999", None),
    ("get", "/api/v1/grants/check/?org=x&resource=y&items=" + "a," * 10, None),
]

@pytest.mark.parametrize("method,url,body", CASES)
def test_probe(admin_key, method, url, body):
    raw, client = admin_key
    from sharing.models import SharingRequest, Grant
    if "transfer" in url: pass
    r = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    print(method, url, r.status_code, r.content[:200])
    assert r.status_code < 500

def test_probe_writes(admin_key):
    raw, client = admin_key
    from sharing.models import SharingRequest, Grant
    req = SharingRequest.objects.filter(status="submitted").first()
    grant = Grant.objects.first()
    for url, body in [
        (f"/api/v1/sharing-requests/{req.pk}/transfer/", {"to_org": BIG}),
        (f"/api/v1/grants/{grant.pk}/usage/", {"period_start": "2025-01-01", "period_end": "2025-03-31", "call_count": 2**40}),
        (f"/api/v1/grants/{grant.pk}/usage/", {"period_start": "2025-01-01", "period_end": "2025-03-31", "call_count": BIG}),
        (f"/api/v1/resources/{req.resource_id}/refreshes/", {"refreshed_at": "2025-01-01T00:00:00+08:00", "record_count": BIG}),
        ("/api/v1/webhooks/", {"url": "https://example.com/h", "event_types": ["request.submitted"], "org": BIG}),
        ("/api/v1/catalog-tasks/", {"org": BIG, "reason": "x"}),
    ]:
        r = client.post(url, body, format="json")
        print(url, r.status_code, r.content[:300])
        assert r.status_code < 500
