"""The secret key of an installation that sets none (demo, tests, benchmarks): random, kept under .data/.

Every signed value (sessions, rush passes, feed keys, unsubscribe and acknowledgement links) depends on it,
so a fixed development string would let anyone forge them on any such deployment. Each data folder gets its
own key the first time a process starts; every later process (the worker, the test servers) reads the same
file, so links and passes stay valid across processes and restarts.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

KEY_FILE = "secret_key"
KEY_BYTES = 48  # 64 characters of URL-safe base64, well above Django's 50-character recommendation


def installation_secret_key(*, data_dir: Path) -> str:
    """The key stored in `data_dir`, created (readable by this user only) when there is none yet."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    key = secrets.token_urlsafe(KEY_BYTES)
    try:
        # O_EXCL: of several processes starting at once exactly one writes; the others read its key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def _read(path: Path) -> str:
    # A process that lost the creation race may look before the winner has written: wait for the key.
    for _ in range(200):
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 50:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} holds no usable secret key; delete it to have a new one generated")
