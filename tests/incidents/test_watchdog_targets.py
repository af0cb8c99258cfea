"""What the docs promise of the watchdog and the incident settings: the current company admins are mailed, a
separate rush Redis is probed, and the two incident timings are read from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from incidents.models import Incident
from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import RushRedisProbe, default_probes
from saas.processes import ROOT
from tenants.models import Tenant


class DownProbe:
    """The queue's Redis, down: told straight from the watchdog (support in To, admins in Bcc)."""

    name = "redis"

    def check(self) -> None:
        raise RuntimeError("down")


@pytest.mark.django_db
def test_the_watchdog_mails_the_companys_admins_of_today(tenants, mailoutbox):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        current = User.objects.create_user(
            username="now-admin@acme.example.jp", email="now-admin@acme.example.jp"
        )
        User.objects.filter(pk=current.pk).update(role=Role.ADMIN)
        gone = User.objects.create_user(username="gone@acme.example.jp", email="gone@acme.example.jp")
        User.objects.filter(pk=gone.pk).update(role=Role.ADMIN, is_active=False)
        plain = User.objects.create_user(username="plain@acme.example.jp", email="plain@acme.example.jp")
        User.objects.filter(pk=plain.pk).update(role=Role.RECRUITER)
    # The address given when the company was created has left the company since.
    Tenant.objects.filter(pk=acme.tenant.pk).update(admin_email="left-long-ago@acme.example.jp")
    try:
        watchdog = Watchdog(probes=[DownProbe()], config=Config(fail_after=1))
        watchdog.tick()
        [mail] = list(mailoutbox)
        assert "now-admin@acme.example.jp" in mail.bcc and acme.admin_email in mail.bcc
        assert "gone@acme.example.jp" not in mail.bcc and "plain@acme.example.jp" not in mail.bcc
        assert "left-long-ago@acme.example.jp" not in mail.bcc
    finally:
        Tenant.objects.filter(pk=acme.tenant.pk).update(admin_email=acme.admin_email)
        Incident.objects.filter(detection_key="watchdog:redis").delete()


def test_a_separate_rush_redis_is_probed(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.RUSH_REDIS_URL = "redis://127.0.0.1:6379/4"  # the same server: its probe covers both
    assert not any(isinstance(probe, RushRedisProbe) for probe in default_probes())
    settings.RUSH_REDIS_URL = "redis://rush.internal:6380/0"
    [rush] = [probe for probe in default_probes() if isinstance(probe, RushRedisProbe)]
    assert rush.name == "rush_redis"
    assert rush.client.connection_pool.connection_kwargs["host"] == "rush.internal"


def test_incident_timings_are_read_from_the_environment():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.INCIDENT_ACK_ESCALATE_MINUTES, s.INCIDENT_MAINTENANCE_REMINDER_HOURS]))"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="saas.settings",
        INCIDENT_ACK_ESCALATE_MINUTES="12",
        INCIDENT_MAINTENANCE_REMINDER_HOURS="48",
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [12, 48]
