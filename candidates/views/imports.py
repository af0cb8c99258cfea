"""Upload a job-board export, preview its mapping, import it in the background with a progress bar."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.permissions import ADMINS, role_required
from candidates.boards import PRESETS
from candidates.errors import ImportFileError
from candidates.forms import UploadForm
from candidates.models import ImportJob, ImportMapping
from candidates.selectors import import_job_list
from candidates.services.jobs import (
    FIELD_CHOICES,
    MAX_UPLOAD_BYTES,
    import_headers_preview,
    import_job_preview,
    import_job_progress,
    import_job_start,
    import_mapping_save,
    import_upload,
)

FIELD_LABELS = dict(FIELD_CHOICES)

ERROR_STATUS = {"too_large": 413}


def _declared_size(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _boards() -> list[tuple[str, str]]:
    saved = [(mapping.name, mapping.label) for mapping in ImportMapping.objects.all()]
    return [("auto", gettext("自動判定"))] + [(key, preset.label) for key, preset in PRESETS.items()] + saved


@role_required(*ADMINS)
def import_upload_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and _declared_size(request) > MAX_UPLOAD_BYTES + 1024 * 1024:
        # Refused from the header alone, before Django reads the body into a temporary file.
        context = {"form": UploadForm(boards=_boards()), "jobs": import_job_list()[:20]}
        context["error"] = gettext(
            "ファイルが大きすぎます（上限 %(size)s MB）。分割してアップロードしてください。"
        ) % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)}
        return render(request, "candidates/import_upload.html", context, status=413)
    form = UploadForm(request.POST or None, request.FILES or None, boards=_boards())
    context = {"form": form, "jobs": import_job_list()[:20]}
    if request.method != "POST":
        return render(request, "candidates/import_upload.html", context)
    if not form.is_valid():
        return render(request, "candidates/import_upload.html", context, status=400)
    try:
        job, _preview = import_upload(
            upload=form.cleaned_data["file"], board=form.cleaned_data.get("board") or None, user=request.user
        )
    except ImportFileError as error:
        form.add_error("file", error.message)
        return render(
            request, "candidates/import_upload.html", context, status=ERROR_STATUS.get(error.code, 400)
        )
    return redirect("candidates:import_job", job_id=job.pk)


@role_required(*ADMINS)
def import_job_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id)
    preview = None
    error = ""
    can_start = False
    if job.status == ImportJob.Status.PENDING and job.started_at is None:
        try:
            preview = import_job_preview(job=job)
            can_start = True
        except ImportFileError as problem:
            error = problem.message
            if problem.code == "mapping":
                preview = import_headers_preview(path=Path(job.stored_path))
    return render(
        request,
        "candidates/import_job.html",
        {
            "job": job,
            "preview": preview,
            "can_start": can_start,
            "error": error,
            "progress": import_job_progress(job=job),
            "field_choices": FIELD_CHOICES,
            "header_fields": list(zip(preview.headers, preview.fields, strict=True)) if preview else [],
        },
    )


@require_POST
@role_required(*ADMINS)
def import_mapping_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """Save the column mapping chosen on the preview (one select per header) and re-preview."""
    job = get_object_or_404(ImportJob, pk=job_id)
    headers = request.POST.getlist("header")
    columns: dict[str, str] = {}
    for index, header in enumerate(headers):
        field = request.POST.get(f"field-{index}", "")
        if field:
            if field in columns:
                messages.error(
                    request,
                    gettext("「%(field)s」が複数の列に割り当てられています。")
                    % {"field": FIELD_LABELS.get(field, field)},
                )
                return redirect("candidates:import_job", job_id=job.pk)
            columns[field] = header
    try:
        import_mapping_save(
            job_id=job.pk,
            name=request.POST.get("name", "").strip(),
            label=request.POST.get("label", ""),
            columns=columns,
        )
    except ImportFileError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("列の対応を保存しました。次回から媒体の選択肢に表示されます。"))
    return redirect("candidates:import_job", job_id=job.pk)


@require_POST
@role_required(*ADMINS)
def import_start_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id)
    try:
        import_job_start(job_id=job.pk)
    except ImportFileError as error:
        messages.error(request, error.message)
    return redirect("candidates:import_job", job_id=job.pk)


@role_required(*ADMINS)
def import_progress_view(request: HttpRequest, job_id: int) -> JsonResponse:
    job = get_object_or_404(ImportJob, pk=job_id)
    data = import_job_progress(job=job)
    if job.status == ImportJob.Status.DONE:
        data["report"] = job.report
    return JsonResponse(data)
