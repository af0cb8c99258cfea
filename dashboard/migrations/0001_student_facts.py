"""dashboard_fact: one row per student of the figures the dashboard counts, kept by triggers in the same
transaction as every change to the rows that hold the facts (docs/dashboard.md)."""

from django.db import migrations

# The one definition of a student's facts; the refresh recomputes them from the source rows.
REFRESH = """
CREATE TABLE dashboard_fact (
    candidate_id bigint PRIMARY KEY,
    season_id bigint NOT NULL,
    rank varchar(1) NOT NULL,
    university varchar(200) NOT NULL,
    first_day date,
    boards text[] NOT NULL,
    booked boolean NOT NULL,
    attended boolean NOT NULL,
    es boolean NOT NULL,
    passed_rounds bigint[] NOT NULL,
    offered_on date,
    accepted boolean NOT NULL
);
CREATE INDEX dashboard_fact_season ON dashboard_fact (season_id);

-- plpgsql, not sql: its body is read when called, in the company's schema (new schemas are replayed from
-- the template's dump, tenants/cloning.py).
CREATE OR REPLACE FUNCTION dashboard_fact_select(ids bigint[]) RETURNS SETOF dashboard_fact
LANGUAGE plpgsql STABLE AS $$
BEGIN
RETURN QUERY SELECT c.id, c.season_id, c.rank, c.university,
    LEAST((SELECT min(e.entry_date) FROM candidates_entry e WHERE e.candidate_id = c.id),
          (c.created_at AT TIME ZONE 'Asia/Tokyo')::date),
    coalesce((SELECT array_agg(DISTINCT e.board::text) FROM candidates_entry e
              WHERE e.candidate_id = c.id), '{}'),
    EXISTS (SELECT 1 FROM booking_booking b JOIN booking_seminar s ON s.id = b.seminar_id
            WHERE b.candidate_id = c.id AND b.status = 'active' AND s.season_id = c.season_id
              AND NOT s.for_offer_holders),
    EXISTS (SELECT 1 FROM booking_booking b JOIN booking_seminar s ON s.id = b.seminar_id
            WHERE b.candidate_id = c.id AND b.status = 'active' AND s.season_id = c.season_id
              AND NOT s.for_offer_holders AND b.attendance = 'attended'),
    EXISTS (SELECT 1 FROM selection_submission x JOIN selection_entrysheet h ON h.id = x.sheet_id
            WHERE x.candidate_id = c.id AND h.season_id = c.season_id AND x.submitted_at IS NOT NULL),
    coalesce((SELECT array_agg(DISTINCT e.round_id) FROM selection_evaluation e
              JOIN selection_round r ON r.id = e.round_id
              WHERE e.candidate_id = c.id AND r.season_id = c.season_id AND e.decision = 'pass'), '{}'),
    (SELECT min((o.issued_at AT TIME ZONE 'Asia/Tokyo')::date) FROM selection_offer o
     WHERE o.candidate_id = c.id AND o.season_id = c.season_id),
    EXISTS (SELECT 1 FROM selection_offer o
            WHERE o.candidate_id = c.id AND o.season_id = c.season_id AND o.status = 'accepted')
FROM candidates_candidate c
WHERE (ids IS NULL OR c.id = ANY(ids)) AND c.merged_into_id IS NULL AND c.season_id IS NOT NULL;
END $$;

CREATE OR REPLACE FUNCTION dashboard_fact_refresh(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    -- Wait for any other transaction refreshing the same students; the statements below then take a
    -- snapshot that includes what it committed (READ COMMITTED), so no refresh writes older facts.
    PERFORM 1 FROM dashboard_fact WHERE candidate_id = ANY(ids) ORDER BY candidate_id FOR UPDATE;
    DELETE FROM dashboard_fact WHERE candidate_id = ANY(ids);
    INSERT INTO dashboard_fact SELECT * FROM dashboard_fact_select(ids);
END $$;

CREATE OR REPLACE FUNCTION dashboard_fact_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE dashboard_fact IN EXCLUSIVE MODE;
    DELETE FROM dashboard_fact;
    INSERT INTO dashboard_fact SELECT * FROM dashboard_fact_select(NULL);
END $$;

CREATE OR REPLACE FUNCTION dashboard_fact_rebuild_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE caller text := current_setting('search_path');
BEGIN
    PERFORM set_config('search_path', quote_ident(TG_TABLE_SCHEMA) || ', public', true);
    PERFORM dashboard_fact_rebuild();
    PERFORM set_config('search_path', caller, true);
    RETURN NULL;
END $$;
"""

