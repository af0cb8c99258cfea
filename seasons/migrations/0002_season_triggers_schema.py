"""The season rule's triggers work in their own company's schema whatever the caller's search path, as the
dashboard's triggers do (dashboard/0001): a schema-qualified insert from a session on another schema (a
restore, a support script) found no season_id_for_year() / season_default_id() and failed."""

from django.db import migrations

# The path is switched only when the rule is asked (a row without a season, a corrected year): the common
# insert that names its season pays nothing.
TRIGGERS = """
CREATE OR REPLACE FUNCTION season_default_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE caller text;
BEGIN
    IF NEW.season_id IS NULL THEN
        caller := current_setting('search_path');
        PERFORM set_config('search_path', quote_ident(TG_TABLE_SCHEMA) || ', public', true);
        NEW.season_id := season_default_id();
        PERFORM set_config('search_path', caller, true);
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION candidate_season_pick() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE caller text;
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.season_id IS NULL)
       OR (TG_OP = 'UPDATE' AND NEW.graduation_year IS DISTINCT FROM OLD.graduation_year
           AND NEW.graduation_year IS NOT NULL AND NEW.season_id IS NOT DISTINCT FROM OLD.season_id) THEN
        -- A corrected graduation year moves the student, unless the same statement moved them to another season.
        caller := current_setting('search_path');
        PERFORM set_config('search_path', quote_ident(TG_TABLE_SCHEMA) || ', public', true);
        NEW.season_id := season_id_for_year(NEW.graduation_year);
        PERFORM set_config('search_path', caller, true);
    END IF;
    RETURN NEW;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("seasons", "0001_initial"),
        ("candidates", "0009_candidate_season"),
    ]

    # Going back keeps these bodies: they do what the unqualified ones did, under any search path.
    operations = [migrations.RunSQL(TRIGGERS, migrations.RunSQL.noop)]
