"""The dedupe rule: when a shared e-mail address or mobile number may merge two records into one student.

A strong key (e-mail, mobile number) is evidence, not proof: siblings share a family phone or e-mail
address, and students type a parent's number. Two records that share a key are the same student only
when their other identity fields do not clearly disagree:

- the **name** disagrees when both records have one and neither the kana reading nor the written name
  (旧字体 folded to 新字体, full-/half-width, spaces and order of the parts ignored) agrees;
- the **birth date** disagrees when both records have one and they differ.

Either disagreement keeps the records apart; the importer then flags the pair as a possible duplicate
for a recruiter to decide. A missing field never disagrees (an entry with only an e-mail address still
joins that address's student), and a board member ID is never questioned (it is the board's own account).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["Identity", "duplicate_reason", "identity_conflict", "name_key"]

# 旧字体 and other variant kanji that one student writes differently on two boards (髙橋 / 高橋).
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_KANJI_VARIANTS = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "齋": "斎",
        "齊": "斉",
        "邊": "辺",
        "邉": "辺",
        "濵": "浜",
        "濱": "浜",
        "澤": "沢",
        "櫻": "桜",
        "國": "国",
        "廣": "広",
        "德": "徳",
        "惠": "恵",
        "眞": "真",
        "瀨": "瀬",
        "冨": "富",
        "嶋": "島",
        "嶌": "島",
        "槇": "槙",
        "檜": "桧",
        "龍": "竜",
        "實": "実",
        "學": "学",
        "榮": "栄",
        "禮": "礼",
        "壽": "寿",
        "鐵": "鉄",
        "關": "関",
        "圓": "円",
        "淺": "浅",
        "兒": "児",
        "曾": "曽",
        "彌": "弥",
        "條": "条",
        "藏": "蔵",
        "豐": "豊",
        "嶽": "岳",
        "晉": "晋",
        "靜": "静",
    }
)
# Small kana are often typed as large ones (and the other way round) in a reading.
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# i18n: data — matching tables and patterns for Japanese names, kana and universities
_SEPARATORS = re.compile(r"[\s・･=＝.,]+")


def name_key(*, family: str, given: str, kana: bool = False) -> str:
    """A name as compared by the rule: NFKC, variants folded, no separators; '' when there is none."""
    parts = [unicodedata.normalize("NFKC", part).casefold() for part in (family, given)]
    parts = [_SEPARATORS.sub("", part) for part in parts]
    if kana:
        # Readings arrive as katakana already (the normaliser converts hiragana and half-width).
        parts = [part.translate(_SMALL_KANA) for part in parts]
    else:
        parts = [part.translate(_KANJI_VARIANTS) for part in parts]
    return "".join(parts)


def _token_key(family: str, given: str) -> str:
    # "John Smith" on one board and "Smith John" on the other: the same parts in another order.
    tokens = _SEPARATORS.split(unicodedata.normalize("NFKC", f"{family} {given}").casefold())
    return " ".join(sorted(token.translate(_KANJI_VARIANTS) for token in tokens if token))


@dataclass(frozen=True, slots=True)
class Identity:
    """The fields that tell two students apart, as normalised by the importer."""

    family_name: str = ""
    given_name: str = ""
    family_kana: str = ""
    given_kana: str = ""
    birth_date: date | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Identity:
        return cls(
            family_name=values.get("family_name") or "",
            given_name=values.get("given_name") or "",
            family_kana=values.get("family_kana") or "",
            given_kana=values.get("given_kana") or "",
            birth_date=values.get("birth_date"),
        )


def _same_written_name(first: Identity, second: Identity) -> bool | None:
    mine = name_key(family=first.family_name, given=first.given_name)
    theirs = name_key(family=second.family_name, given=second.given_name)
    if not mine or not theirs:
        return None
    if mine == theirs:
        return True
    if _token_key(first.family_name, first.given_name) == _token_key(second.family_name, second.given_name):
        return True
    # One board gave the family name only: it cannot disagree with a full name that starts with it.
    if (not first.given_name or not second.given_name) and (
        mine.startswith(theirs) or theirs.startswith(mine)
    ):
        return None
    return False


def _same_reading(first: Identity, second: Identity) -> bool | None:
    mine = name_key(family=first.family_kana, given=first.given_kana, kana=True)
    theirs = name_key(family=second.family_kana, given=second.given_kana, kana=True)
    if not mine or not theirs:
        return None
    if mine == theirs:
        return True
    if (not first.given_kana or not second.given_kana) and (
        mine.startswith(theirs) or theirs.startswith(mine)
    ):
        return None
    return False


def identity_conflict(*, incoming: Identity, known: Identity) -> str | None:
    """Why two records sharing a strong key are clearly two people (Japanese), or None if they may be one."""
    written, reading = _same_written_name(incoming, known), _same_reading(incoming, known)
    # Either script agreeing is enough: a kana typo with the same kanji, or 斎藤/齋藤 read サイトウ.
    name_differs = (written is False or reading is False) and written is not True and reading is not True
    birth_differs = (
        incoming.birth_date is not None
        and known.birth_date is not None
        and incoming.birth_date != known.birth_date
    )
    if name_differs and birth_differs:
        # i18n: data — the reason is recorded on the possible-duplicate pair
        return "氏名・生年月日が異なる"
    if name_differs:
        # i18n: data — the reason is recorded on the possible-duplicate pair
        return "氏名が異なる"
    if birth_differs:
        # i18n: data — the reason is recorded on the possible-duplicate pair
        return "生年月日が異なる"
    return None


# i18n: data — the reason is recorded on the possible-duplicate pair
_KEY_LABELS = {"email": "メールアドレス", "mobile": "携帯電話番号", "member": "媒体会員ID"}


def duplicate_reason(*, kind: str, conflict: str) -> str:
    """The possible-duplicate reason for a pair kept apart by the rule, e.g. '携帯電話番号が一致（氏名が異なる）'."""
    # i18n: data — the reason is recorded on the possible-duplicate pair
    return f"{_KEY_LABELS.get(kind, kind)}が一致（{conflict}）"
