"""Recruiter pages: sequences and steps, templates with preview, segment mail, mail history, send window."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext

from accounts.permissions import EDITORS, EVERYONE, forbidden, role_required
from candidates.models import Candidate
from candidates.services.audit import audit_request
from notifications import selectors
from notifications.errors import NotificationError
from notifications.forms import MailSettingsForm, SegmentForm, SequenceForm, StepForm, TemplateForm
from notifications.models import MailTemplate, Sequence, SequenceStep, Trigger
from notifications.services import authoring, segments
from notifications.services.schedule import mail_settings_get, mail_settings_update
from notifications.services.templating import VARIABLES, template_preview


def recruiter_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Everyone of the company reads; only admins and recruiters (not viewers) may change anything."""

    @role_required(*EVERYONE)
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST" and request.user.role not in EDITORS:  # type: ignore[operator]
            return forbidden(request, gettext("閲覧のみの権限では変更できません。"))
        return view(request, *args, **kwargs)

    return wrapped


@recruiter_page
def sequence_list_view(request: HttpRequest) -> HttpResponse:
    sequences = list(selectors.sequence_list(season_id=request.season.pk))
    counts = selectors.sequence_counts(sequences=sequences)
    rows = [(sequence, counts.get(sequence.id)) for sequence in sequences]
    return render(request, "notifications/sequence_list.html", {"rows": rows})


@recruiter_page
def sequence_edit_view(request: HttpRequest, sequence_id: int | None = None) -> HttpResponse:
    sequence = get_object_or_404(Sequence, id=sequence_id) if sequence_id else None
    initial = {}
    if sequence is not None:
        initial = {
            "name": sequence.name,
            "trigger": sequence.trigger,
            "trigger_status": sequence.trigger_status,
            "days_before": sequence.days_before,
            "is_active": sequence.is_active,
            "stop_on_booked": sequence.stop_on_booked,
            "stop_on_statuses": ", ".join(sequence.stop_on_statuses),
        }
    form = SequenceForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = authoring.sequence_save(sequence=sequence, season=request.season, **form.cleaned_data)
            except NotificationError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, gettext("シーケンスを保存しました。"))
                return redirect("mail_sequence_edit", sequence_id=saved.id)
        status = 400
    steps = list(selectors.sequence_steps(sequence=sequence)) if sequence else []
    counts = selectors.step_counts(step_ids=[step.id for step in steps])
    context = {
        "form": form,
        "sequence": sequence,
        "steps": [(step, counts.get(step.id)) for step in steps],
        "triggers": Trigger,
    }
    return render(request, "notifications/sequence_edit.html", context, status=status)


@recruiter_page
def step_edit_view(request: HttpRequest, sequence_id: int, step_id: int | None = None) -> HttpResponse:
    sequence = get_object_or_404(Sequence, id=sequence_id)
    step = get_object_or_404(SequenceStep, id=step_id, sequence=sequence) if step_id else None
    if request.method == "POST" and step is not None and request.POST.get("delete"):
        authoring.step_delete(step=step)
        messages.success(request, gettext("ステップを削除しました。"))
        return redirect("mail_sequence_edit", sequence_id=sequence.id)
    initial = {}
    if step is not None:
        initial = {
            "template": step.template_id,
            "delay_days": step.delay_days,
            "delay_minutes": step.delay_minutes,
            "send_at_time": step.send_at_time,
            "ranks": ", ".join(step.ranks),
            "graduation_years": ", ".join(str(year) for year in step.graduation_years),
            "statuses": ", ".join(step.statuses),
            "boards": ", ".join(step.boards),
            "tags": ", ".join(step.tags),
            "require_not_booked": step.require_not_booked,
        }
    form = StepForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                authoring.step_save(sequence=sequence, step=step, **form.cleaned_data)
            except NotificationError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, gettext("ステップを保存しました。"))
                return redirect("mail_sequence_edit", sequence_id=sequence.id)
        return render(
            request,
            "notifications/step_edit.html",
            {"form": form, "sequence": sequence, "step": step},
            status=400,
        )
    return render(request, "notifications/step_edit.html", {"form": form, "sequence": sequence, "step": step})


@recruiter_page
def template_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/template_list.html", {"templates": selectors.template_list()})


