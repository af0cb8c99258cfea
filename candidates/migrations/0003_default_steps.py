"""Default selection steps and rank settings for every tenant schema."""

from django.db import migrations

DEFAULT_STEPS = [
    ("entry", "エントリー"),
    ("seminar", "説明会"),
    ("interview", "面接"),
    ("offer", "内定"),
    ("accepted", "内定承諾"),
    ("declined", "辞退"),
]


def forwards(apps, schema_editor):
    SelectionStep = apps.get_model("candidates", "SelectionStep")
    RankSettings = apps.get_model("candidates", "RankSettings")
    for position, (key, label) in enumerate(DEFAULT_STEPS):
        SelectionStep.objects.get_or_create(key=key, defaults={"label": label, "position": position})
    if not RankSettings.objects.exists():
        RankSettings.objects.create(default_rank="Z")


class Migration(migrations.Migration):
    dependencies = [("candidates", "0002_import_dedupe_ranks")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
