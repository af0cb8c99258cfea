"""What the backup store holds: base backups (each described by its backup.json) and archived WAL.

Layout of a store:
    base/<id>/backup.json               plain metadata, written last: its presence means the backup is complete
    base/<id>/<file>.zst.age            base.tar, pg_wal.tar, backup_manifest, sealed (recovery/crypto.py)
    wal/<segment>.zst.age               a completed WAL segment (or NNNNNNNN.history)
    wal/<segment>.<ns>.partial.zst.age  the segment being written when the server went away
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from recovery.store import Store

SEGMENT = re.compile(r"^(?P<timeline>[0-9A-F]{8})(?P<log>[0-9A-F]{8})(?P<seg>[0-9A-F]{8})$")
HISTORY = re.compile(r"^[0-9A-F]{8}\.history$")
SEALED = ".zst.age"


@dataclass
class SealedFile:
    name: str
    sha256: str
    size: int
    plain_size: int


@dataclass
class BaseBackup:
    id: str
    kind: str  # full | incremental
    parent: str  # the backup an incremental builds on ("" for a full one)
    timeline: int
    start_lsn: str
    end_lsn: str
    started_at: str  # ISO 8601, UTC
    finished_at: str
    server_version: int
    system_identifier: str
    files: list[SealedFile] = field(default_factory=list)
    verified: bool = False
    verify_message: str = ""
    seconds: float = 0.0

    @property
    def finished(self) -> datetime:
        return datetime.fromisoformat(self.finished_at)

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)

    @property
    def stored_bytes(self) -> int:
        return sum(item.size for item in self.files)

    @property
    def plain_bytes(self) -> int:
        return sum(item.plain_size for item in self.files)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> BaseBackup:
        data = json.loads(text)
        data["files"] = [SealedFile(**item) for item in data.get("files", [])]
        return cls(**data)


def base_backups(store: Store) -> list[BaseBackup]:
    """Every complete base backup, oldest first."""
    found = []
    for item in store.list("base/"):
        if item.key.endswith("/backup.json"):
            with store.open(item.key) as stream:
                found.append(BaseBackup.from_json(stream.read().decode()))
    return sorted(found, key=lambda backup: backup.id)


def base_backup_write(store: Store, backup: BaseBackup) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=True) as handle:
        handle.write(backup.to_json())
        handle.flush()
        store.put(f"base/{backup.id}/backup.json", Path(handle.name))


def latest_good(store: Store) -> BaseBackup | None:
    good = [backup for backup in base_backups(store) if backup.verified]
    return good[-1] if good else None


def chain(backups: list[BaseBackup], last: BaseBackup) -> list[BaseBackup]:
    """The full backup and the incrementals leading to `last`, oldest first."""
    by_id = {backup.id: backup for backup in backups}
    links = [last]
    while links[0].parent:
        parent = by_id.get(links[0].parent)
        if parent is None:
            raise LookupError(f"backup {links[0].id} builds on {links[0].parent}, which is not in the store")
        links.insert(0, parent)
    return links


def segment_number(name: str) -> int:
    """Position of a segment across timelines (log * 256 + seg for 16 MB segments)."""
    match = SEGMENT.match(name)
    if match is None:
        raise ValueError(name)
    return int(match["log"], 16) * 0x100 + int(match["seg"], 16)


def lsn_segment(lsn: str, *, timeline: int) -> str:
    high, low = (int(part, 16) for part in lsn.split("/"))
    position = (high << 32) + low
    number = position // (16 * 1024 * 1024)
    return f"{timeline:08X}{number // 0x100:08X}{number % 0x100:08X}"


@dataclass(frozen=True)
class WalObject:
    key: str
    name: str  # the segment or history file name it restores as
    partial: bool
    modified: datetime


def wal_objects(store: Store) -> list[WalObject]:
    found = []
    for item in store.list("wal/"):
        name = item.key.removeprefix("wal/").removesuffix(SEALED)
        partial = name.endswith(".partial")
        if partial:
            name = name.split(".")[0]
        if SEGMENT.match(name) or HISTORY.match(name):
            found.append(WalObject(key=item.key, name=name, partial=partial, modified=item.modified))
    return found
