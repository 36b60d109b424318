"""factory_boy factories, one builder per object. Regions come from the seed migration (real
GB/T 2260 codes). Catalog entries, sharing requests and grants are built through the real
services (catalog.services, sharing.services), so the audit trail, events, item claims and
deadlines are those of life; their `_create` takes the workflow as far as `status`.

`entry_payload()` and `request_payload(resource)` give the same data as API bodies."""

import datetime as dt

import factory

from catalog import services as catalog_services
from catalog.choices import ResourceStatus
from catalog.directory import services as directory_services
from catalog.models import Organization, Region, Resource, User
from catalog.validators import make_uscc
from sharing import services as sharing_services
from sharing.choices import RequestStatus
from sharing.models import Grant, SharingRequest


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = "government"
    region = factory.LazyFunction(lambda: region("440000"))
    code = factory.LazyAttributeSequence(lambda o, n: make_uscc("11", o.region.code, f"{70000000 + n:08d}"))


def make_user(
    username: str, org: Organization | None, roles=(), *, is_staff: bool = False, password: str = "pw-Test-12345"
) -> User:
    return directory_services.user_create(
        actor=None, username=username, org=org, roles=list(roles), password=password, is_staff=is_staff
    )


# --- catalog entries ---------------------------------------------------------------------------

ITEMS = (
    {"name": "公民身份号码", "data_type": "string", "length": 18, "description": "", "is_sensitive": True},
    {"name": "户籍地址", "data_type": "string", "length": 200, "description": "", "is_sensitive": True},
    {"name": "姓名", "data_type": "string", "length": 50, "description": "", "is_sensitive": True},
    {"name": "登记日期", "data_type": "date", "description": "", "is_sensitive": False},
)


def _items(n: int, count: int) -> list[dict]:
    """`count` items of ITEMS, with codes no other entry of the test session has."""
    return [dict(item, code=f"T{n:04d}{k:02d}") for k, item in enumerate(ITEMS[:count], start=1)]


def _sharing_conditions(entry) -> str:
    return "仅限履行法定职责所需" if entry.sharing_type == "conditional" else ""


def _sharing_basis(entry) -> str:
    return "" if entry.sharing_type == "unconditional" else "《中华人民共和国户口登记条例》"


class EntryFactory(factory.Factory):
    """A catalog entry (a Resource with its items): a conditional entry with sensitive items,
    valid as it is. `actor` is the clerk (None: the system), `source_org` defaults to the
    actor's institution (or a new one). `status` draft (default), submitted or published;
    `reviewer` approves (None: the system); `now` is the time of submission and approval.
    `item_count` items of ITEMS (2 by default, at most 4), or `items=[...]`."""

    class Meta:
        model = Resource

    class Params:
        item_count = 2

    actor = None
    source_org = None
    status = ResourceStatus.DRAFT
    reviewer = None
    now = None

    name = "居民户籍信息"
    summary = "本省户籍人口的户籍登记信息，包括姓名、公民身份号码、户籍地址。"
    keywords = factory.LazyFunction(lambda: ["户籍", "人口"])
    data_form = "table"
    sharing_type = "conditional"
    sharing_conditions = factory.LazyAttribute(_sharing_conditions)
    sharing_basis = factory.LazyAttribute(_sharing_basis)
    sharing_method = "api"
    open_type = "closed"
    open_reason = "personal_privacy"
    update_frequency = "daily"
    classification = "natural_person"
    security_grade = 3
    legal_basis = "《中华人民共和国户口登记条例》"
    items = factory.LazyAttributeSequence(lambda o, n: _items(n, o.item_count))

    @classmethod
    def _create(cls, model_class, *, actor, source_org, status, reviewer, now, items, **data):
        org = source_org or (actor.org if actor else OrganizationFactory())
        resource = catalog_services.resource_create(actor=actor, source_org=org, data=data, items=items)
        if status in (ResourceStatus.SUBMITTED, ResourceStatus.PUBLISHED):
            resource = catalog_services.resource_submit(actor=actor, resource=resource, now=now)
        if status == ResourceStatus.PUBLISHED:
            resource = catalog_services.resource_approve(actor=reviewer, resource=resource, now=now)
        return resource


