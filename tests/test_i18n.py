"""English throughout: every user-facing string goes through Django's translation machinery.

Japanese is the source language (msgids are Japanese); each part's English catalogue must translate every entry,
its compiled .mo must match its .po, and its templates may hold no Japanese outside translation tags.
A part joins TRANSLATED when it is done; in the end every part is listed.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent

# part -> (its locale directory, its template directories)
PARTS: dict[str, tuple[Path, list[Path]]] = {
    "project": (ROOT / "locale", [ROOT / "templates"]),
    **{
        app: (ROOT / app / "locale", [ROOT / app / "templates"])
        for app in (
            "accounts",
            "api",
            "booking",
            "candidates",
            "dashboard",
            "incidents",
            "notifications",
            "seasons",
            "selection",
            "tenants",
        )
    },
}

TRANSLATED: set[str] = set()

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60\u3000-\u303f]")
# What may carry Japanese in a template: translation tags and blocks, comments, and the language menu's names.
_ALLOWED = re.compile(
    r"\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}"
    r"|\{%\s*trans(?:late)?\s.*?%\}"
    r"|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}"
    r"|\{#.*?#\}"
    r"|\{\{\s*_\(.*?\)\s*\}\}",
    re.DOTALL,
)


def _templates(part: str) -> list[Path]:
    return sorted(
        path for directory in PARTS[part][1] if directory.exists() for path in directory.rglob("*.html")
    )


def test_every_part_is_known():
    assert TRANSLATED <= set(PARTS)


@pytest.mark.parametrize("part", sorted(TRANSLATED))
def test_no_japanese_left_in_templates(part):
    left = []
    for path in _templates(part):
        text = _ALLOWED.sub("", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            if JAPANESE.search(line):
                left.append(f"{path.relative_to(ROOT)}: {line.strip()[:80]}")
    assert not left, "Japanese outside translation tags:\n" + "\n".join(left[:40])


@pytest.mark.parametrize("part", sorted(TRANSLATED))
def test_english_catalogue_is_complete_and_compiled(part):
    po_path = PARTS[part][0] / "en" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated in {po_path}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {po_path}: {fuzzy[:10]}"
    # The compiled catalogue is what Django reads: it must say what the .po says.
    with open(po_path.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in catalogue.translated_entries():
        if entry.msgid_plural:
            continue
        read = (
            compiled.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt else compiled.gettext(entry.msgid)
        )
        if read != entry.msgstr:
            stale.append(entry.msgid)
    assert not stale, f".mo out of date for {po_path} (run make messages): {stale[:10]}"
    # No English translation may still be Japanese.
    still_japanese = [
        entry.msgid for entry in catalogue.translated_entries() if JAPANESE.search(entry.msgstr)
    ]
    assert not still_japanese, f"English entries left in Japanese: {still_japanese[:10]}"
