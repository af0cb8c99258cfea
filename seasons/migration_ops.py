"""Migration operations shared by the apps whose rows belong to a season (seminars, sequences …)."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models
from django.utils.translation import gettext_lazy as _


def season_field(*, null: bool) -> models.ForeignKey:
    return models.ForeignKey(
        db_default=None,
        null=null,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="seasons.season",
        verbose_name=_("年度"),
    )


def season_operations(*, model_name: str, table: str) -> list[migrations.operations.base.Operation]:
    """Add a required season to a table: existing rows join the default season; inserts without one too."""
    return [
        migrations.AddField(model_name=model_name, name="season", field=season_field(null=True)),
        migrations.RunSQL(
            f"UPDATE {table} SET season_id = season_default_id() WHERE season_id IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(model_name=model_name, name="season", field=season_field(null=False)),
        migrations.RunSQL(
            f"CREATE TRIGGER {table}_season_fill BEFORE INSERT ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION season_default_fill()",
            f"DROP TRIGGER IF EXISTS {table}_season_fill ON {table}",
        ),
    ]
