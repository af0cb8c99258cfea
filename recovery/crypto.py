"""Sealing backup files: zstd-compressed, then encrypted to an age recipient (X25519 public key).

Writing a backup needs only the recipient (public) key; reading one needs the identity (private) key, which
only the restore commands open (BACKUP_IDENTITY_FILE). No web or worker process reads either: settings hold
the file's path, never its content. With the embedded default both keys are created on first use under
.data/backup-keys/ (the folder 0700, the identity 0600); in production keep the identity off the
application machines (a vault, an offline copy) and give the backup agent only BACKUP_RECIPIENT.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

import pyrage
import zstandard
from django.conf import settings

from recovery.errors import RecoveryError

ZSTD_LEVEL = 3


class _HashingWriter:
    """A file writer that hashes what passes through it (the checksum of the sealed object)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _default_key_folder() -> Path:
    return Path(settings.BACKUP_IDENTITY_FILE).parent


def keys_ensure() -> str:
    """The recipient to encrypt to; creates a key pair under the default folder when none is configured."""
    if settings.BACKUP_RECIPIENT:
        return settings.BACKUP_RECIPIENT.strip()
    recipient_file = _default_key_folder() / "recipient.txt"
    if recipient_file.exists():
        return recipient_file.read_text().strip()
    identity_file = Path(settings.BACKUP_IDENTITY_FILE)
    if identity_file.exists():
        raise RecoveryError(f"{recipient_file} がありません。BACKUP_RECIPIENT を設定してください。")
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    identity_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    identity_file.parent.chmod(0o700)
    descriptor = os.open(identity_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(
            f"# backup identity: needed to restore, never by the web or worker processes\n{identity}\n"
        )
    recipient_file.write_text(recipient + "\n")
    return recipient


def identity_load(path: Path | None = None) -> pyrage.x25519.Identity:
    """The private key, read only by restores (and drills, which are restores)."""
    path = path or Path(settings.BACKUP_IDENTITY_FILE)
    try:
        lines = [line.strip() for line in path.read_text().splitlines()]
    except OSError as error:
        raise RecoveryError(f"復元用の鍵 {path} を読めません（BACKUP_IDENTITY_FILE）: {error}") from error
    keys = [line for line in lines if line.startswith("AGE-SECRET-KEY-")]
    if not keys:
        raise RecoveryError(f"{path} に復元用の鍵がありません。")
    return pyrage.x25519.Identity.from_str(keys[0])


def seal(*, source: Path, target: Path, recipient: str) -> tuple[str, int]:
    """Compress and encrypt source into target; the SHA-256 and size of what was written."""
    recipients = [pyrage.x25519.Recipient.from_str(recipient)]
    with open(source, "rb") as plain, open(target, "wb") as out:
        writer = _HashingWriter(out)
        compressed = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1).stream_reader(plain)
        pyrage.encrypt_io(compressed, writer, recipients)
        out.flush()
        os.fsync(out.fileno())
    return writer.digest.hexdigest(), writer.size


def unseal(*, stream: BinaryIO, target: Path, identity: pyrage.x25519.Identity) -> None:
    """Decrypt and decompress a stored object into target (a wrong key or a changed byte fails loudly)."""
    with open(target, "wb") as out:
        unseal_into(stream=stream, out=out, identity=identity, name=target.name)


def unseal_into(*, stream: BinaryIO, out: BinaryIO, identity: pyrage.x25519.Identity, name: str) -> None:
    """Decrypt and decompress into a writer (a file, or the pipe of `tar -x` so nothing is written twice)."""
    plain = zstandard.ZstdDecompressor().stream_writer(out, closefd=False)
    try:
        pyrage.decrypt_io(stream, plain, [identity])
    except (pyrage.DecryptError, OSError) as error:
        if isinstance(error, OSError) and "decrypt" not in str(error):
            raise  # a disk or pipe error, not a wrong key or changed bytes
        raise RecoveryError(
            f"復号できません（鍵が違うか、バックアップが改変されています）: {name}"
        ) from error
    plain.flush()
