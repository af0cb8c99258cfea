"""The demo's SMTP sink: `manage.py smtp_sink` stores mails; /demo/mail/ lists them with clickable links."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from tests.conftest import ROOT, free_port, stop_process, wait_for_port

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
    settings.DEBUG = True
    response = client.get("/demo/mail/", HTTP_HOST="localhost")
    page = response.content.decode()
    assert response.status_code == 200
    assert "マイページのご案内" in page
    assert '<a href="http://acme.localhost:8000/mypage/abc?x=1&amp;y=">' in page
    assert "&lt;2&gt;" in page  # mail content is escaped, never markup

    settings.DEBUG = False
    assert client.get("/demo/mail/", HTTP_HOST="localhost").status_code == 404
    # Not reachable on a company's host.
    settings.DEBUG = True
    assert client.get("/demo/mail/", HTTP_HOST=tenants["acme"].host).status_code == 404
