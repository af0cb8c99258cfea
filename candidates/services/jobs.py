"""Background imports of uploaded files: store the upload, preview it, run it with progress pushes."""

from __future__ import annotations

import csv
import io
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from candidates.boards import PRESETS, MappingError, mapping_from_saved
from candidates.csvsource import HEAD_BYTES, CSVSourceError, _read_header, _sniff_delimiter, detect_encoding
from candidates.errors import ImportFileError
from candidates.models import ImportJob, ImportMapping
from candidates.services.audit import audit_record
from candidates.services.importing import ImportReport, entries_import, source_open
from tenants.selectors import current_schema

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
REPORT_REFUSED_LIMIT = 1000
ABANDONED_AFTER = timedelta(hours=24)
_ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv", ""}
_FIELD_LABELS: dict[str, StrOrPromise] = {
    "board_member_id": _("媒体会員ID"),
    "full_name": _("氏名"),
    "family_name": _("姓"),
    "given_name": _("名"),
    "full_kana": _("氏名（カナ）"),
    "family_kana": _("セイ"),
    "given_kana": _("メイ"),
    "gender": _("性別"),
    "birth_date": _("生年月日"),
    "email": _("メールアドレス"),
    "phone": _("電話番号"),
    "school_type": _("学校区分"),
    "university": _("大学名"),
    "faculty": _("学部"),
    "department": _("学科"),
    "faculty_department": _("学部・学科"),
    "humanities_science": _("文理区分"),
    "graduation": _("卒業予定"),
    "entry_at": _("エントリー日時"),
}


@dataclass(frozen=True)
class ImportPreview:
    board_label: str
    encoding: str
    headers: list[str]
    mapping: list[tuple[str, str]]  # (header in the file, field it maps to or "（取り込まない）")
    fields: list[str]  # canonical field of each header, "" when not imported
    rows: list[list[str]]


def _upload_directory() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "imports" / current_schema()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _preview(*, path: Path, board: str | None) -> tuple[ImportPreview, str]:
    try:
        return _read_preview(path=path, board=board)
    except CSVSourceError as error:  # a bad byte among the first rows
        raise ImportFileError(error.message, code=error.code) from None


def _read_preview(*, path: Path, board: str | None) -> tuple[ImportPreview, str]:
    with path.open("rb") as handle, source_open(fileobj=handle, board=board) as source:
        by_index = {index: name for name, index in source.columns.fields.items()}
        mapping = [
            (header, str(_FIELD_LABELS.get(by_index.get(index, ""), _("（取り込まない）"))))
            for index, header in enumerate(source.headers)
        ]
        rows = [[row.raw.get(header, "") for header in source.headers] for row in source.preview(limit=5)]
        fields = [by_index.get(index, "") for index in range(len(source.headers))]
        preview = ImportPreview(
            board_label=source.preset.label,
            encoding=source.encoding,
            headers=source.headers,
            mapping=mapping,
            fields=fields,
            rows=rows,
        )
        return preview, source.preset.key


def import_headers_preview(*, path: Path) -> ImportPreview:
    """The header row and first rows of a file no preset can map (for the mapping form)."""
    head = path.read_bytes()[:HEAD_BYTES] if path.stat().st_size <= HEAD_BYTES else _head(path)
    try:
        encoding = detect_encoding(head=head)
        delimiter = _sniff_delimiter(head=head, encoding=encoding)
        headers, skipped = _read_header(head=head, encoding=encoding, delimiter=delimiter)
    except CSVSourceError as error:
        raise ImportFileError(error.message, code=error.code) from None
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    records = [
        cells for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(cells)
    ]
    return ImportPreview(
        board_label=gettext("未設定（列の対応付けが必要です）"),
        encoding=encoding,
        headers=headers,
        mapping=[(header, gettext("（取り込まない）")) for header in headers],
        fields=["" for _ in headers],
        rows=records[1 : 1 + 5],
    )


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            lines += chunk.count(b"\n")
    return max(lines - 1, 1)


def abandoned_uploads_delete(*, older_than: timedelta = ABANDONED_AFTER) -> int:
    """Delete uploads previewed but never imported (they hold personal data); returns how many."""
    stale = ImportJob.objects.filter(
        status=ImportJob.Status.PENDING, started_at=None, created_at__lt=timezone.now() - older_than
    )
    count = 0
    for job in stale:
        if job.stored_path:
            Path(job.stored_path).unlink(missing_ok=True)
        job.delete()
        count += 1
    return count


