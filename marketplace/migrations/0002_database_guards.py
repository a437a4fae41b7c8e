"""On PostgreSQL, the guards that keep the ledger immutable and one person's work sessions from
overlapping. (Default rates come from marketplace.services.rates after every migrate.)"""

from django.db import migrations

POSTGRES_GUARDS = """
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE marketplace_worksession ADD CONSTRAINT session_no_overlap_per_person
    EXCLUDE USING gist (user_id WITH =, tstzrange(started_at, ended_at, '[)') WITH &&);

CREATE FUNCTION marketplace_earning_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'earning entries are never deleted (entry %)', OLD.id;
    END IF;
    IF (NEW.contributor_id, NEW.project_id, NEW.kind, NEW.amount, NEW.currency, NEW.hours,
        NEW.rate, NEW.multiplier, NEW.active_seconds, NEW.work_date, NEW.source_type,
        NEW.source_id, NEW.idempotency_key, NEW.reverses_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.contributor_id, OLD.project_id, OLD.kind, OLD.amount, OLD.currency, OLD.hours,
        OLD.rate, OLD.multiplier, OLD.active_seconds, OLD.work_date, OLD.source_type,
        OLD.source_id, OLD.idempotency_key, OLD.reverses_id, OLD.created_at) THEN
        RAISE EXCEPTION 'earning entry % is immutable; write a new entry', OLD.id;
    END IF;
    IF NEW.state <> OLD.state AND NOT (
        (OLD.state = 'pending' AND NEW.state IN ('approved', 'reversed'))
        OR (OLD.state = 'approved' AND NEW.state IN ('paid', 'reversed'))
    ) THEN
        RAISE EXCEPTION 'earning entry % cannot move from % to %', OLD.id, OLD.state, NEW.state;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER marketplace_earning_guard
    BEFORE UPDATE OR DELETE ON marketplace_earningentry
    FOR EACH ROW EXECUTE FUNCTION marketplace_earning_guard();
"""

POSTGRES_GUARDS_REVERSE = """
DROP TRIGGER IF EXISTS marketplace_earning_guard ON marketplace_earningentry;
DROP FUNCTION IF EXISTS marketplace_earning_guard();
ALTER TABLE marketplace_worksession DROP CONSTRAINT IF EXISTS session_no_overlap_per_person;
"""


def guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The %% are RAISE placeholders, doubled for the driver's parameter syntax.
        schema_editor.execute(POSTGRES_GUARDS.replace("%", "%%"))


def guards_reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]

    operations = [
        migrations.RunPython(guards, guards_reverse),
    ]
