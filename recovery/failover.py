"""Watchdog-driven promotion: the standby takes over when the primary is gone for N seconds, never while it lives.

Two observers must agree before anything is promoted: the watchdog cannot reach a writable primary, and
the standby's own WAL receiver has lost it (wal_receiver_timeout 5 s) — both, continuously, for
`promote_after` seconds. A watchdog that is merely cut off from the primary sees the standby still
streaming and does nothing. A primary that is alive but cut off from the standby cannot confirm a single
commit, because synchronous replication makes every commit wait for the standby's acknowledgement: it can
never answer "booked" for a seat the promoted standby does not have (no split-brain of confirmed writes).
After promotion the old primary's data folder is fenced with standby.signal where this machine can reach it,
so a restart brings it back as a standby (after `manage.py standby rejoin`), never as a second primary.

The failover tells as it goes: support staff and the companies' admins by e-mail at detection (the
database is down, so straight to SMTP) with the expected end, then the open database incident gets the
measured times and is resolved once a write on the new primary succeeds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from django.utils import timezone

from recovery import postgres
from recovery.progress import PHASES_JA
from recovery.standby import role_of, standby_promote

logger = logging.getLogger("recovery.failover")


@dataclass
class FailoverController:
    primary: postgres.Server
    standby: postgres.Server
    promote_after: float = 10.0
    primary_pgdata: Path | None = None  # fenced after promotion when on this machine
    clock: object = time.monotonic
    notify: bool = True
    down_since: float | None = None
    promoted_at: float | None = None
    resumed_at: float | None = None
    events: list[str] = field(default_factory=list)

    def tick(self) -> str | None:
        """One observation; returns "detected", "promoted" or "resumed" when something happened."""
        now = self.clock()
        if self.promoted_at is not None:
            return self._resume_check(now) if self.resumed_at is None else None
        if role_of(self.primary).primary:
            self.down_since = None
            return None
        standby = role_of(self.standby)
        if not standby.reachable or standby.primary or standby.receiving:
            # Gone too, already promoted by hand, or it still hears the primary (we are the one cut off).
            self.down_since = None
            return None
        if self.down_since is None:
            self.down_since = now
            self._tell_detected()
            return "detected"
        if now - self.down_since < self.promote_after:
            return None
        standby_promote(standby=self.standby, primary=self.primary)
        self.promoted_at = self.clock()
        self._fence()
        self.events.append(f"promoted after {self.promoted_at - self.down_since:.1f} s")
        logger.warning("standby %s:%s promoted", self.standby.host, self.standby.port)
        return "promoted"

    def _resume_check(self, now: float) -> str | None:
        """A write on the new primary: service is back."""
        try:
            with psycopg.connect(self.standby.conninfo(), autocommit=True, connect_timeout=2) as conn:
                conn.execute("CREATE TEMP TABLE failover_write_check (x int)")
                conn.execute("INSERT INTO failover_write_check VALUES (1)")
        except psycopg.Error:
            return None
        self.resumed_at = now
        self._record()
        return "resumed"

    def _fence(self) -> None:
        if self.primary_pgdata is None or not self.primary_pgdata.exists():
            return
        (self.primary_pgdata / "standby.signal").touch()
        postgres.hand_to_server_user(self.primary_pgdata)

    def _tell_detected(self) -> None:
        end = timezone.localtime(timezone.now() + timezone.timedelta(seconds=self.promote_after + 5))
        text = (
            f"{PHASES_JA['detected']}。{self.promote_after:.0f} 秒以内に復旧しない場合は待機系データベースへ"
            f"切り替えます（完了見込み {end:%H:%M:%S}）。"
        )
        self.events.append(text)
        if self.notify:
            from notifications.services.direct import mail_send_without_database

            mail_send_without_database(
                to=[settings.SUPPORT_EMAIL], subject="【障害対応】データベースの切り替え", body=text
            )

    def _record(self) -> None:
        """Post the measured failover on the open database incident (or a new one) and resolve it."""
        from incidents.models import Incident, State
        from incidents.services.lifecycle import incident_create, incident_update_post

        promote_s = self.promoted_at - self.down_since
        resume_s = self.resumed_at - self.down_since
        promoted = (
            f"{PHASES_JA['promoted']}（停止の検知から {promote_s:.1f} 秒）。予約を含むすべての書き込みは待機系で"
            "受け付けています。同期レプリケーションにより、予約完了とお伝えしたデータは失われていません。"
        )
        resumed = f"サービスは通常どおりご利用いただけます（停止の検知から {resume_s:.1f} 秒で復旧）。"
        self.events += [promoted, resumed]
        if not self.notify:
            return
        try:
            incident = (
                Incident.objects.filter(detection_key="watchdog:postgres")
                .exclude(state=State.RESOLVED)
                .first()
            )
            if incident is None:
                incident = incident_create(
                    actor="failover",
                    title="データベースの障害",
                    message_ja=self.events[0],
                    impact="critical",
                    visibility="public",
                    detection_key="watchdog:postgres",
                )
            incident_update_post(
                actor="failover", incident=incident, state=State.MONITORING, message_ja=promoted
            )
            incident_update_post(
                actor="failover", incident=incident, state=State.RESOLVED, message_ja=resumed
            )
        except Exception:  # telling must never undo the failover
            logger.exception("failover incident update failed")


def failover_hook() -> FailoverController | None:
    """The watchdog's promotion duty when FAILOVER_STANDBY names a standby (else None: nothing to do)."""
    if not settings.FAILOVER_STANDBY:
        return None
    host, _, port = settings.FAILOVER_STANDBY.rpartition(":")
    primary = postgres.application_server()
    standby = postgres.Server(host=host, port=int(port), user=primary.user, password=primary.password)
    return FailoverController(
        primary=primary,
        standby=standby,
        promote_after=settings.FAILOVER_PROMOTE_AFTER,
        primary_pgdata=Path(settings.FAILOVER_PRIMARY_DATA) if settings.FAILOVER_PRIMARY_DATA else None,
    )