def import_upload(
    *, upload: UploadedFile[bytes], board: str | None, user: Any
) -> tuple[ImportJob, ImportPreview]:
    """Keep an uploaded export for import and return its preview; bad files raise ImportFileError."""
    abandoned_uploads_delete()
    name = Path(upload.name or "upload.csv").name[:200]
    if Path(name).suffix.lower() not in _ALLOWED_SUFFIXES:
        raise ImportFileError(
            gettext(
                "CSVファイル（.csv）を選んでください。Excel形式の場合は「CSV（コンマ区切り）」で保存し直してください。"
            ),
            code="not_csv",
        )
    if not upload.size:
        raise ImportFileError(gettext("ファイルが空です。"), code="empty")
    if upload.size > MAX_UPLOAD_BYTES:
        raise ImportFileError(
            gettext("ファイルが大きすぎます（上限 %(size)s MB）。分割してアップロードしてください。")
            % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="too_large",
        )
    path = _upload_directory() / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    try:
        preview, board_key = _preview(path=path, board=board)
    except ImportFileError as error:
        if error.code != "mapping":
            path.unlink(missing_ok=True)
            raise
        # A readable CSV whose columns no preset knows: keep it, the recruiter maps the columns.
        preview, board_key = import_headers_preview(path=path), "generic"
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(
        filename=name,
        stored_path=str(path),
        board=board_key if board in (None, "", "auto") else (board or board_key),
        encoding=preview.encoding,
        size_bytes=upload.size,
        rows_total=_count_lines(path),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    return job, preview


FIELD_CHOICES = list(_FIELD_LABELS.items())


@transaction.atomic
def import_mapping_save(*, job_id: int, name: str, label: str, columns: dict[str, str]) -> ImportMapping:
    """Save a column mapping (canonical field -> header) under a name and use it for this job."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]{1,39}", name or "") or name in PRESETS:
        raise ImportFileError(
            gettext(
                "名前は半角英小文字で始まる英数字・ハイフン（2〜40文字）で、mynavi・rikunabi 以外にしてください。"
            )
        )
    try:
        mapping_from_saved(key=name, label=label or name, columns=columns)
    except MappingError as error:
        raise ImportFileError(error.message, code="mapping") from None
    mapping, _created = ImportMapping.objects.update_or_create(
        name=name, defaults={"label": (label or name)[:100], "columns": columns}
    )
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.started_at is not None:
        raise ImportFileError(gettext("この取り込みはすでに開始されています。"), code="started")
    job.board = mapping.name
    job.save(update_fields=["board"])
    return mapping


def import_job_preview(*, job: ImportJob) -> ImportPreview:
    path = Path(job.stored_path)
    if not path.exists():
        raise ImportFileError(
            gettext("アップロードしたファイルが見つかりません。もう一度アップロードしてください。")
        )
    preview, _board = _preview(path=path, board=job.board)
    return preview


@transaction.atomic
def import_job_start(*, job_id: int) -> ImportJob:
    """Queue a previewed job for the worker (once)."""
    from candidates.tasks import candidates_import_task, task_queue

    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status != ImportJob.Status.PENDING or job.started_at is not None:
        raise ImportFileError(gettext("この取り込みはすでに開始されています。"), code="started")
    job.started_at = timezone.now()
    job.save(update_fields=["started_at"])
    schema_name = current_schema()
    transaction.on_commit(
        lambda: candidates_import_task.apply_async(args=[schema_name, job.pk], queue=task_queue())
    )
    return job


def _push(*, job: ImportJob, event_type: str) -> None:
    from notifications.services import recruiters_push
    from tenants.models import Tenant

    try:
        tenant = Tenant.objects.get(schema_name=current_schema())
        recruiters_push(tenant=tenant, event={"type": event_type, **import_job_progress(job=job)})
    except Exception:  # the progress bar also polls; a push that fails must not fail the import
        logger.warning("import progress push failed", exc_info=True)


def import_job_progress(*, job: ImportJob) -> dict[str, Any]:
    total = max(job.rows_total, job.rows_processed, 1)
    done = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    return {
        "job": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "rows_processed": job.rows_processed,
        "rows_total": job.rows_total,
        "percent": 100 if done else min(99, job.rows_processed * 100 // total),
        "created": job.created_count,
        "merged": job.merged_count,
        "unchanged": job.unchanged_count,
        "possible_duplicates": job.duplicate_count,
        "refused": job.refused_count,
        "error": job.error,
    }


def import_job_run(*, job_id: int) -> ImportJob:
    """The worker's side: import the stored file, saving progress after every batch.

    A job left 'running' by a worker that died is resumed when the task is delivered again (tasks
    are acknowledged late): rows already imported are skipped, the rest go in. A session lock on
    the job keeps two deliveries from running it at once.
    """
    lock = [f"candidates-job:{current_schema()}:{job_id}"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", lock)
        if not cursor.fetchone()[0]:
            return ImportJob.objects.get(pk=job_id)
    try:
        return _import_job_run(job_id=job_id)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", lock)


def _import_job_run(*, job_id: int) -> ImportJob:
    job = ImportJob.objects.get(pk=job_id)
    if job.status not in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING):
        return job
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status"])
    path = Path(job.stored_path)

    def progress(report: ImportReport) -> None:
        job.rows_processed = report.rows
        job.created_count, job.merged_count = report.created, report.merged
        job.unchanged_count, job.duplicate_count = report.unchanged, report.possible_duplicates
        job.refused_count = len(report.refused)
        job.save(
            update_fields=[
                "rows_processed",
                "created_count",
                "merged_count",
                "unchanged_count",
                "duplicate_count",
                "refused_count",
            ]
        )
        _push(job=job, event_type="import.progress")

    try:
        with path.open("rb") as handle, source_open(fileobj=handle, board=job.board) as source:
            report = entries_import(source=source, job_id=job.pk, on_progress=progress)
    except ImportFileError as error:
        job.status, job.error = ImportJob.Status.FAILED, error.message
    except Exception as error:
        # The type only: database errors quote the offending values (e-mail addresses, names).
        logger.error(
            "import job failed: %s",
            type(error).__name__,
            extra={"job": job.pk, "schema": current_schema()},
        )
        job.status, job.error = (
            ImportJob.Status.FAILED,
            gettext_noop("取り込み中にエラーが発生しました。もう一度お試しください。"),
        )
    else:
        job.status = ImportJob.Status.DONE
        # The page lists refused rows; past a thousand the count says enough (the CLI gives them all).
        job.report = {**report.as_dict(), "refused": report.refused[:REPORT_REFUSED_LIMIT]}
        audit_record(
            user=job.created_by,
            action="import",
            student_count=report.created + report.merged,
            target=job.filename,
        )
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "report", "finished_at"])
    # The upload holds personal data: it is not kept once imported (the rows are, in Entry.original).
    path.unlink(missing_ok=True)
    _push(job=job, event_type="import.finished")
    return job
