"""The demo's SMTP sink: `manage.py smtp_sink` stores mails; /demo/mail/ lists them with clickable links."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from accounts.models import User
from tests.conftest import ROOT, free_port, stop_process, wait_for_port
from tests.incidents.conftest import staff_signed_in

pytestmark = pytest.mark.django_db


def test_smtp_sink_command_stores_mail_and_demo_page_shows_it(
    tmp_path, monkeypatch, settings, client, tenants
):
    port = free_port()
    env = dict(os.environ, SMTP_SINK_DIR=str(tmp_path), SAAS_TESTING="1", PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "smtp_sink", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        message = EmailMessage()
        message["From"] = "no-reply@localhost"
        message["To"] = "taro@example.jp"
        message["Subject"] = "マイページのご案内"
        message.set_content("こちらから: http://acme.localhost:8000/mypage/abc?x=1&y=<2>\n")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
        deadline = time.monotonic() + 5
        while not list(tmp_path.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_process(process)
    assert len(list(tmp_path.glob("*.eml"))) == 1

    monkeypatch.setenv("SMTP_SINK_DIR", str(tmp_path))
    settings.DEMO = True
    staff_client = staff_signed_in(
        User.objects.create_user(username="sink-ops@example.jp", email="sink-ops@example.jp", is_staff=True)
    )
    # The mails hold working sign-in links: anonymous visitors are sent to the support sign-in.
    anonymous = client.get("/demo/mail/", HTTP_HOST="localhost")
    assert anonymous.status_code == 302 and "/support/login/" in anonymous["Location"]
    response = staff_client.get("/demo/mail/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "マイページのご案内" in page
    assert '<a href="http://acme.localhost:8000/mypage/abc?x=1&amp;y=">' in page
    assert "&lt;2&gt;" in page  # mail content is escaped, never markup

    settings.DEMO = False
    assert staff_client.get("/demo/mail/").status_code == 404
    # Not reachable on a company's host.
    settings.DEMO = True
    assert client.get("/demo/mail/", HTTP_HOST=tenants["acme"].host).status_code == 404


def test_make_demo_runs_like_production():
    """`make demo` sets DEMO, never DEBUG: no URL patterns on a 404, the real error pages."""
    recipe = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    honcho = next(line for line in recipe if "honcho" in line)
    assert "DEMO=1" in honcho and "DEBUG" not in "\n".join(recipe)
    assignments = dict(
        word.split("=", 1) for word in honcho.split() if "=" in word and "/" not in word.split("=")[0]
    )
    env = {
        key: value for key, value in os.environ.items() if key not in ("DEBUG", "SAAS_TESTING", "SECRET_KEY")
    }
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.DEMO, len(settings.SECRET_KEY) >= 50)",
        ],
        cwd=ROOT,
        env={**env, **assignments, "DJANGO_SETTINGS_MODULE": "saas.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["False", "True", "True"]
