"""Search now reads full-width letters, digits and punctuation as their usual forms (NFKC:
ＩＰｖ６ is IPv6), in queries and in the index (catalog.search.normalise). Entries whose
texts hold such characters are indexed again; the others' lexemes are unchanged."""

import unicodedata

from django.db import migrations

from catalog import search


def _changes(text) -> bool:
    return bool(text) and unicodedata.normalize("NFKC", text) != text


def reindex(apps, schema_editor):
    Resource = apps.get_model("catalog", "Resource")
    ResourceItem = apps.get_model("catalog", "ResourceItem")
    items = ResourceItem.objects.values_list("resource_id", "name").iterator(chunk_size=5000)
    ids = {rid for rid, name in items if _changes(name)}
    for rid, name, summary, keywords, theme in Resource.objects.values_list("id", "name", "summary", "keywords", "theme").iterator(
        chunk_size=5000
    ):
        if _changes(name) or _changes(summary) or _changes(theme) or any(_changes(str(k)) for k in keywords or []):
            ids.add(rid)
    for resource in Resource.objects.filter(pk__in=ids):
        item_names = list(ResourceItem.objects.filter(resource=resource).order_by("position", "id").values_list("name", flat=True))
        Resource.objects.filter(pk=resource.pk).update(
            search_name=search.index_text(resource.name),
            search_body=search.index_text(
                resource.summary, " ".join(map(str, resource.keywords or [])), " ".join(item_names), resource.theme
            ),
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_catalogtask_two_comments")]

    operations = [migrations.RunPython(reindex, migrations.RunPython.noop)]
