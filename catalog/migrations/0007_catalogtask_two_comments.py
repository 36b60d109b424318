"""A catalog-update task keeps the institution's comment (given when it updated its catalog)
and the authority's (given when it reviewed the update) apart: with one `comment` column the
review overwrote the institution's.

The existing comments go by the task's status: a closed task's is the authority's (the close
overwrote the institution's, when it gave one), an updated task's the institution's. An open
task has none (only the two transitions write one); should one have one, it stays as the
institution's. Back: the latest comment, as the API shows it."""

from django.db import migrations, models


def split_comments(apps, schema_editor):
    CatalogTask = apps.get_model("catalog", "CatalogTask")
    tasks = CatalogTask.objects.exclude(comment="")
    tasks.filter(status="closed").update(close_comment=models.F("comment"))
    tasks.exclude(status="closed").update(completion_comment=models.F("comment"))


def join_comments(apps, schema_editor):
    CatalogTask = apps.get_model("catalog", "CatalogTask")
    CatalogTask.objects.exclude(completion_comment="").update(comment=models.F("completion_comment"))
    CatalogTask.objects.exclude(close_comment="").update(comment=models.F("close_comment"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_resource_search_rows"),
    ]

    operations = [
        migrations.AddField(
            model_name="catalogtask",
            name="completion_comment",
            field=models.TextField(
                blank=True, help_text="Given when the catalog was updated", verbose_name="institution's comment"
            ),
        ),
        migrations.AddField(
            model_name="catalogtask",
            name="close_comment",
            field=models.TextField(
                blank=True, help_text="Given when the update was reviewed", verbose_name="authority's review comment"
            ),
        ),
        migrations.RunPython(split_comments, join_comments),
        migrations.RemoveField(
            model_name="catalogtask",
            name="comment",
        ),
    ]
