"""Import job-board CSV exports into a tenant from the command line (for automation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy
from django_tenants.utils import schema_context

from candidates.errors import ImportFileError
from candidates.services.audit import audit_record
from candidates.services.importing import entries_import_file
from tenants.models import Tenant


def tenant_by_slug(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(gettext("テナント「%(slug)s」が見つかりません。") % {"slug": slug})
    return tenant


class Command(BaseCommand):
    help = gettext_lazy("求人媒体のCSVを取り込みます（--json で結果をJSONで出力）。")  # type: ignore[assignment]  # argparse reads it as text when the command runs

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", required=True, help=gettext("テナントのスラッグ"))
        parser.add_argument(
            "--board", default="auto", help=gettext("auto | mynavi | rikunabi | 保存した列設定の名前")
        )
        parser.add_argument("--json", action="store_true", help=gettext("結果をJSONで標準出力へ"))
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        total: dict[str, Any] = {
            "created": 0,
            "merged": 0,
            "unchanged": 0,
            "possible_duplicates": 0,
            "refused": [],
        }
        files = []
        with schema_context(tenant.schema_name):
            for path in options["files"]:
                try:
                    with path.open("rb") as handle:
                        report = entries_import_file(fileobj=handle, board=options["board"])
                except FileNotFoundError:
                    raise CommandError(
                        gettext("ファイルが見つかりません: %(path)s") % {"path": path}
                    ) from None
                except ImportFileError as error:
                    raise CommandError(f"{path.name}: {error.message}") from None
                data = report.as_dict()
                files.append({"file": path.name, **data})
                for key in ("created", "merged", "unchanged", "possible_duplicates"):
                    total[key] += data[key]
                total["refused"].extend({"file": path.name, **item} for item in data["refused"])
                # i18n: data — the audit log's record
                audit_record(
                    user=None,
                    action="import",
                    student_count=report.created + report.merged,
                    target=f"コマンド: {path.name}",
                )
        if options["json"]:
            self.stdout.write(json.dumps({**total, "files": files}, ensure_ascii=False))
            return
        for item in files:
            self.stdout.write(
                gettext(
                    "%(file)s（%(board)s・%(encoding)s）: 新規 %(created)s / 統合 %(merged)s"
                    " / 変更なし %(unchanged)s / 重複候補 %(duplicates)s / 取込不可 %(refused)s"
                )
                % {
                    "file": item["file"],
                    "board": item["board_label"],
                    "encoding": item["encoding"],
                    "created": item["created"],
                    "merged": item["merged"],
                    "unchanged": item["unchanged"],
                    "duplicates": item["possible_duplicates"],
                    "refused": len(item["refused"]),
                }
            )
        for refused in total["refused"]:
            self.stdout.write(
                gettext("  %(file)s %(line)s行目 [%(column)s] %(reason)s")
                % {
                    "file": refused["file"],
                    "line": refused["line"],
                    "column": refused["column"],
                    "reason": refused["reason"],
                }
            )
