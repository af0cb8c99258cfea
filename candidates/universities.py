"""Match the university names students type against canonical names and a tenant's rank table."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from django.utils.translation import gettext

from .textnorm import FieldError, nfkc

__all__ = [
    "RankTable",
    "UniversityMatcher",
    "builtin_universities",
    "fold_kyujitai",
    "normalise_university",
]

_DATA_FILE = Path(__file__).resolve().parent / "data" / "universities.json"

# Corporate prefixes appear when a name is copied from an official document
# ("国立大学法人 東京大学"); longest first so "国立大学法人" is not cut as "学校法人".
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_CORPORATE_PREFIXES = ("国立大学法人", "公立大学法人", "独立行政法人", "学校法人")
# "大学" before "大" so "東京大学" and "東京大" both become "東京".
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_SUFFIXES = ("大学", "大")
# Spaces and the middle dot are spelled inconsistently ("立命館 アジア太平洋", "A・B") and never
# distinguish two universities.
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_IGNORED = re.compile(r"[\s・]+")
_RANK = re.compile(r"[A-Z]")


@functools.cache
def _data() -> dict[str, Any]:
    with _DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@functools.cache
def _kyujitai_table() -> dict[int, str]:
    return str.maketrans(_data()["kyujitai"])


def fold_kyujitai(text: str) -> str:
    """Replace traditional and variant kanji (國, 學, 髙, 﨑...) with their standard forms."""
    # Only for matching keys: names shown to users keep the spelling the school or person uses.
    return unicodedata.normalize("NFKC", text).translate(_kyujitai_table())


def _without_corporation(text: str) -> str:
    for prefix in _CORPORATE_PREFIXES:
        if text.startswith(prefix):
            words = text[len(prefix) :].split()
            # "学校法人慶應義塾 慶應義塾大学": the corporation's own name comes before the school.
            return " ".join(words[1:] if len(words) > 1 else words)
    return text


def _up_to_school(text: str) -> str:
    words = text.split(" ")
    # "東京大学 法学部", "東京大学 大学院": whatever follows the word ending in 大学 is not the
    # school. Earlier words are kept because some names are typed with a space inside
    # ("立命館 アジア太平洋大学").
    for position, word in enumerate(words):
        if word.endswith("大学") and len(word) > len("大学"):  # i18n: data
            return " ".join(words[: position + 1])
    return text


def normalise_university(name: str) -> str:
    """Matching key: NFKC, kyujitai folded, corporate prefix and 大学/大 suffix removed, no spaces."""
    text = _up_to_school(_without_corporation(fold_kyujitai(nfkc(name))))
    key = _IGNORED.sub("", text).casefold()
    # Graduate students often write "東京大学大学院"; the school is the same.
    if key.endswith("大学大学院"):  # i18n: data
        # i18n: data — matching tables and patterns for Japanese names, kana and universities
        key = key[: -len("大学院")]
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


@functools.cache
def _builtin_index() -> dict[str, str]:
    """Key -> canonical name for every built-in name, short name and former name."""
    data = _data()
    index: dict[str, str] = {}

    def add(spelling: str, canonical: str) -> None:
        key = normalise_university(spelling)
        if index.setdefault(key, canonical) != canonical:
            # A data error, not a user error: the JSON must keep short names unambiguous.
            raise ValueError(f"{spelling!r} matches both {index[key]!r} and {canonical!r}")

    for university in data["universities"]:
        add(university["name"], university["name"])
        for alias in university["aliases"]:
            add(alias, university["name"])
    for former, current in data["renamed"].items():
        add(former, current)
    return index


def builtin_universities() -> list[str]:
    """Canonical names of the built-in list, in file order."""
    return [university["name"] for university in _data()["universities"]]


class UniversityMatcher:
    """Resolve a typed university name to its canonical name, with optional tenant aliases."""

    def __init__(self, *, extra_aliases: dict[str, str] | None = None) -> None:
        builtin = _builtin_index()
        self._index = dict(builtin)
        for alias, target in (extra_aliases or {}).items():
            # A tenant may point an alias at a built-in short or former name ("うちの東工大"),
            # so resolve the target first; an unknown target is a school we do not list.
            canonical = builtin.get(normalise_university(target)) or nfkc(target)
            self._index[normalise_university(canonical)] = canonical
            # Tenant aliases override the built-in ones: the tenant knows its own applicants
            # (e.g. "神大" meaning 神奈川大学 for a company in Kanagawa).
            self._index[normalise_university(alias)] = canonical

    def canonical(self, name: str | None) -> str | None:
        """Canonical name (東大 -> 東京大学, 慶応大学 -> 慶應義塾大学), or None when unknown."""
        if not name:
            return None
        key = normalise_university(name)
        return self._index.get(key) if key else None


class RankTable:
    """A tenant's university -> rank letter table, matched through canonical names and keys."""

    def __init__(self, *, entries: dict[str, str], default_rank: str, matcher: UniversityMatcher) -> None:
        self.default_rank = _rank_letter(default_rank)
        self.matcher = matcher
        self._by_canonical: dict[str, tuple[str, str]] = {}
        self._by_key: dict[str, tuple[str, str]] = {}
        # Pairs of table rows that name the same school ("東京工業大学" and "東京科学大学");
        # the first row wins and the caller can show these as a warning.
        self.conflicts: list[tuple[str, str]] = []
        first_written: dict[tuple[str, str], str] = {}
        for written, rank in entries.items():
            key = normalise_university(written)
            if not key:
                continue
            letter = _rank_letter(rank)
            canonical = matcher.canonical(written)
            # An unknown school has no canonical name; the tenant's own spelling stands in.
            match = (letter, canonical or nfkc(written))
            slot = ("canonical", canonical) if canonical else ("key", key)
            if slot in first_written:
                self.conflicts.append((first_written[slot], written))
                continue
            first_written[slot] = written
            if canonical:
                self._by_canonical[canonical] = match
            self._by_key.setdefault(key, match)

    def rank_for(self, university: str | None) -> tuple[str, str | None]:
        """(rank, matched name): the canonical name of the matched row, or None for the default."""
        if not university or not normalise_university(university):
            return self.default_rank, None
        canonical = self.matcher.canonical(university)
        match = self._by_canonical.get(canonical) if canonical else None
        if match is None:
            match = self._by_key.get(normalise_university(university))
        if match is None:
            return self.default_rank, None
        return match


def _rank_letter(rank: str) -> str:
    # Tenants type ranks in Excel with the IME on, so "Ａ" and "a" are accepted as "A".
    letter = nfkc(rank).upper()
    if not _RANK.fullmatch(letter):
        raise FieldError(gettext("ランクはAからZまでの1文字で指定してください（%(rank)s）") % {"rank": rank})
    return letter