def _preview_candidate(request: HttpRequest) -> Candidate | None:
    raw = request.GET.get("candidate") or request.POST.get("candidate") or ""
    if raw.isdigit():
        return Candidate.objects.filter(id=int(raw)).first()
    return Candidate.objects.exclude(email="").order_by("id").first()


@recruiter_page
def template_edit_view(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    template = get_object_or_404(MailTemplate, id=template_id) if template_id else None
    initial = {"name": template.name, "subject": template.subject, "body": template.body} if template else {}
    form = TemplateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = authoring.template_save(template=template, **form.cleaned_data)
            except NotificationError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, gettext("テンプレートを保存しました。"))
                return redirect("mail_template_edit", template_id=saved.id)
        status = 400
    candidate = _preview_candidate(request)
    preview = None
    if template is not None and candidate is not None:
        preview = template_preview(
            subject=template.subject, body=template.body, candidate=candidate, tenant=request.tenant
        )
    context = {
        "form": form,
        "template": template,
        "variables": VARIABLES,
        "candidate": candidate,
        "preview": preview,
    }
    return render(request, "notifications/template_edit.html", context, status=status)


@recruiter_page
def segment_view(request: HttpRequest) -> HttpResponse:
    form = SegmentForm(request.POST or None)
    preview = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            filters = {
                key: data[key] for key in ("ranks", "graduation_years", "statuses", "require_not_booked")
            }
            subject, body = data["subject"], data["body"]
            if data["template"] is not None and not (subject or body):
                subject, body = data["template"].subject, data["template"].body
            recipients = selectors.candidate_filter(**filters, season_id=request.season.pk)
            if request.POST.get("action") == "send":
                try:
                    segment = segments.segment_create(
                        name=data["name"],
                        subject=subject,
                        body=body,
                        filters=filters,
                        send_at=data["send_at"],
                        season=request.season,
                    )
                except NotificationError as error:
                    form.add_error(None, str(error))
                    status = 400
                else:
                    values = {"name": segment.name, "count": recipients.count()}
                    if segment.enqueued_at:
                        notice = gettext("「%(name)s」を今すぐ送信します（%(count)s 名）。") % values
                    else:
                        values["when"] = f"{timezone.localtime(segment.send_at):%Y-%m-%d %H:%M}"
                        notice = gettext("「%(name)s」を%(when)s に送信します（%(count)s 名）。") % values
                    messages.success(request, notice)
                    return redirect("mail_segments")
            sample = recipients.first()
            preview = {
                "count": recipients.count(),
                "sample": sample,
                "subject": subject,
                "body": body,
            }
            if not (subject.strip() and body.strip()) and status == 200:
                form.add_error(None, gettext("件名と本文を入力するか、テンプレートを選んでください。"))
                status = 400
            elif sample is not None and status == 200:
                try:
                    preview["rendered"] = template_preview(
                        subject=subject, body=body, candidate=sample, tenant=request.tenant
                    )
                except NotificationError as error:
                    form.add_error(None, str(error))
                    status = 400
        else:
            status = 400
    context = {
        "form": form,
        "preview": preview,
        "segments": selectors.segment_list(season_id=request.season.pk)[:50],
        "variables": VARIABLES,
    }
    return render(request, "notifications/segments.html", context, status=status)


@recruiter_page
def candidate_history_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(Candidate, id=candidate_id)
    history = selectors.candidate_mail_history(candidate_id=candidate.id)
    # A student's mails are personal data: each reading is audited (and counted by the leak checks).
    # i18n: data — the audit log's record
    audit_request(
        request=request,
        action="read",
        student_count=1,
        target="メール履歴",
        candidate_ids=[candidate.id],
    )
    return render(
        request, "notifications/candidate_history.html", {"candidate": candidate, "history": history}
    )


@recruiter_page
def settings_view(request: HttpRequest) -> HttpResponse:
    current = mail_settings_get()
    form = MailSettingsForm(
        request.POST or None,
        initial={
            "quiet_start": current.quiet_start,
            "quiet_end": current.quiet_end,
            "rate_per_second": current.rate_per_second,
        },
    )
    if request.method == "POST":
        if form.is_valid():
            mail_settings_update(**form.cleaned_data)
            messages.success(request, gettext("配信設定を保存しました。"))
            return redirect("mail_settings")
        return render(request, "notifications/settings.html", {"form": form}, status=400)
    return render(request, "notifications/settings.html", {"form": form})
