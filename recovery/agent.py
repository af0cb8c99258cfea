"""The backup agent (`manage.py backup agent`, one per deployment): WAL streaming, scheduled base backups, retention.

It needs the primary's replication connection, the store and the recipient (public) key; never the identity.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field

from recovery.basebackup import base_backup_due, base_backup_take
from recovery.config import BackupConfig
from recovery.crypto import keys_ensure
from recovery.retention import prune
from recovery.wal import SLOT, WalArchiver

logger = logging.getLogger("recovery.agent")


@dataclass
class BackupAgent:
    config: BackupConfig
    recipient: str = ""  # default: BACKUP_RECIPIENT, or the embedded default's generated key pair
    slot: str | None = SLOT
    interval: float = 1.0
    stopping: bool = False
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.recipient = self.recipient or keys_ensure()
        self.archiver = WalArchiver(config=self.config, recipient=self.recipient, slot=self.slot)
        self._receiver_retry_at = 0.0

    def round(self) -> None:
        """One pass: keep the receiver running, store finished WAL, close a quiet segment, take a due backup."""
        now = time.monotonic()
        if not self.archiver.receiver_running() and now >= self._receiver_retry_at:
            self.archiver.receiver_start()
            self._receiver_retry_at = now + 2.0
        self.archiver.upload_ready()
        if self.archiver.receiver_running():
            self.archiver.switch_if_due()
            kind = "full" if self.archiver.gap else base_backup_due(self.config)
            if kind is not None:
                backup = base_backup_take(config=self.config, recipient=self.recipient, kind=kind)
                self.archiver.gap = False
                logger.info("backup %s taken in %.1f s", backup.id, backup.seconds)
                plan = prune(config=self.config)
                if plan.drop:
                    logger.info("retention dropped %s", ", ".join(plan.drop))
                self.archiver.upload_ready()

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stopping", True))
        while not self.stopping:
            started = time.monotonic()
            try:
                self.round()
            except Exception as error:  # the agent outlives a server that is away or a store that hiccups
                logger.exception("backup agent round failed")
                self.errors.append(str(error))
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        self.close()

    def close(self) -> None:
        """Stop receiving and store what was received, the unfinished segment included."""
        self.archiver.receiver_stop()
        self.archiver.upload_ready()
