# The department head's sign-off (Order 809, 经部门负责人审核同意; issue 17 item 5): a per-region
# policy flag (empty everywhere: inherited, so off) and the `head` role.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0018_deadlinepolicy_demand_kinds"),
    ]

    operations = [
        migrations.AddField(
            model_name="region",
            name="requires_signoff",
            field=models.BooleanField(
                blank=True,
                help_text="Empty: as the region above it (and no sign-off where no region above says so)",
                null=True,
                verbose_name="requests need the department head's sign-off",
            ),
        ),
        migrations.AlterField(
            model_name="userrole",
            name="role",
            field=models.CharField(
                choices=[
                    ("staff", "Department staff"),
                    ("approver", "Approver"),
                    ("authority", "Data authority officer"),
                    ("cdo", "Chief data officer"),
                    ("auditor", "Auditor"),
                    ("head", "Department head"),
                ],
                max_length=16,
                verbose_name="role",
            ),
        ),
    ]
