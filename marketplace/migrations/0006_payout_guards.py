"""On PostgreSQL, the payout audit log is append-only and a paid payout's links never move."""

from django.db import migrations

POSTGRES_GUARDS = """
CREATE FUNCTION marketplace_payout_audit_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the payout audit log is append-only (row %)', OLD.id;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER marketplace_payout_audit_guard
    BEFORE UPDATE OR DELETE ON marketplace_payoutaudit
    FOR EACH ROW EXECUTE FUNCTION marketplace_payout_audit_guard();

CREATE FUNCTION marketplace_payout_item_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payout items are never deleted (item %)', OLD.id;
    END IF;
    IF NEW.payout_id <> OLD.payout_id OR NEW.entry_id <> OLD.entry_id
       OR OLD.released_at IS NOT NULL THEN
        RAISE EXCEPTION 'payout item % is fixed; only its release is recorded, once', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER marketplace_payout_item_guard
    BEFORE UPDATE OR DELETE ON marketplace_payoutitem
    FOR EACH ROW EXECUTE FUNCTION marketplace_payout_item_guard();
"""

POSTGRES_GUARDS_REVERSE = """
DROP TRIGGER IF EXISTS marketplace_payout_item_guard ON marketplace_payoutitem;
DROP FUNCTION IF EXISTS marketplace_payout_item_guard();
DROP TRIGGER IF EXISTS marketplace_payout_audit_guard ON marketplace_payoutaudit;
DROP FUNCTION IF EXISTS marketplace_payout_audit_guard();
"""


def guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS.replace("%", "%%"))


def guards_reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0005_payouts")]

    operations = [
        migrations.RunPython(guards, guards_reverse),
    ]
