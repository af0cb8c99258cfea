"""The architecture's promises, checked by tools: import contracts (import-linter) and tenant context.

`make lint` runs the same contracts (pyproject.toml [tool.importlinter]); these tests show that they fail
on the imports they forbid, so a contract cannot quietly stop guarding anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from saas.processes import ROOT

# The packages the contracts know (a new app joins by being named in pyproject.toml's root_packages).
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the apps and the contracts, to add a forbidden import to."""
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "migrations")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold_on_this_tree(tree):
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("tenants/_probe.py", "import incidents.models", "Apps are layered"),
        ("accounts/_probe.py", "from booking import errors", "Apps are layered"),
        ("notifications/_probe.py", "import booking.services.mypage", "Apps are layered"),
        ("booking/_probe.py", "from incidents import selectors", "Apps are layered"),
        ("booking/_probe.py", "import selection.models", "Apps are layered"),
        ("selection/_probe.py", "from api import services", "Apps are layered"),
        ("selection/_probe.py", "import dashboard.selectors", "Apps are layered"),
        ("api/_probe.py", "from dashboard import tables", "Apps are layered"),
        ("booking/services/_probe.py", "from booking.views import mypage", "never import views"),
        ("candidates/_probe.py", "import saas.urls_tenants", "never import the project's wiring"),
        ("booking/rush/decide.py", "from django.db import connection", "decision does no I/O"),
        ("booking/rush/decide.py", "import redis", "decision does no I/O"),
        ("booking/rules.py", "from booking.rush import state", "rules know nothing"),
        ("booking/rush/persist.py", "from booking.rush.answers import answer", "last step answers"),
    ],
)
def test_an_upward_import_breaks_a_contract(tree, module, line, contract):
    """A probe module with the import (or the import added to an existing module, then taken out)."""
    probe = tree / module
    before = probe.read_text() if probe.exists() else None
    probe.write_text((before or '"""Probe."""\n') + f"\n{line}\n")
    try:
        result = _lint_imports(tree)
    finally:
        if before is None:
            probe.unlink()
        else:
            probe.write_text(before)
    assert result.returncode != 0
    broken = result.stdout[result.stdout.index("Contracts:") :]
    assert "1 broken" in broken
    assert re.search(rf"{re.escape(contract)}.*BROKEN", result.stdout.replace("\n", " "))


def test_only_tenants_sets_the_connections_tenant_by_hand():
    """Entering a company is schema_context(...); bare set_tenant/set_schema stay inside tenants/."""
    bare = re.compile(r"connection\.(set_tenant|set_schema)\(")
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        if package != "tenants"
        for path in (ROOT / package).rglob("*.py")
        if bare.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_company_loop_goes_through_the_tenant_helpers():
    """'Every company' is tenants.selectors.tenant_all(); nobody writes the query by hand."""
    by_hand = re.compile(r"Tenant\.objects\.exclude\(schema_name=get_public_schema_name\(\)\)")
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if by_hand.search(path.read_text(encoding="utf-8")) and path != ROOT / "tenants" / "selectors.py"
    ]
    assert offenders == []


def test_every_periodic_task_is_in_the_one_beat_schedule():
    from saas.celery import BEAT_SCHEDULE, app

    app.loader.import_default_modules()
    assert app.conf.beat_schedule is BEAT_SCHEDULE
    registered = set(app.tasks)
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= registered
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "beat_schedule" in path.read_text(encoding="utf-8") and path != ROOT / "saas" / "celery.py"
    ]
    assert offenders == []


def test_no_step_before_the_answer_builds_http():
    """Outcomes, not responses, until booking/rush/answers.py (import-linter cannot name django.http)."""
    steps = [
        "booking/rush/decide.py",
        "booking/rush/outcomes.py",
        "booking/rush/persist.py",
        "booking/seats.py",
    ]
    steps += [str(p.relative_to(ROOT)) for p in (ROOT / "booking" / "services").glob("*.py")]
    offenders = [step for step in steps if "django.http" in (ROOT / step).read_text(encoding="utf-8")]
    assert offenders == []
