"""A deleted company's export: sealed to the backups' age recipient, readable only with the restore key,
and removed after EXPORT_KEEP_DAYS.

The export holds every personal record of the company, so it is never written in clear: the JSON is
gzipped and encrypted (age, X25519) to the recipient the backups use, whose identity (private key) only
the restore commands read (docs/recovery.md). Tenants sit below recovery, so recovery registers the
recipient here from its AppConfig.ready(); without one nothing is exported (and nothing is deleted).
Old exports are removed at every deletion and nightly (beat: tenants.exports_prune).
"""

from __future__ import annotations

import gzip
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pyrage
from django.conf import settings
from django.utils.translation import gettext as _

from tenants.errors import TenantError

_recipient_provider: list[Callable[[], str]] = []


def export_recipient_provider_set(provider: Callable[[], str]) -> None:
    _recipient_provider[:] = [provider]


def export_directory() -> Path:
    return Path(settings.BASE_DIR) / ".data" / "exports"


def export_seal(*, text: str, path: Path) -> Path:
    """Write `text` gzipped and sealed to `path` (mode 600)."""
    if not _recipient_provider:
        raise TenantError(_("エクスポートを暗号化する鍵（BACKUP_RECIPIENT）がないため、削除できません。"))
    recipient = pyrage.x25519.Recipient.from_str(_recipient_provider[0]())
    compressed = gzip.compress(text.encode("utf-8"))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        pyrage.encrypt_io(io.BytesIO(compressed), out, [recipient])
    return path


def export_open(*, path: Path, identity: pyrage.x25519.Identity) -> str:
    """The export's JSON (the restore key is needed)."""
    return gzip.decompress(pyrage.decrypt(path.read_bytes(), [identity])).decode("utf-8")


def exports_prune(*, directory: Path | None = None, keep_days: float | None = None) -> int:
    """Delete exports older than EXPORT_KEEP_DAYS (clear ones left by older versions too); how many."""
    directory = directory or export_directory()
    keep = settings.EXPORT_KEEP_DAYS if keep_days is None else keep_days
    cutoff = time.time() - keep * 24 * 3600
    removed = 0
    for path in list(directory.glob("*.json.gz.age")) + list(directory.glob("*.json.gz")):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
