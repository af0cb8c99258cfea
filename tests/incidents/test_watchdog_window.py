"""The watchdog's confirmation window with real probes against a real HTTP server: slow once is no incident,
down for the window is one, and a quiet window resolves it with a post saying so."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import translation
from django.utils.translation import gettext

from incidents.models import Incident, State
from incidents.watchdog.monitor import Config, Watchdog
from incidents.watchdog.probes import WebProbe

SLOW_SECONDS = 1.0  # a probe slower than this fails (the machine may be loaded: not too tight)


@dataclass
class Behaviour:
    """What the server does next: answer slowly this many times, answer 503 (to all, or to these hosts)."""

    slow: int = 0
    down: bool = False
    down_hosts: set[str] = field(default_factory=set)
    requests: int = 0


@dataclass
class HealthServer:
    url: str
    behaviour: Behaviour


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            behaviour.requests += 1
            if behaviour.slow > 0:
                behaviour.slow -= 1
                time.sleep(SLOW_SECONDS * 1.5)
            host = (self.headers.get("Host") or "").split(":")[0]
            down = behaviour.down or host in behaviour.down_hosts
            self.send_response(503 if down else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": false}' if down else b'{"ok": true}')

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HealthServer(f"http://127.0.0.1:{server.server_address[1]}/healthz", behaviour)
    server.shutdown()
    server.server_close()


def _rounds(watchdog: Watchdog, count: int, *, interval: float = 0.05) -> list[str]:
    kinds = []
    for _ in range(count):
        kinds += [action.kind for action in watchdog.tick()]
        time.sleep(interval)
    return kinds


CONFIG = Config(
    interval=0.05, fail_after=3, fail_ratio=0.5, window_seconds=3.0, recover_after=2, stable_seconds=0.6
)


@pytest.mark.django_db
def test_a_server_slow_once_opens_nothing_and_down_for_the_window_opens_and_resolves(
    tenants, mailoutbox, health_server
):
    probe = WebProbe(health_server.url, "localhost", slow_seconds=SLOW_SECONDS)
    watchdog = Watchdog(probes=[probe], config=CONFIG)
    assert _rounds(watchdog, 3) == []
    health_server.behaviour.slow = 1  # one health check times out under load
    assert _rounds(watchdog, 12) == []
    assert watchdog.states["web"].last_error == "RuntimeError"  # the slow probe did fail...
    assert not Incident.objects.filter(detection_key="watchdog:web").exists()  # ...and opened nothing
    assert mailoutbox == []

    health_server.behaviour.down = True
    failed_rounds, started = 0, time.monotonic()
    while not _rounds(watchdog, 1):
        failed_rounds += 1
        assert time.monotonic() - started < CONFIG.window_seconds * 2
    # Confirmed once the failures are at least three and half the window's probes (the good ones before the
    # outage count against them): never on the first failure.
    failures, probes = (
        sum(bad for _at, bad in watchdog.states["web"].window),
        len(watchdog.states["web"].window),
    )
    assert failed_rounds >= 2 and failures >= 3 and failures >= probes / 2
    incident = Incident.objects.get(detection_key="watchdog:web")
    assert incident.state == State.INVESTIGATING and incident.scope == "all"
    assert _rounds(watchdog, 5) == []  # still down: nothing more

    health_server.behaviour.down = False
    assert _rounds(watchdog, 2) == ["monitoring"]
    started = time.monotonic()
    kinds = []
    while "resolved" not in kinds and time.monotonic() - started < 5:
        kinds += _rounds(watchdog, 1)
    assert kinds[-1:] == ["resolved"] and time.monotonic() - started >= CONFIG.stable_seconds
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    posts = [update.message_ja for update in incident.updates.order_by("created_at", "id")]
    assert "検知しました" in posts[0] and "経過を観察" in posts[1] and "本件は解決しました" in posts[2]
    # Written in both languages at once (Japanese the source, English from the catalogue).
    with translation.override("en"):
        title_en = gettext("Web 画面の応答遅延・エラー")
    assert incident.title == "Web 画面の応答遅延・エラー" and title_en != incident.title
    assert incident.title_en == title_en
    english = [update.message_en for update in incident.updates.order_by("created_at", "id")]
    assert english[0].startswith(f"{title_en} detected (")
    assert "This incident is resolved." in english[2]


@pytest.mark.django_db
def test_a_failure_while_monitored_starts_the_quiet_window_again(tenants, health_server):
    config = Config(
        interval=0.05, fail_after=3, fail_ratio=0.5, window_seconds=1.0, recover_after=2, stable_seconds=2.5
    )
    probe = WebProbe(health_server.url, "localhost", slow_seconds=SLOW_SECONDS)
    watchdog = Watchdog(probes=[probe], config=config)
    health_server.behaviour.down = True
    assert _rounds(watchdog, 3) == ["open"]
    health_server.behaviour.down = False
    assert _rounds(watchdog, 2) == ["monitoring"]
    monitored = time.monotonic()
    time.sleep(config.window_seconds + 0.1)  # the outage's failures have left the window
    health_server.behaviour.slow = 1  # one slow probe while monitored: no relapse, but not quiet either
    assert _rounds(watchdog, 1) == []
    assert watchdog.states["web"].phase == "monitoring"
    assert time.monotonic() - monitored > config.stable_seconds
    assert _rounds(watchdog, 1) == []  # quiet since the monitoring began, not since the slow probe
    time.sleep(config.stable_seconds)
    assert _rounds(watchdog, 1) == ["resolved"]
