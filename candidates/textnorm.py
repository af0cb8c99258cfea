"""Normalise Japanese job-board CSV fields: names, kana, e-mail, phone, dates and export cells."""

from __future__ import annotations

import datetime
import re
import unicodedata

import jaconv
from django.utils.translation import gettext

__all__ = [
    "FieldError",
    "is_formula",
    "neutralise_formula",
    "nfkc",
    "normalise_email",
    "normalise_phone",
    "parse_date",
    "parse_graduation",
    "split_name",
    "to_katakana",
]


class FieldError(ValueError):
    """A field value that cannot be normalised; `message` is Japanese and shown to the user.

    The importer adds the line number and column name, so the message only describes the value.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# NFKC already turns U+3000 (ideographic space) into U+0020; \s covers tabs and newlines in cells.
_WHITESPACE_RUN = re.compile(r"\s+")


def nfkc(text: str) -> str:
    """NFKC-normalise, strip, and collapse every whitespace run into one ASCII space."""
    return _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFKC", text)).strip()


# Dashes that people type instead of the long-vowel mark when they write katakana by hand
# (e.g. "ユ-キ" from a Western keyboard); only replaced right after a kana, see to_katakana.
_KANA_DASH = re.compile(r"(?<=[\u3041-\u30ff])[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff70]")


def to_katakana(text: str) -> str:
    """Full-width katakana: half-width katakana and hiragana are converted, 'ー' is kept."""
    # NFKC already widens half-width katakana and composes ﾞ/ﾟ into one code point (ｶﾞ -> ガ),
    # so jaconv is only needed for hiragana -> katakana (which NFKC does not touch).
    # i18n: data — matching tables and patterns for Japanese names, kana and universities
    return _KANA_DASH.sub("ー", jaconv.hira2kata(nfkc(text)))


# Deliberately simple: job boards have already validated deliverability, we only catch typos
# and values from the wrong column. One @, no whitespace, and a domain with a dot in it.
_EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+")


def normalise_email(text: str) -> str | None:
    """Lower-cased e-mail address; None when empty; FieldError when it cannot be an address."""
    value = nfkc(text).lower()
    if not value:
        return None
    if not _EMAIL.fullmatch(value):
        raise FieldError(gettext("メールアドレスの形式が正しくありません"))
    return value


_COUNTRY_CODE = re.compile(r"^\(?\+\s*81\)?")
_NON_DIGIT = re.compile(r"[^0-9]")


def normalise_phone(text: str) -> str | None:
    """Japanese phone number as 10 or 11 digits starting with 0; None when empty."""
    value = nfkc(text)
    if not value:
        return None
    # Every kind of hyphen, dash, bracket and space is dropped by keeping ASCII digits only
    # (NFKC has already turned full-width digits into ASCII ones).
    international = _COUNTRY_CODE.match(value)
    digits = _NON_DIGIT.sub("", value[international.end() :] if international else value)
    if international and not digits.startswith("0"):
        digits = "0" + digits
    elif not international and len(digits) in (9, 10) and not digits.startswith("0"):
        # Spreadsheets store "09012345678" as a number and drop the leading zero; domestic
        # Japanese numbers always start with 0, so putting it back is safe.
        digits = "0" + digits
    if not 10 <= len(digits) <= 11 or not digits.startswith("0"):
        raise FieldError(gettext("電話番号として読めません（%(value)s）") % {"value": text.strip()})
    return digits


# First year of each era, minus one: era year N is Gregorian year OFFSET + N.
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_ERA_OFFSETS = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}

# Excel tends to append a midnight time when it re-saves a date column.
_TRAILING_TIME = r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})" + _TRAILING_TIME),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?" + _TRAILING_TIME),
)
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_ERA_DATE = re.compile(
    r"(明治|大正|昭和|平成|令和|[MTSHR])\s*(\d{1,2}|元)\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?",
    re.IGNORECASE,
)


def _era_year(era: str, year: str) -> int:
    era = _ERA_LETTERS.get(era.upper(), era)
    # No check that the year lies inside the era: forms printed before 2019 still produce
    # "平成32年" and the intent is unambiguous.
    # i18n: data — matching tables and patterns for Japanese names, kana and universities
    return _ERA_OFFSETS[era] + (1 if year == "元" else int(year))


def parse_date(text: str) -> datetime.date | None:
    """Date from the usual Japanese spellings (2004/3/4, 20040304, 2004年3月4日, 平成16年3月4日, H16.3.4)."""
    value = nfkc(text)
    if not value:
        return None
    parts: tuple[int, int, int] | None = None
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(value)
        if match:
            parts = (int(match[1]), int(match[2]), int(match[3]))
            break
    else:
        match = _ERA_DATE.fullmatch(value)
        if match:
            parts = (_era_year(match[1], match[2]), int(match[3]), int(match[4]))
    try:
        if parts is None:
            raise ValueError(value)
        return datetime.date(*parts)
    except ValueError:
        raise FieldError(gettext("日付として読めません（%(value)s）") % {"value": text.strip()}) from None


# "2026年3月卒", "2026/03", "2026年03月卒業見込み", "2026年卒", "2026", "26卒".
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_GRADUATION = re.compile(
    r"(\d{4}|\d{2}(?=\s*年?\s*卒))\s*(?:年度?)?\s*(?:[/\-.]?\s*(\d{1,2})\s*月?)?\s*(?:卒業?(?:見込み?|予定)?)?"
)


def parse_graduation(text: str) -> tuple[int, int] | None:
    """Graduation (year, month); a year alone means March, as in the industry's "2026年卒"."""
    value = nfkc(text)
    if not value:
        return None
    match = _GRADUATION.fullmatch(value)
    if match:
        year = int(match[1])
        # Two-digit years only come from the "26卒" shorthand, which always means 20xx.
        year = year + 2000 if year < 100 else year
        month = int(match[2]) if match[2] else 3
        if 1900 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    raise FieldError(gettext("卒業年月として読めません（%(value)s）") % {"value": text.strip()})


def split_name(
    *, full: str | None = None, family: str | None = None, given: str | None = None
) -> tuple[str, str]:
    """(family, given) from separate columns, or from one column split at its first space."""
    if family or given:
        return nfkc(family or ""), nfkc(given or "")
    value = nfkc(full or "")
    # nfkc has turned the full-width space into an ASCII one; a given name may itself contain
    # a space (foreign students), so only the first one separates family from given.
    family_part, _, given_part = value.partition(" ")
    return family_part, given_part


# OWASP "CSV Injection": cells starting with these are evaluated as formulas by spreadsheets.
# Full-width variants are included because Japanese Excel converts them while the IME is on.
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def is_formula(value: str) -> bool:
    """Whether a spreadsheet would treat the cell as a formula."""
    return value.startswith(_FORMULA_PREFIXES)


def neutralise_formula(value: str) -> str:
    """Prefix a formula-looking cell with a single quote so spreadsheets show it as text."""
    # This also quotes harmless values such as "-123" or "+81 90..."; we accept that because
    # telling a negative number from "-1+cmd|..." reliably is exactly what attackers exploit,
    # and phone numbers are exported in normalised form (leading 0, digits only) anyway.
    return "'" + value if is_formula(value) else value
