"""PostgreSQL only: a narrow copy of each entry for search and facets, kept by triggers in the
same transaction as the change.

A search or a facet count reads every matching entry (a two-character word matches thousands).
In catalog_resource each entry is a wide row (~1.1 kB: texts, JSON lists, the tsvector) whose
status and institution sit behind twenty variable-length columns, so most of that read is
spent finding the few columns it needs. catalog_resource_search holds only those: the columns
the visibility rule (catalog.policies.visible_resources), the list's filters and the facets
look at, fixed-width first, then the name's lexemes (for ranking name matches first) and the
tsvector with its own GIN index. Its columns have the names they have in catalog_resource,
so a query's WHERE clause written for the entries runs on it unchanged under the entries'
alias (catalog/selectors.py); a query that needs any other column reads catalog_resource.

Every INSERT, UPDATE, DELETE and TRUNCATE of catalog_resource (COPY included) is copied.
SQLite reads its one table and needs nothing here."""

from django.db import migrations

FORWARD = """
CREATE TABLE catalog_resource_search (
    id bigint PRIMARY KEY,
    source_org_id bigint NOT NULL,
    region_id bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    security_grade smallint NOT NULL,
    authority_id bigint NULL,
    status varchar(16) NOT NULL,
    sharing_type varchar(16) NOT NULL,
    open_type varchar(16) NOT NULL,
    classification varchar(16) NOT NULL,
    update_frequency varchar(16) NOT NULL,
    data_form varchar(16) NOT NULL,
    sharing_method varchar(16) NOT NULL,
    search_name text NOT NULL,
    search_vector tsvector NULL
);
CREATE INDEX catalog_resource_search_vector_idx ON catalog_resource_search USING gin (search_vector);

CREATE FUNCTION catalog_resource_search_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM catalog_resource_search WHERE id = OLD.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.id <> NEW.id THEN
            DELETE FROM catalog_resource_search WHERE id = OLD.id;
        ELSIF (OLD.source_org_id, OLD.region_id, OLD.updated_at, OLD.security_grade, OLD.authority_id, OLD.status,
               OLD.sharing_type, OLD.open_type, OLD.classification, OLD.update_frequency, OLD.data_form,
               OLD.sharing_method, OLD.search_name, OLD.search_vector)
              IS NOT DISTINCT FROM
              (NEW.source_org_id, NEW.region_id, NEW.updated_at, NEW.security_grade, NEW.authority_id, NEW.status,
               NEW.sharing_type, NEW.open_type, NEW.classification, NEW.update_frequency, NEW.data_form,
               NEW.sharing_method, NEW.search_name, NEW.search_vector) THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO catalog_resource_search (id, source_org_id, region_id, updated_at, security_grade, authority_id,
            status, sharing_type, open_type, classification, update_frequency, data_form, sharing_method, search_name,
            search_vector)
        VALUES (NEW.id, NEW.source_org_id, NEW.region_id, NEW.updated_at, NEW.security_grade, NEW.authority_id,
            NEW.status, NEW.sharing_type, NEW.open_type, NEW.classification, NEW.update_frequency, NEW.data_form,
            NEW.sharing_method, NEW.search_name, NEW.search_vector)
        ON CONFLICT (id) DO UPDATE SET (source_org_id, region_id, updated_at, security_grade, authority_id, status,
            sharing_type, open_type, classification, update_frequency, data_form, sharing_method, search_name,
            search_vector)
          = (EXCLUDED.source_org_id, EXCLUDED.region_id, EXCLUDED.updated_at, EXCLUDED.security_grade,
            EXCLUDED.authority_id, EXCLUDED.status, EXCLUDED.sharing_type, EXCLUDED.open_type, EXCLUDED.classification,
            EXCLUDED.update_frequency, EXCLUDED.data_form, EXCLUDED.sharing_method, EXCLUDED.search_name,
            EXCLUDED.search_vector);
    RETURN NULL;
END $$;

CREATE FUNCTION catalog_resource_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE catalog_resource_search;
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_resource_search_row AFTER INSERT OR UPDATE OR DELETE ON catalog_resource
    FOR EACH ROW EXECUTE FUNCTION catalog_resource_search_row();
CREATE TRIGGER catalog_resource_search_trunc AFTER TRUNCATE ON catalog_resource
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_resource_search_truncate();

LOCK TABLE catalog_resource IN SHARE MODE;
INSERT INTO catalog_resource_search (id, source_org_id, region_id, updated_at, security_grade, authority_id, status,
        sharing_type, open_type, classification, update_frequency, data_form, sharing_method, search_name, search_vector)
    SELECT id, source_org_id, region_id, updated_at, security_grade, authority_id, status, sharing_type, open_type,
        classification, update_frequency, data_form, sharing_method, search_name, search_vector
    FROM catalog_resource ORDER BY id;
ANALYZE catalog_resource_search;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS catalog_resource_search_row ON catalog_resource;
DROP TRIGGER IF EXISTS catalog_resource_search_trunc ON catalog_resource;
DROP FUNCTION IF EXISTS catalog_resource_search_row();
DROP FUNCTION IF EXISTS catalog_resource_search_truncate();
DROP TABLE IF EXISTS catalog_resource_search;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_resource_counts")]

    operations = [migrations.RunPython(forward, backward)]
