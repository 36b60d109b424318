"""Deadline profiles (SPEC §3a, issue 17 item 1): Order 809 applies everywhere, the Guangdong
Measures in Guangdong's regions, and where two apply the stricter figure wins."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog import calendar as wcal
from catalog.choices import DeadlineKind, RegionLevel
from catalog.models import AuditEvent, DeadlinePolicy, DeadlineProfile, Region
from tests.factories import region

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def guangxi():
    """A region no profile is mapped to: only the national Regulation applies."""
    return Region.objects.create(code="450000", name="广西壮族自治区", level=RegionLevel.PROVINCE)


def test_both_profiles_are_seeded_with_their_articles_and_unconfirmed_figures_marked():
    national = DeadlineProfile.objects.get(code="national-809")
    assert national.is_baseline and "809" in national.rule
    figures = {(f.profile_id, f.kind): f for f in DeadlinePolicy.objects.all()}
    assert figures[("national-809", DeadlineKind.REQUEST_REPLY)].amount == 10
    assert figures[("national-809", DeadlineKind.REQUEST_FULFIL)].amount == 20
    assert figures[("national-809", DeadlineKind.UNCONDITIONAL_SHARING)].amount == 1
    assert not any(f.confirmed for (profile, _kind), f in figures.items() if profile == "national-809")
    assert figures[("gd-measures", DeadlineKind.REQUEST_REPLY)].confirmed  # Art. 23: the published figure
    assert not figures[("gd-measures", DeadlineKind.CATALOG_REVIEW)].confirmed  # Art. 11: our reading (SPEC §5)


def test_a_guangdong_city_gets_the_measures_five_days_with_its_article():
    figure = wcal.policy_figure(DeadlineKind.REQUEST_REPLY, region_id=region("440100").pk)
    assert (figure.amount, figure.profile) == (5, "gd-measures")
    assert figure.source == "《广东省公共数据管理办法》第二十三条"
    assert wcal.rule_basis(figure.rule) == "《广东省公共数据管理办法》第二十三条"
    # a county inherits the province's mapping, as does the province itself
    assert wcal.policy_figure(DeadlineKind.REQUEST_FULFIL, region_id=region("440106").pk).amount == 5
    assert wcal.policy_figure(DeadlineKind.REQUEST_REPLY, region_id=region("440000").pk).profile == "gd-measures"


def test_a_region_with_only_the_national_profile_gets_order_809s_ten_days(guangxi):
    figure = wcal.policy_figure(DeadlineKind.REQUEST_REPLY, region_id=guangxi.pk)
    assert (figure.amount, figure.profile, figure.confirmed) == (10, "national-809", False)
    assert "809" in wcal.rule_basis(figure.rule) and figure.rule.endswith("|unconfirmed")
    due, provisional, used = wcal.policy_deadline(
        dt.datetime(2025, 9, 30, 16, tzinfo=SH), DeadlineKind.REQUEST_REPLY, region_id=guangxi.pk
    )
    # 9, 10, 11 (make-up Saturday), 13 … 17, 20, 21 October 2025
    assert due == dt.datetime(2025, 10, 21, 23, 59, 59, tzinfo=SH) and not provisional and used == figure


def test_the_stricter_figure_wins_and_says_which_rule_it_came_from(admin_user):
    gz = region("440100").pk
    # Order 809's one working day for unconditional data is stricter than anything the Measures say
    assert wcal.policy_figure(DeadlineKind.UNCONDITIONAL_SHARING, region_id=gz).profile == "national-809"
    assert wcal.policy_figure(DeadlineKind.EXTENSION, region_id=gz).amount == 10
    # were the Measures laxer than the Regulation, the Regulation would bind
    measures = DeadlinePolicy.objects.get(profile_id="gd-measures", kind=DeadlineKind.REQUEST_REPLY)
    wcal.deadline_policy_update(actor=admin_user, policy=measures, amount=15)
    figure = wcal.policy_figure(DeadlineKind.REQUEST_REPLY, region_id=gz)
    assert (figure.amount, figure.profile) == (10, "national-809")
    # a figure only the Measures name applies in Guangdong (and, no profile naming it, anywhere)
    assert wcal.policy_figure(DeadlineKind.CATALOG_REVIEW, region_id=gz).amount == 5
    # without a region: the strictest figure of any profile (the figure before profiles existed)
    assert wcal.policy_amount(DeadlineKind.REQUEST_FULFIL) == 5


def test_administrators_map_a_region_to_a_profile_and_mark_figures_confirmed(admin_user, guangxi):
    measures = DeadlineProfile.objects.get(code="gd-measures")
    wcal.region_deadline_profile_set(actor=admin_user, region=guangxi, profile=measures)
    assert wcal.policy_amount(DeadlineKind.REQUEST_REPLY, region_id=guangxi.pk) == 5
    assert AuditEvent.objects.filter(action="policy.region_profile", object_id=str(guangxi.pk)).exists()
    wcal.region_deadline_profile_set(actor=admin_user, region=guangxi, profile=None)
    assert wcal.policy_amount(DeadlineKind.REQUEST_REPLY, region_id=guangxi.pk) == 10
    figure = DeadlinePolicy.objects.get(profile_id="national-809", kind=DeadlineKind.REQUEST_REPLY)
    wcal.deadline_policy_update(
        actor=admin_user, policy=figure, amount=10, source="《政务数据共享条例》第X条", confirmed=True
    )
    figure.refresh_from_db()
    assert figure.confirmed and figure.source == "《政务数据共享条例》第X条"
    assert wcal.rule_basis(wcal.policy_figure(DeadlineKind.REQUEST_REPLY, region_id=guangxi.pk).rule) == figure.source
