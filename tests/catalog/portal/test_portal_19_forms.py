"""Issue 19, item 8: the portal's forms. Required markers follow the sharing type as the
services' rules do, an error summary opens the page, ids are unique per form, help and
errors are linked by aria-describedby to ids that exist; the catalog editor fits a phone,
says what saving a published entry does, regions are chosen from the directory, and My
catalog lists an entry once. Item 7's review page: tests/sharing/portal/test_portal_19_dashboard.py."""

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from catalog import services
from catalog.core.errors import DomainError
from catalog.models import Resource
from catalog.portal.forms import REQUIRED_WHEN

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


class Page(HTMLParser):
    """Every element's attributes, in document order, and the forms they are in."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict, int]] = []
        self.form = 0
        self.forms = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            self.forms += 1
            self.form = self.forms
        self.elements.append((tag, dict(attrs), self.form))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = 0

    def ids(self) -> Counter:
        return Counter(a["id"] for t, a, _f in self.elements if a.get("id") and t != "template")

    def by_id(self, id_):
        return next(e for e in self.elements if e[1].get("id") == id_)


def assert_ids_sound(html: str) -> Page:
    """Unique ids; every label's `for` and every aria-describedby names an id that exists,
    a label's control in the label's own form."""
    html = html.split("<template", 1)[0] + html.split("</template>", 1)[-1] if "<template" in html else html
    page = Page(html)
    ids = page.ids()
    assert not [i for i, n in ids.items() if n > 1], [i for i, n in ids.items() if n > 1]
    for tag, attrs, form in page.elements:
        if tag == "label" and attrs.get("for"):
            assert attrs["for"] in ids, attrs["for"]
            assert page.by_id(attrs["for"])[2] == form, f"label for {attrs['for']} is not in its control's form"
        for ref in (attrs.get("aria-describedby") or "").split():
            assert ref in ids, f"aria-describedby={ref} names no element"
    return page


def entry_data(**extra) -> dict:
    return {
        "name": "测试目录",
        "classification": "department",
        "data_form": "table",
        "sharing_type": "unconditional",
        "sharing_method": "api",
        "network": "extranet",
        "open_type": "closed",
        "open_reason": "personal_privacy",
        "update_frequency": "daily",
        "security_grade": "2",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-code": "A1",
        "items-0-name": "甲",
        "items-0-data_type": "string",
        "items-0-ORDER": "1",
        "items-0-is_source": "on",
        **extra,
    }


def marker_shown(page: Page, field: str) -> bool:
    """Whether the required marker of the editor's field is shown (a marker without `hidden`)."""
    html_id = f"id_{field}"
    seen_label = False
    for tag, attrs, _f in page.elements:
        if tag == "label" and attrs.get("for") == html_id:
            seen_label = True
        elif seen_label and tag == "span" and "data-required-marker" in attrs:
            return "hidden" not in attrs
        elif seen_label and tag in ("textarea", "select", "input"):
            return False
    raise AssertionError(f"no label for {field}")


# --- required markers follow the sharing type --------------------------------------------------


@pytest.mark.parametrize(
    ("sharing_type", "open_type", "required"),
    [
        ("unconditional", "open", set()),
        ("conditional", "open", {"sharing_conditions", "sharing_basis"}),
        ("none", "closed", {"sharing_basis", "open_reason"}),
    ],
)
def test_required_markers_follow_the_sharing_type_as_the_services_do(world, sharing_type, open_type, required):
    data = entry_data(
        sharing_type=sharing_type, open_type=open_type, open_reason="", sharing_conditions="", sharing_basis=""
    )
    response = client_for(world.clerk).post("/my/catalog/new/", {**data, "name": ""})  # refused: shown again
    page = Page(response.content.decode())
    shown = {f for f in REQUIRED_WHEN if marker_shown(page, f)}
    assert shown == required
    for field in REQUIRED_WHEN:
        tag = page.by_id(f"id_{field}")
        assert (tag[1].get("aria-required") == "true") == (field in required)
    # The markers say what the service refuses, no more, no less.
    try:
        services.resource_create(
            actor=world.clerk,
            source_org=world.source_org,
            data={k: v for k, v in data.items() if not k.startswith("items")} | {"security_grade": 2},
        )
        refused = set()
    except DomainError as exc:
        refused = set(exc.errors) & set(REQUIRED_WHEN)
    assert refused == required


def test_a_new_entry_marks_what_its_default_sharing_type_requires(world):
    page = Page(client_for(world.clerk).get("/my/catalog/new/").content.decode())
    box = next(a for t, a, _f in page.elements if a.get("data-required-when", "").startswith("sharing_type:"))
    assert box["data-required-when"] in ("sharing_type:conditional", "sharing_type:conditional,none")
    assert not marker_shown(page, "sharing_conditions")
    assert marker_shown(page, "name")


# --- the error summary --------------------------------------------------------------------------


