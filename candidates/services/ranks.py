"""Rank table writes (rules, default, aliases, CSV upload), re-ranking and manual overrides."""

from __future__ import annotations

import csv
import io
from typing import Any, BinaryIO

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from candidates.boards import normalize_header
from candidates.csvsource import CSVSourceError, detect_encoding
from candidates.errors import RankTableError
from candidates.models import Candidate, CandidateEvent, RankRule, RankSettings, RerankRun, UniversityAlias
from candidates.signals import ranks_changed
from candidates.textnorm import FieldError, nfkc
from candidates.universities import RankTable, UniversityMatcher, _rank_letter, normalise_university
from candidates.webhook_events import candidate_updated_emit
from tenants.selectors import current_schema

MAX_RANK_CSV_BYTES = 2 * 1024 * 1024
RECORDED_CHANGES = 1000


def rank_table_load() -> RankTable:
    """The current schema's rank table, with the tenant's own aliases."""
    aliases = dict(UniversityAlias.objects.values_list("alias", "target"))
    settings_row = RankSettings.objects.first()
    return RankTable(
        entries=dict(RankRule.objects.order_by("id").values_list("university", "rank")),
        default_rank=settings_row.default_rank if settings_row else "Z",
        matcher=UniversityMatcher(extra_aliases=aliases),
    )


def _letter(rank: str) -> str:
    try:
        return _rank_letter(rank)
    except FieldError as error:
        raise RankTableError(error.message) from None


def _key(university: str) -> str:
    key = normalise_university(university)
    if not key:
        raise RankTableError(gettext("大学名を入力してください。"))
    return key


def rerank_schedule(*, reason: str) -> None:
    """Re-rank every student in the background once the current transaction commits."""
    from candidates.tasks import candidates_rerank_task, task_queue

    schema_name = current_schema()
    transaction.on_commit(
        lambda: candidates_rerank_task.apply_async(args=[schema_name, reason], queue=task_queue())
    )


@transaction.atomic
def rank_rule_save(*, university: str, rank: str) -> RankRule:
    """Add or change one row of the table (matched by normalised name) and schedule a re-rank."""
    name = nfkc(university)
    rule, _created = RankRule.objects.update_or_create(
        key=_key(name), defaults={"university": name, "rank": _letter(rank)}
    )
    rerank_schedule(reason=f"ランク表: {name} → {rule.rank}")  # i18n: data — a recorded reason
    return rule


@transaction.atomic
def rank_rule_delete(*, rule_id: int) -> None:
    deleted, _ = RankRule.objects.filter(pk=rule_id).delete()
    if deleted:
        rerank_schedule(reason="ランク表の行を削除")  # i18n: data — a recorded reason


@transaction.atomic
def rank_default_set(*, rank: str) -> RankSettings:
    letter = _letter(rank)
    settings_row = RankSettings.objects.select_for_update().first() or RankSettings()
    settings_row.default_rank = letter
    settings_row.save()
    rerank_schedule(reason=f"既定ランク → {letter}")  # i18n: data — a recorded reason
    return settings_row


@transaction.atomic
def university_alias_add(*, alias: str, target: str) -> UniversityAlias:
    alias_text, target_text = nfkc(alias), nfkc(target)
    if not target_text:
        raise RankTableError(gettext("正式な大学名を入力してください。"))
    row, _created = UniversityAlias.objects.update_or_create(
        key=_key(alias_text), defaults={"alias": alias_text, "target": target_text}
    )
    rerank_schedule(reason=f"別名: {alias_text} → {target_text}")  # i18n: data — a recorded reason
    return row


def _read_rank_csv(fileobj: BinaryIO) -> list[tuple[int, str, str]]:
    data = fileobj.read(MAX_RANK_CSV_BYTES + 1)
    if len(data) > MAX_RANK_CSV_BYTES:
        raise RankTableError(gettext("ファイルが大きすぎます（上限 2 MB）。"))
    try:
        encoding = detect_encoding(head=data[:65536])
        text = data.decode(encoding)
    except CSVSourceError as error:
        raise RankTableError(error.message) from None
    except UnicodeDecodeError:
        raise RankTableError(
            gettext("文字コードを判別できませんでした。UTF-8 または Shift_JIS で保存してください。")
        ) from None
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(reader, None)
    if not header:
        raise RankTableError(gettext("ファイルが空です。"))
    names = [normalize_header(name=cell) for cell in header]
    try:
        # i18n: data — the header names a rank table may use
        university_col = next(
            i for i, n in enumerate(names) if n in ("大学名", "大学", "学校名")
        )  # i18n: data
        rank_col = next(i for i, n in enumerate(names) if n in ("ランク", "rank"))  # i18n: data
    except StopIteration:
        raise RankTableError(gettext("1行目に「大学名」と「ランク」の列名が必要です。")) from None
    rows = []
    errors = []
    for cells in reader:
        if not "".join(cells).strip():
            continue
        line = reader.line_num
        university = cells[university_col] if university_col < len(cells) else ""
        rank = cells[rank_col] if rank_col < len(cells) else ""
        if not nfkc(university):
            errors.append(gettext("%(line)s行目: 大学名が空です") % {"line": line})
            continue
        try:
            rows.append((line, nfkc(university), _rank_letter(rank)))
        except FieldError as error:
            errors.append(gettext("%(line)s行目: %(error)s") % {"line": line, "error": error.message})
    if errors:
        raise RankTableError(gettext("ランク表を読み込めませんでした。") + " / ".join(errors[:20]))
    return rows


