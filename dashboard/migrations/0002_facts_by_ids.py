"""dashboard_fact_select reads the students it is given through their ids, so its cached plan stays an index
look-up: with `ids IS NULL OR c.id = ANY(ids)` the generic plan PostgreSQL settles on after five calls in a
session could not use the primary key and scanned every student on each refresh (a single booking included;
5,000 imported students took seconds; docs/performance.md)."""

from importlib import import_module

from django.db import migrations

FACTS = import_module("dashboard.migrations.0001_student_facts")
_start = FACTS.REFRESH.index("CREATE OR REPLACE FUNCTION dashboard_fact_select")
_end = FACTS.REFRESH.index("END $$;", _start) + len("END $$;")
BEFORE = FACTS.REFRESH[_start:_end]
ALL_STUDENTS = """FROM candidates_candidate c
WHERE (ids IS NULL OR c.id = ANY(ids)) AND c.merged_into_id IS NULL AND c.season_id IS NOT NULL;"""
BY_IDS = """FROM (SELECT DISTINCT unnest(coalesce(ids, ARRAY(SELECT id FROM candidates_candidate)))) AS wanted (id)
JOIN candidates_candidate c ON c.id = wanted.id
WHERE c.merged_into_id IS NULL AND c.season_id IS NOT NULL;"""
assert ALL_STUDENTS in BEFORE
# The same facts, computed the same way; only how the students are found changes.
AFTER = BEFORE.replace(ALL_STUDENTS, BY_IDS)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_student_facts")]

    operations = [migrations.RunSQL(AFTER, BEFORE)]
