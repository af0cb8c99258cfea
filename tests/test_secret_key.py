"""Without SECRET_KEY (demo, tests, benchmarks) each installation gets a random key of its own, never a known one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.core import signing

from tests.conftest import ROOT

# The string every demo and benchmark deployment used to sign with.
PUBLIC_KEY = "insecure-development-key-" + "x" * 40


def _key_of_a_fresh_process(data_dir: Path) -> str:
    """SECRET_KEY as a new process sees it with DEBUG on, no SECRET_KEY, and this data folder."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    # Service URLs given, so settings start no embedded server in the empty folder.
    env.update(
        {
            "DEBUG": "1",
            "SAAS_DATA_DIR": str(data_dir),
            "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
            "REDIS_URL": "redis://127.0.0.1:9/0",
            "DJANGO_SETTINGS_MODULE": "saas.settings",
        }
    )
    env.pop("SAAS_TESTING", None)
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_each_installation_gets_its_own_random_key_and_keeps_it(tmp_path: Path):
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    key = _key_of_a_fresh_process(first_dir)
    assert key != PUBLIC_KEY and "insecure" not in key and len(key) >= 50
    # Kept: a restart (or the worker next to the web process) signs with the same key.
    assert _key_of_a_fresh_process(first_dir) == key
    assert stat.S_IMODE((first_dir / "secret_key").stat().st_mode) == 0o600
    # Another installation has another key.
    assert _key_of_a_fresh_process(second_dir) != key


def test_processes_starting_together_agree_on_one_key(tmp_path: Path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        keys = set(pool.map(lambda _: _key_of_a_fresh_process(tmp_path), range(4)))
    assert len(keys) == 1


def test_a_pass_forged_with_the_public_development_key_is_refused(settings):
    """What an attacker who read the source would try against a demo: sign their own rush pass."""
    from booking.rush.passes import student_pass_read

    assert settings.SECRET_KEY != PUBLIC_KEY
    forged = signing.TimestampSigner(key=PUBLIC_KEY, salt="booking.rush.student:t_acme").sign(
        f"1.A.{int(time.time())}"
    )
    assert student_pass_read(schema="t_acme", value=forged) is None
