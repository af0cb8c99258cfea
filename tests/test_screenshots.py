"""The screenshots of the README: each page in both languages at both widths is committed, linked, a real PNG of
its width, and small (bench/screenshots.py writes them)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": 1366, "phone": 390}
NAMES = [
    f"{page}-{language}-{device}.png"
    for page in ("home", "candidates", "seminar", "mypage")
    for language in ("ja", "en")
    for device in WIDTHS
]


@pytest.mark.parametrize("name", NAMES)
def test_screenshot_is_committed_small_and_linked(name):
    path = ROOT / "docs" / "screenshots" / name
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, _height = struct.unpack(">II", data[16:24])
    assert width == WIDTHS[name.rsplit("-", 1)[1].removesuffix(".png")]
    assert len(data) <= 300 * 1024
    assert f"(docs/screenshots/{name})" in (ROOT / "README.md").read_text(encoding="utf-8")
