"""PostgreSQL only: exact entry counts per (source institution, status, reviewing authority),
kept by triggers in the same transaction as the change, so the count of an unfiltered list
(`visible_resources`, 100,000 rows and more) is a sum over a few hundred rows instead of a scan
(catalog/selectors.py `resource_count`). It is not an estimate: every INSERT, DELETE, UPDATE of
those three columns and TRUNCATE of catalog_resource (COPY included) updates it.

An update that moves an entry from one key to another bumps the two keys in a fixed order
(the smaller key first), so two transactions moving entries in opposite directions cannot
deadlock on them. Rows at zero are kept (at most institutions × statuses × authorities).
SQLite counts the rows and needs nothing here."""

from django.db import migrations

FORWARD = """
CREATE TABLE catalog_resource_count (
    source_org_id bigint NOT NULL,
    status varchar(16) NOT NULL,
    authority_id bigint NULL,
    n bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX catalog_resource_count_key ON catalog_resource_count (source_org_id, status, (COALESCE(authority_id, 0)));

CREATE FUNCTION catalog_resource_count_bump(org bigint, st varchar, auth bigint, delta integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO catalog_resource_count AS c (source_org_id, status, authority_id, n) VALUES (org, st, auth, delta)
    ON CONFLICT (source_org_id, status, (COALESCE(authority_id, 0))) DO UPDATE SET n = c.n + EXCLUDED.n;
$$;

CREATE FUNCTION catalog_resource_count_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM catalog_resource_count_bump(NEW.source_org_id, NEW.status, NEW.authority_id, 1);
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM catalog_resource_count_bump(OLD.source_org_id, OLD.status, OLD.authority_id, -1);
        RETURN NULL;
    END IF;
    IF (OLD.source_org_id, OLD.status, COALESCE(OLD.authority_id, 0))
       IS NOT DISTINCT FROM (NEW.source_org_id, NEW.status, COALESCE(NEW.authority_id, 0)) THEN
        RETURN NULL;
    END IF;
    IF (OLD.source_org_id, OLD.status, COALESCE(OLD.authority_id, 0)) < (NEW.source_org_id, NEW.status, COALESCE(NEW.authority_id, 0)) THEN
        PERFORM catalog_resource_count_bump(OLD.source_org_id, OLD.status, OLD.authority_id, -1);
        PERFORM catalog_resource_count_bump(NEW.source_org_id, NEW.status, NEW.authority_id, 1);
    ELSE
        PERFORM catalog_resource_count_bump(NEW.source_org_id, NEW.status, NEW.authority_id, 1);
        PERFORM catalog_resource_count_bump(OLD.source_org_id, OLD.status, OLD.authority_id, -1);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION catalog_resource_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE catalog_resource_count;
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_resource_count_ins_del AFTER INSERT OR DELETE ON catalog_resource
    FOR EACH ROW EXECUTE FUNCTION catalog_resource_count_row();
CREATE TRIGGER catalog_resource_count_upd AFTER UPDATE OF source_org_id, status, authority_id ON catalog_resource
    FOR EACH ROW EXECUTE FUNCTION catalog_resource_count_row();
CREATE TRIGGER catalog_resource_count_trunc AFTER TRUNCATE ON catalog_resource
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_resource_count_truncate();

LOCK TABLE catalog_resource IN SHARE MODE;
INSERT INTO catalog_resource_count (source_org_id, status, authority_id, n)
    SELECT source_org_id, status, authority_id, count(*) FROM catalog_resource GROUP BY 1, 2, 3;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS catalog_resource_count_ins_del ON catalog_resource;
DROP TRIGGER IF EXISTS catalog_resource_count_upd ON catalog_resource;
DROP TRIGGER IF EXISTS catalog_resource_count_trunc ON catalog_resource;
DROP FUNCTION IF EXISTS catalog_resource_count_row();
DROP FUNCTION IF EXISTS catalog_resource_count_truncate();
DROP FUNCTION IF EXISTS catalog_resource_count_bump(bigint, varchar, bigint, integer);
DROP TABLE IF EXISTS catalog_resource_count;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_resource_search_vector")]

    operations = [migrations.RunPython(forward, backward)]