@transaction.atomic
def rank_table_import_csv(*, fileobj: BinaryIO, replace: bool) -> int:
    """Load a 大学名,ランク CSV (UTF-8 with or without BOM, or CP932); all rows or none."""
    rows = _read_rank_csv(fileobj)
    if not rows:
        raise RankTableError(gettext("ランク表に行がありません。"))
    if replace:
        RankRule.objects.all().delete()
    by_key: dict[str, RankRule] = {}
    for _line, university, rank in rows:
        by_key.setdefault(_key(university), RankRule(university=university, key=_key(university), rank=rank))
    RankRule.objects.bulk_create(
        by_key.values(), update_conflicts=True, unique_fields=["key"], update_fields=["university", "rank"]
    )
    rerank_schedule(reason=f"ランク表CSVを読み込み（{len(by_key)}件）")  # i18n: data — a recorded reason
    return len(by_key)


_RERANK_SQL = """
UPDATE candidates_candidate AS c SET rank = %s, university = %s, updated_at = now()
FROM (
    SELECT id, rank FROM candidates_candidate
    WHERE university_raw = ANY(%s) AND NOT rank_is_manual AND (rank <> %s OR university <> %s)
    FOR UPDATE
) AS old
WHERE c.id = old.id
RETURNING c.id, old.rank
"""


def candidates_rerank(*, reason: str) -> RerankRun:
    """Re-rank every student without a manual rank; set-based, one UPDATE per (rank, school)."""
    run = RerankRun.objects.create(reason=reason[:200])
    table = rank_table_load()
    groups: dict[tuple[str, str], list[str]] = {}
    raws = Candidate.objects.filter(rank_is_manual=False).values_list("university_raw", flat=True).distinct()
    for raw in raws.iterator():
        rank, _matched = table.rank_for(raw)
        canonical = table.matcher.canonical(raw) or ""
        groups.setdefault((rank, canonical), []).append(raw)
    changes: list[dict[str, Any]] = []
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # Waits for an import batch being written (same lock), so no batch commits half re-ranked.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"candidates-import:{current_schema()}"]
        )
        for (rank, canonical), group in groups.items():
            cursor.execute(_RERANK_SQL, [rank, canonical, group, rank, canonical])
            events = []
            for candidate_id, old in cursor.fetchall():
                if old == rank:
                    continue
                changed += 1
                # i18n: data — a history record
                events.append(
                    CandidateEvent(
                        candidate_id=candidate_id,
                        kind="rank",
                        message=f"ランク再計算: {old} → {rank}（{reason}）"[:500],
                    )
                )
                if len(changes) < RECORDED_CHANGES:
                    changes.append({"candidate": candidate_id, "old": old, "new": rank})
            CandidateEvent.objects.bulk_create(events, batch_size=2000)
            ranks_changed.send(sender=Candidate, candidate_ids=[event.candidate_id for event in events])
        run.changed_count = changed
        run.changes = changes
        run.finished_at = timezone.now()
        run.save(update_fields=["changed_count", "changes", "finished_at"])
    return run


@transaction.atomic
def candidate_rank_override(*, candidate: Candidate, rank: str | None, user: Any) -> Candidate:
    """Set a manual rank (kept through re-ranks), or with None go back to the table's rank."""
    locked = Candidate.objects.select_for_update().get(pk=candidate.pk)
    old = locked.rank
    if rank:
        locked.rank = _letter(rank)
        locked.rank_is_manual = True
        message = f"ランクを手動で設定: {old} → {locked.rank}"  # i18n: data — a history record
    else:
        locked.rank, _matched = rank_table_load().rank_for(locked.university_raw)
        locked.rank_is_manual = False
        message = f"ランクを自動に戻す: {old} → {locked.rank}"  # i18n: data — a history record
    locked.save(update_fields=["rank", "rank_is_manual", "updated_at"])
    CandidateEvent.objects.create(candidate=locked, kind="rank", message=message, user=user)
    if locked.rank != old:
        ranks_changed.send(sender=Candidate, candidate_ids=[locked.pk])
        candidate_updated_emit(candidate_ids=[locked.pk], changed=["rank"])
    return locked
