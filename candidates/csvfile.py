"""The bytes of an uploaded CSV file: its errors, the size limit, spooling a stream that cannot seek, and the
encoding (CP932, UTF-8, UTF-16 from Excel). candidates/csvsource.py reads the records from it."""

from __future__ import annotations

import codecs
import io
import tempfile
from typing import IO, Any

from charset_normalizer import from_bytes
from django.utils.translation import gettext, gettext_lazy

# Larger than io.DEFAULT_BUFFER_SIZE: fewer decode calls, still a constant amount of memory.
_TEXT_CHUNK = 256 * 1024
_SPOOL_IN_MEMORY = 1024 * 1024
_NOT_CSV_MESSAGE = gettext_lazy(
    "CSVファイルではありません（Excel形式の場合は「CSV（コンマ区切り）」で保存し直してください）"
)
# Signatures of the files recruiters most often upload by mistake instead of a CSV export.
_BINARY_SIGNATURES: tuple[bytes, ...] = (
    b"PK\x03\x04",  # ZIP, and therefore XLSX / DOCX
    b"PK\x05\x06",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # legacy XLS / DOC
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"\x1f\x8b",  # gzip
)
# Text never holds C0 controls other than these; FF and SUB turn up in old DOS exports.
_CONTROL_BYTES = bytes(byte for byte in range(32) if byte not in b"\t\n\r\x0c\x1a") + b"\x7f"


class CSVSourceError(Exception):
    """A file that cannot be read as a candidate CSV; message is shown to the recruiter."""

    def __init__(self, *, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _too_large(max_bytes: int) -> CSVSourceError:
    mib = 1024 * 1024
    if max_bytes >= mib:
        limit = f"{max_bytes / mib:g} MB"
    else:
        limit = gettext("%(count)s バイト") % {"count": f"{max_bytes:,}"}
    return CSVSourceError(
        code="too_large", message=gettext("ファイルが大きすぎます（上限 %(limit)s）") % {"limit": limit}
    )


def _decodes(head: bytes, encoding: str) -> bool:
    # Incremental and not final: the head may end in the middle of a multibyte character.
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(*, head: bytes) -> str:
    """Return the codec for a file given its first bytes; refuse empty and binary files."""
    if not head:
        raise CSVSourceError(code="empty", message=gettext("ファイルが空です"))
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # Excel's "Unicode text" export: UTF-16 with a BOM (and tabs, handled by the reader).
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(_BINARY_SIGNATURES) or b"\x00" in head:
        raise CSVSourceError(code="not_csv", message=str(_NOT_CSV_MESSAGE))
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls * 100 > len(head):
        raise CSVSourceError(code="not_csv", message=str(_NOT_CSV_MESSAGE))
    if _decodes(head, "utf-8"):
        return "utf-8"
    if _decodes(head, "cp932"):
        return "cp932"
    best = from_bytes(head).best()
    if best is None:
        raise CSVSourceError(
            code="encoding",
            message=gettext(
                "文字コードを判別できませんでした。Shift_JIS（CP932）またはUTF-8で保存し直してください。"
            ),
        )
    return codecs.lookup(best.encoding).name


class _ReadOnlyRaw(io.RawIOBase):
    """Adapts a file-like object that is not an io stream (e.g. a framework's upload proxy)."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._fileobj.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Some proxies return None from seek(); RawIOBase.tell() relies on the position.
        self._fileobj.seek(offset, whence)
        return int(self._fileobj.tell())


def _is_seekable(fileobj: Any) -> bool:
    try:
        return bool(fileobj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _spool(fileobj: Any, max_bytes: int) -> IO[bytes]:
    # A non-seekable stream cannot be re-read for preview(); copying it keeps memory flat
    # (spills to disk past 1 MB) and lets the size limit apply while copying.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
    total = 0
    while chunk := fileobj.read(_TEXT_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            spool.close()
            raise _too_large(max_bytes)
        spool.write(chunk)
    spool.seek(0)
    return spool


def _seekable_stream(*, fileobj: Any, max_bytes: int) -> tuple[IO[bytes], bool]:
    if not _is_seekable(fileobj):
        return _spool(fileobj, max_bytes), True
    if isinstance(fileobj, io.IOBase):
        return fileobj, False  # type: ignore[return-value]
    return io.BufferedReader(_ReadOnlyRaw(fileobj)), False
