"""Seed data that every installation needs: Guangdong's administrative divisions, the
official holiday calendar known to the `chinesecalendar` package, and the deadline policy
defaults of SPEC §5. Later years are entered by administrators (admin or API)."""

from django.db import migrations

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

DEFAULT_POLICY = [
    ("request_reply", 5, "working_days", "《广东省公共数据管理办法》第二十三条"),
    ("request_fulfil", 5, "working_days", "《广东省公共数据管理办法》第二十三条"),
    ("catalog_update", 15, "working_days", "《广东省公共数据管理办法》第十一条"),
    ("catalog_review", 5, "working_days", "《广东省公共数据管理办法》第十一条"),
    ("verification_reply", 5, "working_days", "《广东省公共数据管理办法》第二十三条（及时）"),
    ("objection_reply", 5, "working_days", "《广东省公共数据管理办法》第四十二条"),
    ("reminder_before", 1, "working_days", "—"),
    ("usage_feedback", 3, "months", "《广东省公共数据管理办法》第四十六条"),
]


def seed(apps, schema_editor):
    from catalog.directory.regions import load_regions

    load_regions(apps.get_model("catalog", "Region"))

    from chinese_calendar import constants

    CalendarDay = apps.get_model("catalog", "CalendarDay")
    CalendarYear = apps.get_model("catalog", "CalendarYear")
    days = [
        CalendarDay(date=d, is_working_day=False, name=HOLIDAY_NAMES_ZH.get(n, n)) for d, n in constants.holidays.items()
    ] + [
        CalendarDay(date=d, is_working_day=True, name=HOLIDAY_NAMES_ZH.get(n, n) + "（调休上班）")
        for d, n in constants.workdays.items()
    ]
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create([d for d in days if d.date not in existing], batch_size=500)
    years = sorted({d.date.year for d in days})
    for year in range(years[0], years[-1] + 1):
        CalendarYear.objects.get_or_create(year=year, defaults={"source": "chinesecalendar"})

    DeadlinePolicy = apps.get_model("catalog", "DeadlinePolicy")
    for kind, amount, unit, source in DEFAULT_POLICY:
        DeadlinePolicy.objects.get_or_create(kind=kind, defaults={"amount": amount, "unit": unit, "source": source})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
