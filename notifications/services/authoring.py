"""Recruiter writes: mail templates, sequences and their steps (validated before saving)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext

from notifications.errors import SequenceError
from notifications.models import MailTemplate, Sequence, SequenceStep, Trigger
from notifications.services.templating import template_validate

if TYPE_CHECKING:
    from seasons.models import Season


def template_save(
    *, template: MailTemplate | None = None, name: str, subject: str, body: str
) -> MailTemplate:
    """Create or update a template; one with an unknown {{ 変数 }} is refused (TemplateVariableError)."""
    if not name.strip():
        raise SequenceError(gettext("テンプレート名を入力してください。"))
    if not subject.strip() or not body.strip():
        raise SequenceError(gettext("件名と本文を入力してください。"))
    template_validate(subject=subject, body=body)
    template = template or MailTemplate()
    template.name, template.subject, template.body = name.strip(), subject.strip(), body
    template.save()
    return template


def sequence_save(
    *,
    sequence: Sequence | None = None,
    name: str,
    trigger: str,
    trigger_status: str = "",
    days_before: int | None = None,
    is_active: bool = False,
    stop_on_booked: bool = False,
    stop_on_statuses: list[str] | None = None,
    season: Season | None = None,
) -> Sequence:
    """Create or change a sequence; a new one belongs to `season` (the default season when None)."""
    if not name.strip():
        raise SequenceError(gettext("シーケンス名を入力してください。"))
    if trigger not in Trigger.values:
        raise SequenceError(gettext("開始のきっかけを選んでください。"))
    if trigger == Trigger.BEFORE_SLOT and not days_before:
        raise SequenceError(gettext("「予約日の N 日前」では日数（1 以上）を入力してください。"))
    sequence = sequence or (Sequence(season=season) if season is not None else Sequence())
    sequence.name = name.strip()
    sequence.trigger = trigger
    sequence.trigger_status = trigger_status.strip() if trigger == Trigger.STATUS_CHANGED else ""
    sequence.days_before = days_before if trigger == Trigger.BEFORE_SLOT else None
    sequence.is_active = is_active
    sequence.stop_on_booked = stop_on_booked
    sequence.stop_on_statuses = [status.strip() for status in (stop_on_statuses or []) if status.strip()]
    sequence.save()
    return sequence


@transaction.atomic
def step_save(
    *,
    sequence: Sequence,
    step: SequenceStep | None = None,
    template: MailTemplate,
    delay_days: int = 0,
    delay_minutes: int = 0,
    send_at_time: dt.time | None = None,
    ranks: list[str] | None = None,
    graduation_years: list[int] | None = None,
    statuses: list[str] | None = None,
    require_not_booked: bool = False,
    boards: list[str] | None = None,
    tags: list[str] | None = None,
) -> SequenceStep:
    if delay_days < 0 or delay_minutes < 0:
        raise SequenceError(gettext("待ち時間は 0 以上で入力してください。"))
    if step is None:
        last = sequence.steps.order_by("-position").values_list("position", flat=True).first() or 0
        step = SequenceStep(sequence=sequence, position=last + 1)
    step.template = template
    step.delay_days, step.delay_minutes, step.send_at_time = delay_days, delay_minutes, send_at_time
    step.ranks = [rank.strip().upper() for rank in (ranks or []) if rank.strip()]
    step.graduation_years = list(graduation_years or [])
    step.statuses = [status.strip() for status in (statuses or []) if status.strip()]
    step.require_not_booked = require_not_booked
    step.boards = [board.strip() for board in (boards or []) if board.strip()]
    step.tags = [tag.strip() for tag in (tags or []) if tag.strip()]
    step.save()
    return step


def step_delete(*, step: SequenceStep) -> None:
    step.delete()
