"""PostgreSQL only: a generated tsvector over the lexemes that catalog/search.py stores in
search_name (weight A) and search_body (weight B), with a GIN index. The lexemes are taken
as they are (array_to_tsvector), so no text-search parser or locale is involved. SQLite
searches the same lexemes with LIKE and needs nothing here."""

from django.db import migrations

FORWARD = """
ALTER TABLE catalog_resource ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(array_to_tsvector(string_to_array(btrim(search_name), ' ')), 'A') ||
    setweight(array_to_tsvector(string_to_array(btrim(search_body), ' ')), 'B')
) STORED;
CREATE INDEX resource_search_vector_idx ON catalog_resource USING gin (search_vector);
"""

BACKWARD = """
DROP INDEX IF EXISTS resource_search_vector_idx;
ALTER TABLE catalog_resource DROP COLUMN IF EXISTS search_vector;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_resource_catalog")]

    operations = [migrations.RunPython(forward, backward)]
