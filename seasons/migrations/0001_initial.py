"""Seasons, and the database's rule for "which season": a graduation year's season, else the default one."""

import django.db.models.functions.datetime
from django.db import migrations, models

# The one home of the rule: every insert without a season (imports, forms, other apps) goes through these.
SEASON_FUNCTIONS = """
CREATE OR REPLACE FUNCTION season_default_id() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    found_id bigint;
    japan timestamp := now() AT TIME ZONE 'Asia/Tokyo';
    year integer;
BEGIN
    SELECT id INTO found_id FROM seasons_season WHERE is_default;
    IF found_id IS NOT NULL THEN
        RETURN found_id;
    END IF;
    -- No default yet: the class most recruiting is for today (from October on, the class after next).
    year := extract(year FROM japan)::integer + CASE WHEN extract(month FROM japan) >= 10 THEN 2 ELSE 1 END;
    INSERT INTO seasons_season (graduation_year) VALUES (year) ON CONFLICT (graduation_year) DO NOTHING;
    UPDATE seasons_season SET is_default = true, is_archived = false
     WHERE graduation_year = year RETURNING id INTO found_id;
    RETURN found_id;
END $$;

CREATE OR REPLACE FUNCTION season_id_for_year(year integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    found_id bigint;
BEGIN
    IF year IS NULL OR year < 2000 OR year > 2100 THEN
        RETURN season_default_id();
    END IF;
    SELECT id INTO found_id FROM seasons_season WHERE graduation_year = year;
    IF found_id IS NULL THEN
        INSERT INTO seasons_season (graduation_year) VALUES (year) ON CONFLICT (graduation_year) DO NOTHING;
        SELECT id INTO found_id FROM seasons_season WHERE graduation_year = year;
    END IF;
    RETURN found_id;
END $$;

CREATE OR REPLACE FUNCTION season_default_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.season_id IS NULL THEN
        NEW.season_id := season_default_id();
    END IF;
    RETURN NEW;
END $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS season_default_fill();
DROP FUNCTION IF EXISTS season_id_for_year(integer);
DROP FUNCTION IF EXISTS season_default_id();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Season",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("graduation_year", models.PositiveSmallIntegerField(unique=True, verbose_name="卒業年")),
                ("label", models.CharField(blank=True, db_default="", max_length=40, verbose_name="表示名")),
                ("is_default", models.BooleanField(db_default=False, default=False, verbose_name="既定の年度")),
                (
                    "is_archived",
                    models.BooleanField(db_default=False, default=False, verbose_name="終了（一覧に出さない）"),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "ordering": ["-graduation_year"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_default", True)), fields=("is_default",), name="season_one_default"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("graduation_year__gte", 2000), ("graduation_year__lte", 2100)),
                        name="season_graduation_year_range",
                    ),
                ],
            },
        ),
        migrations.RunSQL(SEASON_FUNCTIONS, DROP_FUNCTIONS),
    ]