_ENTRY_ONLY = ("actor", "status", "reviewer", "now")


def entry_payload(**overrides) -> dict:
    """EntryFactory's data as the body of POST /api/v1/resources/ (a fresh set of item codes)."""
    body = vars(EntryFactory.stub(**overrides))
    for name in _ENTRY_ONLY:
        body.pop(name)
    if body["source_org"] is None:
        body.pop("source_org")
    return body


# --- sharing requests and grants -------------------------------------------------------------


def item_codes(resource: Resource) -> list[str]:
    return [i.code for i in resource.items.order_by("position", "id")]


class SharingRequestFactory(factory.Factory):
    """A sharing request of `actor` (its institution: `requester_org`) for three items of
    `resource` (by default a new published entry of four items). `status`: draft (default),
    submitted (`now`: when), approved or fulfilled (by `approver`, of `approved_items`, None:
    all), or rejected. An unconditional entry's request is granted at submission."""

    class Meta:
        model = SharingRequest

    actor = None
    requester_org = None
    status = RequestStatus.DRAFT
    approver = None
    approved_items = None
    now = None

    resource = factory.SubFactory(EntryFactory, status=ResourceStatus.PUBLISHED, item_count=4)
    kind = "sharing"
    items = factory.LazyAttribute(lambda o: item_codes(o.resource)[:3])
    scenario = "最低生活保障资格审核"
    purpose = "核对申请人户籍信息"
    purpose_category = "public_duty"
    duty_basis = "《社会救助暂行办法》第十一条"
    sharing_method = "api"
    requested_until = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=365))
    contact_name = "张三"
    contact_phone = "020-12345678"
    system_name = "社会救助信息系统"
    system_network = "extranet"
    system_address = "10.1.2.3"

    @classmethod
    def _create(cls, model_class, *, actor, requester_org, status, approver, approved_items, now, resource, **data):
        org = requester_org or (actor.org if actor else OrganizationFactory(region=region("440300")))
        req = sharing_services.request_create(actor=actor, requester_org=org, resource=resource, data=data)
        if status == RequestStatus.DRAFT:
            return req
        req = sharing_services.request_submit(actor=actor, request=req, now=now)
        if status == RequestStatus.REJECTED:
            return sharing_services.request_reject(actor=approver, request=req, decision_basis="依据", comment="拒绝")
        if status in (RequestStatus.APPROVED, RequestStatus.FULFILLED) and req.status == RequestStatus.SUBMITTED:
            req = sharing_services.request_approve(actor=approver, request=req, approved_items=approved_items)
        if status == RequestStatus.FULFILLED and req.status == RequestStatus.APPROVED:
            req = sharing_services.request_fulfil(actor=approver, request=req, delivery_method="online_api")
        return req


_REQUEST_ONLY = ("actor", "requester_org", "status", "approver", "approved_items", "now")


def request_payload(resource: Resource, **overrides) -> dict:
    """SharingRequestFactory's data as the body of POST /api/v1/sharing-requests/."""
    body = vars(SharingRequestFactory.stub(resource=resource, **overrides))
    for name in _REQUEST_ONLY:
        body.pop(name)
    body["resource"] = resource.pk
    if isinstance(body["requested_until"], dt.date):
        body["requested_until"] = body["requested_until"].isoformat()
    return body


class GrantFactory(factory.Factory):
    """The grant of a fulfilled sharing request: GrantFactory(request__actor=…, request__approver=…)."""

    class Meta:
        model = Grant

    request = factory.SubFactory(SharingRequestFactory, status=RequestStatus.FULFILLED)

    @classmethod
    def _create(cls, model_class, *, request):
        return model_class.objects.get(request=request)
