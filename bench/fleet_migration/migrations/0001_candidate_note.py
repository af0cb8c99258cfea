"""The benchmark's real migration: a column and an index on the candidates table (bench/fleet.py)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("candidates", "0009_candidate_season")]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE candidates_candidate ADD COLUMN IF NOT EXISTS bench_fleet_note text",
                "CREATE INDEX IF NOT EXISTS bench_fleet_note_idx ON candidates_candidate (bench_fleet_note)",
            ],
            reverse_sql=["ALTER TABLE candidates_candidate DROP COLUMN IF EXISTS bench_fleet_note"],
        )
    ]
