"""Export a tenant's candidates as CSV (formulas neutralised) or JSON on stdout."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy
from django_tenants.utils import schema_context

from candidates.management.commands.import_entries import tenant_by_slug
from candidates.models import Candidate
from candidates.selectors import candidate_export_records
from candidates.services.audit import audit_record
from candidates.services.exporting import csv_lines


class Command(BaseCommand):
    help = gettext_lazy("候補者を CSV または JSON で標準出力へ書き出します。")  # type: ignore[assignment]  # argparse reads it as text when the command runs

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        with schema_context(tenant.schema_name):
            queryset = Candidate.objects.filter(merged_into=None).order_by("id")
            exported_ids: list[int] = []

            def recorded(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                for row in rows:
                    exported_ids.append(row["id"])
                    yield row

            records = recorded(candidate_export_records(queryset=queryset))
            count = 0
            if options["format"] == "json":
                self.stdout.write("[", ending="")
                for index, record in enumerate(records):
                    self.stdout.write(
                        ("," if index else "") + json.dumps(record, ensure_ascii=False), ending="\n"
                    )
                    count += 1
                self.stdout.write("]")
            else:
                for line in csv_lines(records=records):
                    self.stdout.write(line, ending="")
                    count += 1
                count = max(count - 1, 0)
            # i18n: data — the audit log's record
            audit_record(
                user=None,
                action="export",
                student_count=count,
                target=f"コマンド: {options['format']}",
                candidate_ids=exported_ids,
            )
