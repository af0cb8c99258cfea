"""Job-board column presets: which CSV headers mean which candidate field, and board detection."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

CANONICAL_FIELDS: tuple[str, ...] = (
    "board_member_id",
    "full_name",
    "family_name",
    "given_name",
    "full_kana",
    "family_kana",
    "given_kana",
    "gender",
    "birth_date",
    "email",
    "phone",
    "school_type",
    "university",
    "faculty",
    "department",
    "faculty_department",
    "humanities_science",
    "graduation",
    "entry_at",
)

NAME_FIELDS: frozenset[str] = frozenset(
    {"full_name", "family_name", "given_name", "full_kana", "family_kana", "given_kana"}
)
CONTACT_FIELDS: frozenset[str] = frozenset({"email", "phone"})

# Below this many matched fields a guess is worse than asking the recruiter for a mapping.
MIN_DETECTION_SCORE = 3

# NFKC leaves these bracket and dash variants alone, yet exports use them interchangeably.
_HEADER_TRANSLATION = str.maketrans(
    {
        "【": "(",
        "】": ")",
        "〔": "(",
        "〕": ")",
        "[": "(",
        "]": ")",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)


class MappingError(Exception):
    """The file's columns cannot be mapped to candidate fields."""

    code = "mapping"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalize_header(*, name: str) -> str:
    """Return the comparison form of a header: NFKC, case-folded, without any whitespace."""
    text = unicodedata.normalize("NFKC", name).translate(_HEADER_TRANSLATION).casefold()
    return "".join(text.split()).lstrip("\ufeff")


