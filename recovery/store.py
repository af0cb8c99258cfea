"""Where backups live: a directory or any S3-compatible bucket, written once and never rewritten.

BACKUP_URL is a path (`/srv/backups`, `file:///srv/backups`) or `s3://bucket/prefix` (the endpoint from
`?endpoint=http://host:port` or AWS_ENDPOINT_URL; credentials from the usual AWS variables). Objects are
created once: a directory store links a finished, read-only file into place (a second write of the same
name fails), an S3 store writes with `If-None-Match: *` and, when the bucket has Object Lock, a retention
date, so even the backup's own credentials cannot delete or overwrite it before that date.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit

from recovery.errors import RecoveryError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


class Store(Protocol):
    url: str

    def put(self, key: str, path: Path) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def list(self, prefix: str) -> list[StoredObject]: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise RecoveryError(f"invalid backup key {key!r}")
        return path

    def put(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out, open(path, "rb") as source:
                shutil.copyfileobj(source, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o444)
            try:
                os.link(temporary, target)  # fails if the name exists: nothing is ever overwritten
            except FileExistsError as error:
                raise RecoveryError(f"{key} already exists in the backup store") from error
        finally:
            os.unlink(temporary)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as error:
            raise RecoveryError(f"{key} is not in the backup store") from error

    def list(self, prefix: str) -> list[StoredObject]:
        base = self.root / prefix
        if not base.exists():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".incoming-"):
                stat = path.stat()
                found.append(
                    StoredObject(
                        key=str(path.relative_to(self.root)),
                        size=stat.st_size,
                        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                    )
                )
        return sorted(found, key=lambda item: item.key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


class S3Store:
    def __init__(
        self, *, bucket: str, prefix: str, endpoint: str | None, region: str | None, lock_days: int
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.lock_days = bucket, prefix.strip("/"), lock_days
        self.url = f"s3://{bucket}/{self.prefix}"
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        self._locking: bool | None = None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _bucket_locks(self) -> bool:
        if self._locking is None:
            try:
                configuration = self.client.get_object_lock_configuration(Bucket=self.bucket)
                self._locking = configuration["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
            except self.client.exceptions.ClientError:
                self._locking = False
        return self._locking

    def put(self, key: str, path: Path) -> None:
        if self.exists(key):
            raise RecoveryError(f"{key} already exists in the backup store")
        extra: dict[str, object] = {}
        if self._bucket_locks() and self.lock_days > 0:
            extra["ObjectLockMode"] = "COMPLIANCE"
            extra["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=self.lock_days)
        with open(path, "rb") as source:
            if path.stat().st_size <= 64 * CHUNK:
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=source, IfNoneMatch="*", **extra
                )
            else:
                self.client.upload_fileobj(source, self.bucket, self._key(key), ExtraArgs=extra)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey as error:
            raise RecoveryError(f"{key} is not in the backup store") from error

    def list(self, prefix: str) -> list[StoredObject]:
        found = []
        start = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                found.append(
                    StoredObject(key=item["Key"][start:], size=item["Size"], modified=item["LastModified"])
                )
        return sorted(found, key=lambda item: item.key)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.ClientError:
            return False
        return True


def store_from_url(url: str, *, lock_days: int = 0) -> Store:
    parts = urlsplit(url)
    if parts.scheme == "s3":
        query = parse_qs(parts.query)
        return S3Store(
            bucket=parts.netloc,
            prefix=parts.path,
            endpoint=(query.get("endpoint") or [None])[0] or os.environ.get("AWS_ENDPOINT_URL"),
            region=(query.get("region") or [None])[0],
            lock_days=lock_days,
        )
    if parts.scheme in ("", "file"):
        return DirectoryStore(Path(parts.path if parts.scheme else url))
    raise RecoveryError(
        f"BACKUP_URL の形式が正しくありません: {parts.scheme}:// (ディレクトリか s3:// を指定してください)"
    )
