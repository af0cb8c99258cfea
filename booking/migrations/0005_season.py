"""Seminars and interview types belong to a season; seminars can be 内定者フォロー events."""

from django.db import migrations, models

from seasons.migration_ops import season_operations


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0004_waiting_room"),
        ("candidates", "0009_candidate_season"),
        ("seasons", "0001_initial"),
    ]

    operations = [
        *season_operations(model_name="seminar", table="booking_seminar"),
        *season_operations(model_name="interviewtype", table="booking_interviewtype"),
        migrations.AddField(
            model_name="seminar",
            name="for_offer_holders",
            field=models.BooleanField(default=False, verbose_name="内定者向け（内定者フォロー）"),
        ),
    ]
