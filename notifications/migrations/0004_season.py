"""Step-mail sequences and segment mails belong to a season."""

from django.db import migrations

from seasons.migration_ops import season_operations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_default_templates"),
        ("candidates", "0009_candidate_season"),
        ("seasons", "0001_initial"),
    ]

    operations = [
        *season_operations(model_name="sequence", table="notifications_sequence"),
        *season_operations(model_name="segmentmail", table="notifications_segmentmail"),
    ]
