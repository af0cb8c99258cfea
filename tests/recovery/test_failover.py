"""A primary killed (SIGKILL) under a booking load: the watchdog promotes the synchronous standby, the app
reconnects to it by itself (libpq multi-host, read-write session), and no booking answered "booked" is lost."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import psutil
import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from booking.models import Seminar
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from incidents.models import Incident, State
from recovery import postgres
from recovery.errors import RecoveryError
from recovery.failover import FailoverController
from recovery.standby import role_of, standby_create, standby_promote
from saas.processes import child_env, daphne_start, process_stop, redis_start
from tests.booking.conftest import candidate_make, seminar_make

STUDENTS = 12
SEMINARS = 12


def _primary_copy(folder, dbname: str) -> postgres.Cluster:
    """A primary of its own: a physical copy of the test server (test companies and all), started on a port."""
    source = postgres.application_server()
    postgres.run(
        [
            postgres.binary("pg_basebackup"),
            f"--dbname={source.conninfo()}",
            f"--pgdata={folder}",
            "--wal-method=stream",
            "--checkpoint=fast",
        ],
        env=source.env(),
    )
    cluster = postgres.Cluster(pgdata=folder, port=postgres.free_port())
    cluster.configure(synchronous_standby_names="", wal_sender_timeout="5s", summarize_wal="off")
    postgres.hand_to_server_user(folder)
    cluster.start()
    return cluster


def _kill(cluster: postgres.Cluster) -> None:
    """SIGKILL the postmaster and every backend: a crash, not a shutdown."""
    parent = psutil.Process(cluster.pid())
    for process in [parent, *parent.children(recursive=True)]:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Student(threading.Thread):
    def __init__(self, port: int, host: str, token: str, slots: list[int], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.host, self.token, self.slots, self.stop = port, host, token, slots, stop
        self.confirmed: list[tuple[int, float]] = []  # (booking id, when answered)
        self.failed = 0

    def run(self) -> None:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"Host": f"{self.host}:{self.port}"}, timeout=15
        )
        while not self.stop.is_set():
            try:
                client.get(f"/my/login/{self.token}/")
                csrf = client.cookies["csrftoken"]
                login = client.post(f"/my/login/{self.token}/", data={"csrfmiddlewaretoken": csrf})
                if login.status_code == 302:
                    break
            except (httpx.HTTPError, KeyError):
                pass
            time.sleep(0.2)
        for slot in self.slots:
            while not self.stop.is_set():
                try:
                    response = client.post(
                        "/my/book/",
                        data={"slot": slot, "csrfmiddlewaretoken": csrf},
                        headers={"Accept": "application/json"},
                    )
                except httpx.HTTPError:
                    response = None
                if (
                    response is not None
                    and response.status_code == 200
                    and response.json().get("code") == "booked"
                ):
                    self.confirmed.append((int(response.json()["booking"]), time.monotonic()))
                    break
                if response is not None and response.status_code < 500:
                    break  # a definite answer other than "booked" (e.g. already booked after a lost reply)
                self.failed += 1
                time.sleep(0.2)
        client.close()


def test_a_killed_primary_loses_no_confirmed_booking(tenants, committed, scratch):
    acme = tenants["acme"]
    dbname = connection.settings_dict["NAME"]
    with schema_context(acme.schema):
        seminars = [seminar_make(title=f"切替テスト{i}", capacity=STUDENTS) for i in range(SEMINARS)]
        slots = [seminar.slots.get().pk for seminar in seminars]
        students = [candidate_make(rank="A") for _ in range(STUDENTS)]
        tokens = [mypage_token_create(candidate=student) for student in students]
    primary = _primary_copy(scratch / "primary", dbname)
    standby = None
    redis_port, redis_server = redis_start()
    server = None
    try:
        standby = standby_create(
            primary=primary.server, pgdata=scratch / "standby", port=postgres.free_port()
        )
        database_url = (
            f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/{dbname}"
            "?target_session_attrs=read-write"
        )
        env = child_env(database_url=database_url, redis_url=f"redis://127.0.0.1:{redis_port}/0")
        port, server = daphne_start(
            env=env, log=settings.BASE_DIR / ".data" / "test-logs" / "failover-daphne.log"
        )
        controller = FailoverController(
            primary=primary.server, standby=standby.server, promote_after=2.0, primary_pgdata=primary.pgdata
        )
        stop = threading.Event()
        load = [Student(port, acme.host, token, slots, stop) for token in tokens]
        for student in load:
            student.start()
        started = time.monotonic()
        while sum(len(student.confirmed) for student in load) < STUDENTS and time.monotonic() - started < 60:
            time.sleep(0.1)
        booked_before_kill = sum(len(student.confirmed) for student in load)
        # Never while the primary lives: refused by hand, and a watchdog cut off from the primary (here: told a
        # wrong address for it) still sees the standby streaming from it and does nothing.
        with pytest.raises(RecoveryError, match="応答しています"):
            standby_promote(standby=standby.server, primary=primary.server)
        cut_off = FailoverController(
            primary=postgres.Server(host="127.0.0.1", port=postgres.free_port()),
            standby=standby.server,
            promote_after=0.0,
            notify=False,
        )
        assert [cut_off.tick(), cut_off.tick(), controller.tick()] == [None, None, None]
        assert role_of(standby.server).receiving and role_of(primary.server).primary
        killed_at = time.monotonic()
        _kill(primary)
        outcome = None
        while time.monotonic() - killed_at < 60 and outcome != "resumed":
            outcome = controller.tick() or outcome
            time.sleep(0.25)
        assert outcome == "resumed", controller.events
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(student.is_alive() for student in load):
            time.sleep(0.2)
        stop.set()
        for student in load:
            student.join(20)

        confirmed = [booking for student in load for booking in student.confirmed]
        after_kill = [when for student in load for _, when in student.confirmed if when > killed_at]
        assert booked_before_kill > 0 and after_kill, "bookings before the kill and again after the failover"
        failover_s = min(after_kill) - killed_at
        assert failover_s < 30, failover_s
        assert role_of(standby.server).primary and not role_of(primary.server).reachable
        with psycopg.connect(standby.server.conninfo(dbname=dbname)) as conn:
            stored = {
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM {acme.schema}.booking_booking WHERE status = 'active' AND slot_id = ANY(%s)",
                    [slots],
                ).fetchall()
            }
        lost = [booking for booking, _ in confirmed if booking not in stored]
        assert not lost, f"{len(lost)} confirmed bookings lost of {len(confirmed)}"
        assert len(confirmed) == len({booking for booking, _ in confirmed})
        assert (primary.pgdata / "standby.signal").exists(), "the old primary is fenced"
        incident = Incident.objects.filter(detection_key="watchdog:postgres").order_by("-pk").first()
        assert incident.state == State.RESOLVED
        texts = [update.message_ja for update in incident.updates.all()]
        assert any("切り替えが完了" in text and "秒" in text for text in texts)
    finally:
        if server is not None:
            process_stop(server)
        process_stop(redis_server)
        for cluster in (standby, primary):
            if cluster is not None:
                cluster.remove()
        Incident.objects.filter(detection_key="watchdog:postgres").delete()
        with schema_context(acme.schema):
            Seminar.objects.filter(pk__in=[s.pk for s in seminars]).delete()
            Candidate.objects.filter(pk__in=[s.pk for s in students]).delete()
