"""Every student belongs to a season: their graduation year's (made when missing), else the default season."""

import django.db.models.deletion
from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION candidate_season_pick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.season_id IS NULL THEN
            NEW.season_id := season_id_for_year(NEW.graduation_year);
        END IF;
    ELSIF NEW.graduation_year IS DISTINCT FROM OLD.graduation_year AND NEW.graduation_year IS NOT NULL
          AND NEW.season_id IS NOT DISTINCT FROM OLD.season_id THEN
        -- A corrected graduation year moves the student, unless the same statement moved them to another season.
        NEW.season_id := season_id_for_year(NEW.graduation_year);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER candidate_season_pick BEFORE INSERT OR UPDATE OF graduation_year ON candidates_candidate
    FOR EACH ROW EXECUTE FUNCTION candidate_season_pick();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS candidate_season_pick ON candidates_candidate;
DROP FUNCTION IF EXISTS candidate_season_pick();
"""

FILL = """
-- The default season of an existing company: its students' most common graduation year, if it has students.
UPDATE seasons_season SET is_default = true
 WHERE NOT EXISTS (SELECT 1 FROM seasons_season WHERE is_default)
   AND graduation_year = (
       SELECT graduation_year FROM candidates_candidate
        WHERE graduation_year BETWEEN 2000 AND 2100 AND merged_into_id IS NULL
        GROUP BY graduation_year ORDER BY count(*) DESC, graduation_year DESC LIMIT 1
   );
INSERT INTO seasons_season (graduation_year, is_default)
SELECT graduation_year, NOT EXISTS (SELECT 1 FROM seasons_season WHERE is_default) AND rn = 1
  FROM (
      SELECT graduation_year, row_number() OVER (ORDER BY count(*) DESC, graduation_year DESC) AS rn
        FROM candidates_candidate
       WHERE graduation_year BETWEEN 2000 AND 2100 AND merged_into_id IS NULL
       GROUP BY graduation_year
  ) years
ON CONFLICT (graduation_year) DO NOTHING;
SELECT season_default_id();
UPDATE candidates_candidate SET season_id = season_id_for_year(graduation_year) WHERE season_id IS NULL;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("candidates", "0008_retention_policy"),
        ("seasons", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="candidate",
            name="season",
            field=models.ForeignKey(
                db_default=None,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="seasons.season",
                verbose_name="年度",
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="candidate",
            name="season",
            field=models.ForeignKey(
                db_default=None,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="seasons.season",
                verbose_name="年度",
            ),
        ),
        migrations.AddIndex(
            model_name="candidate",
            index=models.Index(fields=["season", "id"], name="candidate_season_id"),
        ),
        migrations.RunSQL(TRIGGER, DROP_TRIGGER),
    ]
