"""The students' facts of seats won on the rush path are refreshed a moment later, not in the winners'
transaction.

At an opening of hundreds of companies the refresh was most of PostgreSQL's work, inside the transaction
that holds the winners' quota rows: every pooled connection compiles and plans the facts' functions once
per company schema it touches (about 25 ms each, then a few ms for the next calls), so a booking's facts
cost more than its seat. A transaction that sets `saas.facts_later` (the rush path's winners' writes,
booking/rush/persist.py) only notes the students in dashboard_fact_stale; `dashboard_fact_refresh_stale()`
refreshes them, called by the worker that sends the rush's confirmations every second
(booking/services/confirmations.py::confirmations_drain) and by the dashboard before it reads
(dashboard/views.py, through rush_facts_refresh), so the figures a recruiter sees are as current as before.
"""

from importlib import import_module

from django.db import migrations

FACTS = import_module("dashboard.migrations.0001_student_facts")
_start = FACTS.TRIGGERS.index("CREATE OR REPLACE FUNCTION booking_booking_facts_inserted()")
_end = FACTS.TRIGGERS.index("END $$;", _start) + len("END $$;")
BEFORE = FACTS.TRIGGERS[_start:_end]
NOW = """    PERFORM dashboard_fact_refresh(ARRAY(SELECT DISTINCT unnest(ARRAY[n.candidate_id]) FROM new_rows n));
"""
LATER = """    IF current_setting('saas.facts_later', true) = 'on' THEN
        INSERT INTO dashboard_fact_stale SELECT DISTINCT n.candidate_id FROM new_rows n ON CONFLICT DO NOTHING;
    ELSE
        PERFORM dashboard_fact_refresh(ARRAY(SELECT DISTINCT unnest(ARRAY[n.candidate_id]) FROM new_rows n));
    END IF;
"""
assert NOW in BEFORE
AFTER = BEFORE.replace(NOW, LATER)

STALE = """
CREATE TABLE dashboard_fact_stale (candidate_id bigint PRIMARY KEY);
CREATE OR REPLACE FUNCTION dashboard_fact_refresh_stale() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    -- Rows noted by transactions not committed yet are not seen here: the next call takes them.
    WITH taken AS (DELETE FROM dashboard_fact_stale RETURNING candidate_id)
    SELECT array_agg(candidate_id ORDER BY candidate_id) INTO ids FROM taken;
    PERFORM dashboard_fact_refresh(ids);
    RETURN coalesce(cardinality(ids), 0);
END $$;
"""
STALE_DROP = """
DROP FUNCTION IF EXISTS dashboard_fact_refresh_stale();
DROP TABLE IF EXISTS dashboard_fact_stale;
"""


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_facts_by_ids")]

    operations = [migrations.RunSQL(STALE + AFTER, BEFORE + "SELECT dashboard_fact_refresh_stale();" + STALE_DROP)]
