"""Search that finds what clerks type (issue #19, item 11).

- SearchSynonym: the synonym groups of the catalog search, seeded here from the maintained list
  catalog/data/search_synonyms.txt (administrators edit them in the admin afterwards).
- The index now also holds the entry's code and its items' standard codes
  (catalog.search.entry_index): every entry is indexed again. On a large catalog this takes a
  few minutes (about 1 ms an entry); `manage.py catalog_reindex_search` does the same at any
  time, and `--load-synonyms` adds groups of the file that the database does not have yet.
"""

from pathlib import Path

from django.db import migrations, models

from catalog import search

SYNONYM_FILE = Path(__file__).resolve().parent.parent / "data" / "search_synonyms.txt"


def seed_synonyms(apps, schema_editor):
    SearchSynonym = apps.get_model("catalog", "SearchSynonym")
    SearchSynonym.objects.bulk_create(
        [
            SearchSynonym(words="、".join(words), note="maintained list (catalog/data/search_synonyms.txt)")
            for words in search.read_synonym_file(SYNONYM_FILE)
        ]
    )


def reindex(apps, schema_editor):
    search.reindex_entries(apps.get_model("catalog", "Resource"), apps.get_model("catalog", "ResourceItem"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0020_deadline_profiles"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchSynonym",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "words",
                    models.TextField(
                        help_text="Two or more words that mean the same, separated by commas, 、 or new lines, e.g. 社保, 社会保险. Searches use a change within moments.",
                        verbose_name="words",
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                ("is_active", models.BooleanField(default=True, verbose_name="in use")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "search synonym group",
                "verbose_name_plural": "search synonym groups",
                "ordering": ["id"],
            },
        ),
        migrations.RunPython(seed_synonyms, migrations.RunPython.noop),
        migrations.RunPython(reindex, migrations.RunPython.noop),
    ]
