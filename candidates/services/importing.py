"""Import job-board CSV exports: dedupe on strong keys, flag possible duplicates, write in batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from django.db import connection
from django.utils import timezone

from candidates.csvsource import CSVSource, CSVSourceError
from candidates.errors import ImportFileError
from candidates.models import Entry, ErasedRow, RerankRun
from candidates.services.import_matching import rows_fetch

# The writer's helpers are private to this package: the import service is their only caller.
from candidates.services.import_writer import (
    BATCH_SIZE,
    ImportReport,
    _batches,
    _BatchWriter,
    _WriterThread,
)
from candidates.services.normalising import (
    NormalisedRow,
    Normaliser,
    board_resolve,
    source_open,
)
from candidates.services.ranks import rank_table_load, rerank_schedule
from tenants.selectors import current_schema

# i18n: data — the refused row's reason is recorded in the import's report
ERASED_ROW_REASON = "削除（または匿名化）した学生の行のため取り込みませんでした"

__all__ = ["ImportReport", "board_resolve", "entries_import", "entries_import_file", "source_open"]


def _combined(report: ImportReport, written: ImportReport) -> ImportReport:
    report.created = written.created
    report.merged = written.merged
    report.possible_duplicates = written.possible_duplicates
    return report


def entries_import(
    *,
    source: CSVSource,
    job_id: int | None = None,
    on_progress: Callable[[ImportReport], None] | None = None,
    batch_size: int = BATCH_SIZE,
    parallel: bool | None = None,
) -> ImportReport:
    """Import every row of an opened source; each batch commits on its own (re-running is a no-op).

    With `parallel` (the default outside a transaction) batches are written by a second thread on
    its own connection; inside a caller's transaction everything stays on the caller's connection.
    """
    board = source.preset.key
    report = ImportReport(board=board, board_label=source.preset.label, encoding=source.encoding)
    written = ImportReport()
    started = timezone.now()
    normaliser = Normaliser(source=source, board=board, ranks=rank_table_load())
    writer = _BatchWriter(board=board, job_id=job_id, report=written)
    if parallel is None:
        parallel = not connection.in_atomic_block
    thread = _WriterThread(writer=writer, schema_name=current_schema()) if parallel else None
    unchanged = 0
    try:
        for batch in _batches(source.rows(), batch_size):
            identities = [normaliser.identity(source_row) for source_row in batch]
            # Rows imported before skip normalisation; the writer still checks every row it gets.
            known = set(
                rows_fetch(
                    f"SELECT dedupe_key, row_hash FROM {Entry._meta.db_table}"
                    " WHERE board = %s AND dedupe_key = ANY(%s)",
                    [board, [identity[1] for identity in identities]],
                )
            )
            erased = {
                row_hash
                for (row_hash,) in rows_fetch(
                    f"SELECT row_hash FROM {ErasedRow._meta.db_table} WHERE board = %s AND row_hash = ANY(%s)",
                    [board, [identity[2] for identity in identities]],
                )
            }
            good: list[NormalisedRow] = []
            for source_row, identity in zip(batch, identities, strict=True):
                if (identity[1], identity[2]) in known:
                    unchanged += 1
                    continue
                if identity[2] in erased:
                    report.refused.append(
                        {"line": source_row.line, "column": "", "reason": ERASED_ROW_REASON}
                    )
                    continue
                result = normaliser.row(source_row, identity)
                if isinstance(result, dict):
                    report.refused.append(result)
                else:
                    good.append(result)
            report.rows += len(batch)
            if good:
                if thread is not None:
                    thread.put(good)
                else:
                    writer.write(good)
            report.unchanged = unchanged + written.unchanged
            if on_progress is not None:
                on_progress(_combined(report, written))
        if thread is not None:
            thread.close()
            thread = None
    except CSVSourceError as error:
        raise ImportFileError(error.message, code=error.code) from None
    finally:
        if thread is not None:
            thread.close()
    report.unchanged = unchanged + written.unchanged
    _combined(report, written)
    # Ranks were computed with the table as it was when the import began; if it changed since,
    # the students imported after that change are ranked again.
    if report.created and RerankRun.objects.filter(created_at__gte=started).exists():
        rerank_schedule(reason="取り込み中にランク表が変更されたため再計算")  # i18n: data — a recorded reason
    if on_progress is not None:
        on_progress(report)
    return report


def entries_import_file(
    *,
    fileobj: BinaryIO,
    board: str | None = None,
    job_id: int | None = None,
    on_progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Open and import one file (the command line and the background job use this)."""
    with source_open(fileobj=fileobj, board=board) as source:
        return entries_import(source=source, job_id=job_id, on_progress=on_progress)