def test_an_error_summary_opens_the_page_and_links_each_field(world):
    c = client_for(world.clerk)
    data = entry_data(sharing_type="conditional", sharing_conditions="", sharing_basis="")
    response = c.post("/my/catalog/new/", data)  # the service's rules
    assert response.status_code == 200 and not Resource.objects.exists()
    body = response.content.decode()
    assert body.index("data-error-summary") < body.index('id="resource-form"')
    page = assert_ids_sound(body)
    links = [a["href"][1:] for t, a, _f in page.elements if t == "a" and "data-error-link" in a]
    assert links == ["id_sharing_conditions", "id_sharing_basis"]
    page = assert_ids_sound(c.post("/my/catalog/new/", {**data, "name": ""}).content.decode())  # the form's
    links = [a["href"][1:] for t, a, _f in page.elements if t == "a" and "data-error-link" in a]
    assert links == ["id_name"]
    summary = next(a for t, a, _f in page.elements if "data-error-summary" in a)
    assert summary["tabindex"] == "-1" and summary["role"] == "alert"


def test_item_errors_are_in_the_summary_with_their_row(world):
    data = entry_data(**{"items-0-code": "", "items-0-name": "甲", "items-0-length": "-3"})
    body = client_for(world.clerk).post("/my/catalog/new/", data).content.decode()
    page = assert_ids_sound(body)
    links = [a["href"][1:] for t, a, _f in page.elements if t == "a" and "data-error-link" in a]
    assert "id_items-0-length" in links


# --- unique ids, labels in their own form, aria-describedby -------------------------------------


def test_the_editor_links_help_and_errors_to_ids_that_exist(world):
    body = client_for(world.clerk).get("/my/catalog/new/").content.decode()
    page = assert_ids_sound(body)
    assert page.by_id("id_keywords")[1]["aria-describedby"] == "id_keywords_helptext"
    body = client_for(world.clerk).post("/my/catalog/new/", entry_data(name="")).content.decode()
    page = assert_ids_sound(body)
    assert "id_name_error" in page.by_id("id_name")[1]["aria-describedby"]


def test_the_review_page_gives_each_comment_box_its_own_id(world):
    resource = world.published()
    revision = services.resource_update(actor=world.clerk, resource=resource, data={"summary": "新摘要"}, items=None)
    services.resource_submit(actor=world.clerk, resource=revision)
    body = client_for(world.authority).get(f"/authority/review/{revision.pk}/").content.decode()
    page = assert_ids_sound(body)
    comment_boxes = [a["id"] for t, a, _f in page.elements if t == "textarea"]
    assert len(comment_boxes) == 2 and len(set(comment_boxes)) == 2


# --- the editor -----------------------------------------------------------------------------------


def test_editing_a_published_entry_says_saving_makes_the_next_version(world):
    resource = world.published()
    body = client_for(world.clerk).get(f"/my/catalog/{resource.pk}/edit/").content.decode()
    assert "保存后生成第 2 版（草稿）" in body and "第 1 版在新版本发布前继续有效" in body
    services.resource_update(actor=world.clerk, resource=resource, data={"summary": "改"}, items=None)
    body = client_for(world.clerk).get(f"/my/catalog/{resource.pk}/edit/").content.decode()
    assert "第 2 版" in body and "第 1 版在新版本发布前继续有效" in body


def test_regions_are_chosen_from_the_directory(world):
    c = client_for(world.clerk)
    page = Page(c.get("/my/catalog/new/").content.decode())
    select = page.by_id("id_scope_regions")
    assert select[0] == "select" and "multiple" in select[1]
    options = [a["value"] for t, a, _f in page.elements if t == "option"]
    assert "440300" in options and "440106" in options  # 深圳市, 天河区
    response = c.post("/my/catalog/new/", entry_data(scope_regions=["440300", "440106"]))
    assert response.status_code == 302
    assert Resource.objects.get().scope_regions == ["440300", "440106"]
    response = c.post("/my/catalog/new/", entry_data(name="第二条", scope_regions=["999999"]))
    assert response.status_code == 200 and response.context["form"].errors["scope_regions"]


def test_my_catalog_lists_an_entry_with_a_draft_version_once(world):
    resource = world.published()
    revision = services.resource_update(actor=world.clerk, resource=resource, data={"summary": "改"}, items=None)
    c = client_for(world.clerk)
    response = c.get("/my/catalog/")
    body = response.content.decode()
    assert body.count(f'data-resource="{resource.pk}"') == 1
    assert f'data-resource="{revision.pk}"' not in body
    assert f'data-pending="{revision.pk}"' in body
    assert [e.pk for e in response.context["entries"]] == [resource.pk]
    tabs = {t["value"]: t["count"] for t in response.context["tabs"]}
    assert tabs["published"] == 1 and tabs["draft"] == 1
    assert [e.pk for e in c.get("/my/catalog/", {"status": "draft"}).context["entries"]] == [resource.pk]
    assert f'action="/my/catalog/{revision.pk}/submit/"' in body


# The editor on a phone, in a browser: tests/sharing/portal/test_portal_19_dashboard.py (Playwright runs
# once per session, from the sharing portal's fixtures).
