"""Telling the companies while we recover: incident updates with measured progress and an expected end.

A restore or failover reports phases ("base backup unsealed", "WAL replayed") with the fraction done; the
expected end is extrapolated from the time measured so far (after the first phase) or from the size of
what is left (before it). Updates go to an incident when the database is there to hold it, or straight to
support staff and the companies' admins (e-mail, banner) when it is not.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

logger = logging.getLogger("recovery.progress")
PHASES_JA = {
    "base": "ベースバックアップを復号・展開しています",
    "wal": "変更履歴（WAL）を取得しています",
    "replay": "変更履歴を指定時刻まで適用しています",
    "swap": "データを入れ替えています",
    "done": "復元が完了しました",
    "detected": "主データベースの停止を検知しました",
    "promoting": "待機系データベースへ切り替えています",
    "promoted": "待機系データベースへの切り替えが完了しました",
}


def expected_end(*, started: float, fraction: float, estimate_seconds: float) -> datetime:
    elapsed = time.monotonic() - started
    if fraction >= 0.2:
        remaining = elapsed / fraction * (1 - fraction)
    else:
        remaining = max(estimate_seconds - elapsed, 1.0)
    return timezone.now() + timedelta(seconds=remaining)


def progress_text(*, phase: str, fraction: float, end: datetime, elapsed: float, subject: str) -> str:
    end_local = timezone.localtime(end).strftime("%H:%M:%S")
    if phase == "done":
        return f"{subject}: {PHASES_JA['done']}（所要 {elapsed:.0f} 秒）。サービスは通常どおりご利用いただけます。"
    return (
        f"{subject}: {PHASES_JA.get(phase, phase)}（進捗 {fraction:.0%}、経過 {elapsed:.0f} 秒、"
        f"完了見込み {end_local}）。"
    )


@dataclass
class IncidentProgress:
    """Posts each phase as an update of one incident (created on the first phase) and resolves it at the end."""

    title: str
    subject: str
    estimate_seconds: float
    tenants: list = field(default_factory=list)  # empty: every company
    actor: Any = "recovery"
    visibility: str = "tenants"
    started: float = field(default_factory=time.monotonic)
    incident: Any = None
    posted: list[str] = field(default_factory=list)

    def text(self, phase: str, fraction: float) -> str:
        elapsed = time.monotonic() - self.started
        end = expected_end(started=self.started, fraction=fraction, estimate_seconds=self.estimate_seconds)
        return progress_text(phase=phase, fraction=fraction, end=end, elapsed=elapsed, subject=self.subject)

    def __call__(self, phase: str, fraction: float) -> None:
        self.post(phase, self.text(phase, fraction))

    def post(self, phase: str, text: str) -> None:
        from incidents.models import Scope, State, Visibility
        from incidents.services.lifecycle import incident_create, incident_update_post

        try:
            if self.incident is None:
                self.incident = incident_create(
                    actor=self.actor,
                    title=self.title,
                    message_ja=text,
                    impact="major",
                    scope=Scope.CHOSEN if self.tenants else Scope.ALL,
                    tenants=self.tenants,
                    visibility=self.visibility if self.tenants else Visibility.PUBLIC,
                )
            else:
                state = State.RESOLVED if phase == "done" else State.IDENTIFIED
                incident_update_post(actor=self.actor, incident=self.incident, state=state, message_ja=text)
        except Exception:  # telling must never stop the restore itself
            logger.exception("incident update failed")
        self.posted.append(text)
        logger.info(text)