# table -> (how a row names its students, the columns whose change changes a fact)
SOURCES = {
    "candidates_candidate": ("ARRAY[{r}.id]", ["season_id", "rank", "university", "merged_into_id", "created_at"]),
    "candidates_entry": ("ARRAY[{r}.candidate_id]", ["candidate_id", "board", "entry_date"]),
    "booking_booking": ("ARRAY[{r}.candidate_id]", ["candidate_id", "seminar_id", "status", "attendance"]),
    "selection_submission": ("ARRAY[{r}.candidate_id]", ["candidate_id", "sheet_id", "submitted_at"]),
    "selection_evaluation": ("ARRAY[{r}.candidate_id]", ["candidate_id", "round_id", "decision"]),
    "selection_offer": ("ARRAY[{r}.candidate_id]", ["candidate_id", "season_id", "status", "issued_at"]),
    "booking_seminar": (
        "ARRAY(SELECT b.candidate_id FROM booking_booking b WHERE b.seminar_id = {r}.id)",
        ["season_id", "for_offer_holders"],
    ),
    "selection_entrysheet": (
        "ARRAY(SELECT x.candidate_id FROM selection_submission x WHERE x.sheet_id = {r}.id)",
        ["season_id"],
    ),
    "selection_round": (
        "ARRAY(SELECT e.candidate_id FROM selection_evaluation e WHERE e.round_id = {r}.id)",
        ["season_id"],
    ),
}


def _triggers(table: str, students: str, columns: list[str]) -> str:
    new = students.format(r="n")
    old = students.format(r="o")
    changed = f"({', '.join('n.' + c for c in columns)}) IS DISTINCT FROM ({', '.join('o.' + c for c in columns)})"
    return f"""
CREATE OR REPLACE FUNCTION {table}_facts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE caller text := current_setting('search_path');
BEGIN
    PERFORM set_config('search_path', quote_ident(TG_TABLE_SCHEMA) || ', public', true);
    PERFORM dashboard_fact_refresh(ARRAY(SELECT DISTINCT unnest({new}) FROM new_rows n));
    PERFORM set_config('search_path', caller, true);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {table}_facts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE caller text := current_setting('search_path');
BEGIN
    PERFORM set_config('search_path', quote_ident(TG_TABLE_SCHEMA) || ', public', true);
    PERFORM dashboard_fact_refresh(ARRAY(SELECT DISTINCT unnest({old}) FROM old_rows o));
    PERFORM set_config('search_path', caller, true);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {table}_facts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE caller text := current_setting('search_path');
BEGIN
    PERFORM set_config('search_path', quote_ident(TG_TABLE_SCHEMA) || ', public', true);
    PERFORM dashboard_fact_refresh(ARRAY(
        SELECT DISTINCT unnest({new} || {old}) FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed}
    ));
    PERFORM set_config('search_path', caller, true);
    RETURN NULL;
END $$;
CREATE TRIGGER {table}_facts_inserted AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_facts_inserted();
CREATE TRIGGER {table}_facts_deleted AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_facts_deleted();
CREATE TRIGGER {table}_facts_updated AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION {table}_facts_updated();
CREATE TRIGGER {table}_facts_truncated AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_fact_rebuild_trigger();
"""


TRIGGERS = "".join(_triggers(table, students, columns) for table, (students, columns) in SOURCES.items())

DROP = "".join(
    f"""
DROP TRIGGER IF EXISTS {table}_facts_inserted ON {table};
DROP TRIGGER IF EXISTS {table}_facts_deleted ON {table};
DROP TRIGGER IF EXISTS {table}_facts_updated ON {table};
DROP TRIGGER IF EXISTS {table}_facts_truncated ON {table};
DROP FUNCTION IF EXISTS {table}_facts_inserted();
DROP FUNCTION IF EXISTS {table}_facts_deleted();
DROP FUNCTION IF EXISTS {table}_facts_updated();
"""
    for table in SOURCES
) + """
DROP FUNCTION IF EXISTS dashboard_fact_rebuild_trigger();
DROP FUNCTION IF EXISTS dashboard_fact_rebuild();
DROP FUNCTION IF EXISTS dashboard_fact_refresh(bigint[]);
DROP FUNCTION IF EXISTS dashboard_fact_select(bigint[]);
DROP TABLE IF EXISTS dashboard_fact;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("candidates", "0009_candidate_season"),
        ("booking", "0007_rush_pass_revocation"),
        ("selection", "0003_entry_sheets"),
    ]

    operations = [
        migrations.RunSQL(REFRESH + TRIGGERS + "SELECT dashboard_fact_rebuild();", DROP),
    ]
