"""docs/api.md is honest: its curl examples run as written (bash + curl) against a live server with a token made on
the tokens page, each answers the status the docs give, each call is in the audit log, and every operation of the
OpenAPI document has an example there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.services import tenant_delete
from tests.conftest import _ensure_tenant
from tests.factories import CandidateFactory, SeminarFactory, UserFactory

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECTION = "## Every operation, with curl"
EXPECTED = re.compile(r"→\s*(\d{3})\s*$")
URL = re.compile(r"\$SAIYO_API(/[^\s\"'?]*)")


@dataclass(frozen=True)
class Example:
    command: str  # one logical line, continuations joined
    status: int
    method: str
    path: str  # after /api/v1


def _logical_lines(block: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in block.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    return lines


def _method(command: str) -> str:
    explicit = re.search(r"-X\s+([A-Z]+)", command)
    if explicit:
        return explicit.group(1)
    return "POST" if re.search(r"\s-(d|F)\s", command) else "GET"


def docs_examples() -> tuple[str, list[Example], list[Example]]:
    """The section's `sh` blocks as one script (setup lines left out), their curl calls with their statuses, and
    the calls of `shell` blocks (listed, not run)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", 1)]
    script: list[str] = []
    examples: list[Example] = []
    listed: list[Example] = []
    expected: int | None = None
    for kind, block in re.findall(r"```(sh|shell)\n(.*?)```", section, re.DOTALL):
        for line in _logical_lines(block):
            stripped = line.strip()
            if stripped.startswith("export "):
                continue  # the test exports its own server and token
            if stripped.startswith("#"):
                found = EXPECTED.search(stripped)
                expected = int(found.group(1)) if found else expected
                continue
            if stripped.startswith("curl "):
                assert expected is not None, f"no documented status before: {stripped[:80]}"
                url = URL.search(stripped)
                assert url, stripped
                example = Example(
                    command=stripped, status=expected, method=_method(stripped), path=url.group(1)
                )
                expected = None
                if kind == "shell":  # listed, not run (the docs say why)
                    listed.append(example)
                    continue
                examples.append(example)
                # Only the status goes to stdout: one line per documented call, in order.
                stripped = "curl -s -o /dev/null -w '%{http_code}\\n' " + stripped[len("curl ") :]
            script.append(stripped)
    return "\n".join(script), examples, listed


def _next_id(model, value: int) -> None:
    """The next row of `model` gets id `value` (the ids the docs name)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [model._meta.db_table, value - 1]
        )


def _seed() -> None:
    """What the docs' calls name: candidate #42, seminar #3 with slot #7, interview #2; created ones get the
    ids the docs use next (booking #15, interview booking #8, segment mail #5)."""
    from booking.models import Booking, InterviewBooking, InterviewType, Seminar, Slot
    from booking.services.interviews import availability_add, interview_type_create
    from candidates.models import Candidate
    from notifications.models import SegmentMail
    from seasons.selectors import season_default

    _next_id(Candidate, 42)
    CandidateFactory(rank="A", status="entry", university_raw="東京大学", email="docs-42@example.jp")
    _next_id(Seminar, 3)
    _next_id(Slot, 7)
    SeminarFactory(quotas={"A": 5}, capacity=5)
    _next_id(InterviewType, 2)
    interviewer = UserFactory(email="docs-interviewer@example.jp", role="recruiter")
    kind = interview_type_create(
        name="一次面接", step="interview", interviewers=[interviewer], season=season_default()
    )
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    availability_add(interviewer=interviewer, starts_at=start, ends_at=start + timedelta(hours=2))
    assert kind.pk == 2
    _next_id(Booking, 15)
    _next_id(InterviewBooking, 8)
    _next_id(SegmentMail, 5)


def _token_from_the_settings_page(host: str, admin_email: str) -> str:
    from accounts.models import User
    from api.models import COMPANY_SCOPES

    client = Client(HTTP_HOST=host)
    client.force_login(User.objects.get(email=admin_email))
    page = client.post(
        "/settings/api-tokens/",
        {
            "action": "create",
            "name": "ドキュメントの例",
            "days": "1",
            "scopes": [str(s) for s in COMPANY_SCOPES],
        },
    )
    assert page.status_code == 200
    return str(page.context["created_secret"])


def test_the_docs_curl_examples_answer_as_documented_and_are_audited(
    live_server_daphne, django_db_blocker, tmp_path
):
    assert shutil.which("curl"), "the docs' examples are curl commands"
    script, examples, listed = docs_examples()
    assert len(examples) >= 20
    with django_db_blocker.unblock():
        company = _ensure_tenant("apidocs", "API文書")
        try:
            with schema_context(company.schema):
                _seed()
                secret = _token_from_the_settings_page(company.host, company.admin_email)
            port = live_server_daphne.port
            environment = {
                **os.environ,
                "SAIYO_API": f"http://{company.host}:{port}/api/v1",
                "SAIYO_TOKEN": secret,
                # curl would otherwise ask the resolver for the company's host name.
                "CURL_HOME": str(tmp_path),
            }
            (tmp_path / ".curlrc").write_text(f'resolve = "{company.host}:{port}:127.0.0.1"\n')
            ran = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert ran.returncode == 0, ran.stderr
            statuses = [int(line) for line in ran.stdout.split()]
            documented = [(example.method, example.path, example.status) for example in examples]
            answered = [
                (example.method, example.path, status)
                for example, status in zip(examples, statuses, strict=True)
            ]
            assert answered == documented
            # Every call is in the company's audit log, as the pages' are.
            with schema_context(company.schema):
                from api.models import ApiToken
                from candidates.models import AuditEntry

                prefix = ApiToken.objects.get(name="ドキュメントの例").prefix
                targets = list(
                    AuditEntry.objects.filter(target__startswith=f"API {prefix}").values_list(
                        "target", flat=True
                    )
                )
            for method, path, status in documented:
                assert f"API {prefix}… {method} /api/v1{path} {status}" in targets, (method, path, status)
            # Every operation of the OpenAPI document has an example in the docs.
            document = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/openapi.json", headers={"Host": f"{company.host}:{port}"}
            ).json()
            shown = {(example.method, example.path) for example in examples + listed}
            for path, operations in document["paths"].items():
                pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path.removeprefix("/api/v1")) + "$")
                for method in operations:
                    assert any(m == method.upper() and pattern.match(p) for m, p in shown), (method, path)
        finally:
            tenant_delete(tenant=company.tenant, confirm_slug="apidocs", export_directory=tmp_path / "export")
