"""Command line: import_entries --json and export_candidates (CSV neutralised, JSON)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from candidates.models import AuditEntry
from tests.candidates.conftest import SAMPLES


def command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_entries_json_report_and_export(acme, sample_ranks, truth):
    report = json.loads(
        command(
            "import_entries",
            "--tenant",
            "acme",
            "--json",
            str(SAMPLES / "mynavi.csv"),
            str(SAMPLES / "rikunabi.csv"),
        )
    )
    assert report["created"] == truth["expected_candidates"]
    assert report["merged"] > 0 and report["possible_duplicates"] >= 0
    assert [set(item) >= {"line", "column", "reason"} for item in report["refused"]] == [True, True]
    assert AuditEntry.objects.filter(action="import").count() == 2

    again = json.loads(
        command(
            "import_entries", "--tenant", "acme", "--board", "mynavi", "--json", str(SAMPLES / "mynavi.csv")
        )
    )
    assert (again["created"], again["merged"]) == (0, 0)

    text = command("export_candidates", "--tenant", "acme", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == truth["expected_candidates"]
    formula = truth["must_neutralise"][0]
    taro = next(row for row in rows if row["メールアドレス"] == formula["メールアドレス"])
    assert taro["姓"] == "'" + formula["漢字氏名（姓）"]
    assert "rikunabi:RKFORMULA1" in taro["媒体ID"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())

    records = json.loads(command("export_candidates", "--tenant", "acme", "--format", "json"))
    assert len(records) == truth["expected_candidates"]
    record = next(r for r in records if r["email"] == "student000057@example.ac.jp")
    assert {e["board"] for e in record["entries"]} == {"mynavi", "rikunabi"}
    assert record["university_raw"] == "東京大" and record["university"] == "東京大学"
    assert record["rank"] == "A" and record["rank_is_manual"] is False
    assert AuditEntry.objects.filter(action="export").count() == 2
    exported = sorted(record["id"] for record in records)
    assert [entry.candidate_ids for entry in AuditEntry.objects.filter(action="export")] == [
        exported,
        exported,
    ]


def test_import_entries_human_output_and_errors(acme, tmp_path):
    out = command("import_entries", "--tenant", "acme", str(SAMPLES / "mynavi.csv"))
    assert "マイナビ" in out and "30行目" in out
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"")
    with pytest.raises(CommandError, match="空"):
        command("import_entries", "--tenant", "acme", str(bad))
    with pytest.raises(CommandError, match="見つかりません"):
        command("import_entries", "--tenant", "nosuch", str(bad))