@dataclass(frozen=True)
class BoardPreset:
    """Accepted header names per canonical field; earlier aliases win when several are present."""

    key: str
    label: str
    columns: dict[str, tuple[str, ...]]
    id_column: str | None = None
    _lookup: dict[str, tuple[str, int]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        lookup: dict[str, tuple[str, int]] = {}
        for canonical, aliases in self.columns.items():
            if canonical not in CANONICAL_FIELDS:
                raise ValueError(f"{self.key}: unknown canonical field {canonical!r}")
            for rank, alias in enumerate(aliases):
                normalized = normalize_header(name=alias)
                owner = lookup.get(normalized)
                if owner is not None and owner[0] != canonical:
                    raise ValueError(
                        f"{self.key}: header {alias!r} is an alias of both {owner[0]} and {canonical}"
                    )
                lookup.setdefault(normalized, (canonical, rank))
        object.__setattr__(self, "_lookup", lookup)

    def __hash__(self) -> int:
        # The generated hash would fail on the dict field; key and label identify a preset.
        return hash((self.key, self.label))

    def field_for(self, *, header: str) -> tuple[str, int] | None:
        """Return (canonical field, alias rank) for a header, or None if the preset ignores it."""
        return self._lookup.get(normalize_header(name=header))


@dataclass(frozen=True)
class ColumnMap:
    """Where each canonical field sits in one file's header row."""

    fields: dict[str, int]
    unmapped_headers: list[str]
    missing: list[str]


# A field is not missing when the same data arrives joined (氏名) or split (姓 + 名) instead.
_COVERED_BY: dict[str, tuple[str, ...]] = {
    "full_name": ("family_name", "given_name"),
    "family_name": ("full_name",),
    "given_name": ("full_name",),
    "full_kana": ("family_kana", "given_kana"),
    "family_kana": ("full_kana",),
    "given_kana": ("full_kana",),
    "faculty_department": ("faculty", "department"),
    "faculty": ("faculty_department",),
    "department": ("faculty_department",),
}

# Aliases shared by every board; board presets put their own spellings first so those win.
_COMMON_COLUMNS: dict[str, tuple[str, ...]] = {
    "board_member_id": ("会員ID", "応募者ID", "エントリーID", "学生ID", "ID"),
    "full_name": (
        "氏名",
        "氏名(漢字)",
        "漢字氏名",
        "名前",
        "お名前",
        "学生氏名",
        "応募者氏名",
        "姓名",
        "氏名漢字",
    ),
    "family_name": (
        "姓",
        "氏名(姓)",
        "漢字氏名(姓)",
        "姓(漢字)",
        "漢字姓",
        "氏",
        "苗字",
        "名字",
    ),
    "given_name": ("名", "氏名(名)", "漢字氏名(名)", "名(漢字)", "漢字名"),
    "full_kana": (
        "氏名(カナ)",
        "氏名(フリガナ)",
        "氏名(ふりがな)",
        "カナ氏名",
        "フリガナ",
        "ふりがな",
        "氏名カナ",
        "カナ",
        "よみがな",
        "ヨミガナ",
    ),
    "family_kana": (
        "セイ",
        "カナ氏名(セイ)",
        "氏名(セイ)",
        "姓(カナ)",
        "姓(フリガナ)",
        "フリガナ(姓)",
        "カナ姓",
        "姓カナ",
        "せい",
    ),
    "given_kana": (
        "メイ",
        "カナ氏名(メイ)",
        "氏名(メイ)",
        "名(カナ)",
        "名(フリガナ)",
        "フリガナ(名)",
        "カナ名",
        "名カナ",
        "めい",
    ),
    "gender": ("性別",),
    "birth_date": ("生年月日", "誕生日"),
    "email": (
        "メールアドレス",
        "PCメールアドレス",
        "PCメール",
        "E-mail",
        "Eメール",
        "Email",
        "E-mailアドレス",
        "メール",
        "メールアドレス1",
        "mail",
        "携帯メールアドレス",
        "携帯メール",
    ),
    "phone": (
        "携帯電話番号",
        "携帯番号",
        "携帯電話",
        "携帯",
        "電話番号",
        "連絡先電話番号",
        "TEL",
        "電話",
        "自宅電話番号",
    ),
    "school_type": ("学校区分", "学校種別", "学校種類", "学歴区分"),
    "university": (
        "学校名",
        "大学名",
        "大学・大学院名",
        "在籍学校名",
        "大学",
        "学校",
        "出身校",
    ),
    "faculty": ("学部名", "学部", "学部・研究科", "研究科", "学部研究科"),
    "department": ("学科名", "学科", "学科・専攻", "専攻", "専攻名", "学科専攻"),
    "faculty_department": (
        "学部・学科",
        "学部学科",
        "学部・学科名",
        "学部学科名",
        "学部/学科",
        "所属",
    ),
    "humanities_science": ("文理区分", "文理", "文系/理系", "文理選択"),
    "graduation": (
        "卒業予定年月",
        "卒業年度",
        "卒業予定年度",
        "卒業予定",
        "卒業年月",
        "卒業年",
        "卒業見込",
    ),
    "entry_at": (
        "エントリー日時",
        "エントリー日",
        "エントリー日付",
        "応募日時",
        "応募日",
        "登録日時",
        "登録日",
    ),
}


def _with_common(specific: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    columns: dict[str, tuple[str, ...]] = {}
    for canonical in CANONICAL_FIELDS:
        merged = specific.get(canonical, ()) + _COMMON_COLUMNS.get(canonical, ())
        columns[canonical] = tuple(dict.fromkeys(merged))
    return columns


MYNAVI = BoardPreset(
    key="mynavi",
    label="マイナビ",
    id_column="マイナビID",
    columns=_with_common(
        {
            "board_member_id": ("マイナビID", "マイナビ会員ID", "マイナビ管理番号"),
            "phone": ("携帯電話番号", "携帯番号", "自宅電話番号"),
            "graduation": ("卒業予定年月", "卒業年度"),
            "entry_at": ("エントリー日時",),
        }
    ),
)

RIKUNABI = BoardPreset(
    key="rikunabi",
    label="リクナビ",
    id_column="リクナビ会員ID",
    columns=_with_common(
        {
            "board_member_id": ("リクナビ会員ID", "リクナビID", "リクナビ管理番号"),
            "family_name": ("漢字氏名(姓)", "氏名(姓)"),
            "given_name": ("漢字氏名(名)", "氏名(名)"),
            "family_kana": ("カナ氏名(セイ)", "カナ氏名(姓)"),
            "given_kana": ("カナ氏名(メイ)", "カナ氏名(名)"),
            "phone": ("電話番号", "携帯電話番号"),
            "university": ("大学名", "学校名"),
            "faculty_department": ("学部・学科", "学部学科"),
            "graduation": ("卒業年度", "卒業予定年月"),
            "entry_at": ("エントリー日", "エントリー日時"),
        }
    ),
)

GENERIC = BoardPreset(key="generic", label="その他（汎用）", columns=_with_common({}))

PRESETS: dict[str, BoardPreset] = {preset.key: preset for preset in (MYNAVI, RIKUNABI, GENERIC)}


def mapping_from_saved(*, key: str, label: str, columns: dict[str, str]) -> BoardPreset:
    """Build a preset from a recruiter's saved mapping (canonical field -> header in their file)."""
    aliases: dict[str, tuple[str, ...]] = {}
    owners: dict[str, str] = {}
    for canonical, header in columns.items():
        if canonical not in CANONICAL_FIELDS:
            raise MappingError(f"列の対応付けに不明な項目「{canonical}」が含まれています。")
        if not header or not header.strip():
            continue
        normalized = normalize_header(name=header)
        if normalized in owners:
            raise MappingError(
                f"列「{header.strip()}」が複数の項目に割り当てられています。1つの列は1つの項目にだけ割り当ててください。"
            )
        owners[normalized] = canonical
        aliases[canonical] = (header.strip(),)
    id_header = aliases.get("board_member_id", (None,))[0]
    return BoardPreset(key=key, label=label, columns=aliases, id_column=id_header)


def _score(*, normalized_headers: Iterable[str], preset: BoardPreset) -> int:
    matched = set()
    for header in normalized_headers:
        hit = preset._lookup.get(header)
        if hit is not None:
            matched.add(hit[0])
    return len(matched)


def detect_board(*, headers: list[str], candidates: Iterable[BoardPreset]) -> BoardPreset | None:
    """Pick the preset whose ID column is present, else the clear best match; None when unsure."""
    normalized = [normalize_header(name=header) for header in headers]
    present = set(normalized)
    scored = [(_score(normalized_headers=normalized, preset=preset), preset) for preset in candidates]
    with_id = [
        (score, preset)
        for score, preset in scored
        if preset.id_column and normalize_header(name=preset.id_column) in present
    ]
    # The board's own member-ID column is the strongest signal there is; header overlap only
    # decides between presets that share it (or when no preset's ID column is present).
    pool = with_id or [(score, preset) for score, preset in scored if score >= MIN_DETECTION_SCORE]
    if not pool:
        return None
    pool.sort(key=lambda item: item[0], reverse=True)
    if len(pool) > 1 and pool[0][0] == pool[1][0]:
        return None
    return pool[0][1]


def resolve_columns(*, headers: list[str], preset: BoardPreset) -> ColumnMap:
    """Map each canonical field to a header index; raise MappingError if no name or contact."""
    best: dict[str, tuple[int, int]] = {}
    for index, header in enumerate(headers):
        hit = preset.field_for(header=header)
        if hit is None:
            continue
        canonical, rank = hit
        current = best.get(canonical)
        # Prefer the better alias (e.g. PC mail over mobile mail); on equal rank the leftmost wins.
        if current is None or rank < current[0]:
            best[canonical] = (rank, index)
    fields = {canonical: best[canonical][1] for canonical in CANONICAL_FIELDS if canonical in best}
    used = set(fields.values())
    unmapped = [header for index, header in enumerate(headers) if index not in used]
    missing = [
        canonical
        for canonical in preset.columns
        if canonical not in fields and not any(other in fields for other in _COVERED_BY.get(canonical, ()))
    ]
    if not (fields.keys() & (NAME_FIELDS | CONTACT_FIELDS)):
        raise MappingError(
            "氏名の列も連絡先（メールアドレス・電話番号）の列も見つかりません。"
            f"「{preset.label}」の列名と一致しないため、列の対応付けを設定してください。"
        )
    return ColumnMap(fields=fields, unmapped_headers=unmapped, missing=missing)
