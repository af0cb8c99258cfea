"""The company's retention policy: set it (after seeing the dry-run count) and run it nightly.

Students who were not hired are deleted or anonymised a number of months after their season ends (see
`RetentionPolicy`). Switching the policy on needs the count of students it would process now, as shown
to the admin: if the count changed in between, nothing is saved and the new count is shown instead.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from candidates.errors import CandidateError, RetentionConfirmError
from candidates.models import RetentionPolicy, SelectionStep
from candidates.selectors import retention_due, retention_policy_get
from candidates.services.audit import audit_record
from candidates.services.erasure import students_anonymise, students_erase


@transaction.atomic
def retention_policy_set(
    *,
    enabled: bool,
    months_after_season: int,
    action: str,
    keep_statuses: list[str],
    confirmed_count: int | None,
    user: Any,
    ip: str | None = None,
) -> RetentionPolicy:
    """Save the policy; switching it on (or changing it while on) needs the dry-run count confirmed."""
    if action not in RetentionPolicy.Action.values:
        raise CandidateError(gettext("処理を選んでください。"))
    if not 1 <= months_after_season <= 120:
        raise CandidateError(gettext("期間は 1〜120 か月で指定してください。"))
    known = set(SelectionStep.objects.values_list("key", flat=True))
    keep = sorted(set(keep_statuses) & known)
    due = retention_due(months_after_season=months_after_season, keep_statuses=keep).count()
    if enabled and confirmed_count != due:
        raise RetentionConfirmError(
            gettext("この設定で処理される学生は %(count)s 名です。人数を確認してから有効にしてください。")
            % {"count": due},
            count=due,
        )
    policy, _created = RetentionPolicy.objects.select_for_update().get_or_create(pk=1)
    policy.enabled = enabled
    policy.months_after_season = months_after_season
    policy.action = action
    policy.keep_statuses = keep
    policy.confirmed_count = due if enabled else 0
    policy.updated_by = user if getattr(user, "is_authenticated", False) else None
    policy.save()
    audit_record(
        user=user,
        action="retention_policy",
        student_count=due if enabled else 0,
        target=f"{'on' if enabled else 'off'} {action} {months_after_season}m keep={','.join(keep)}",
        ip=ip,
    )
    return policy


# Students erased per transaction: a fixed number of statements each, short enough not to hold locks long.
BATCH = 500


def retention_run(*, limit: int | None = None) -> int:
    """Apply the policy to every student due now, a batch per transaction; returns how many."""
    policy = retention_policy_get()
    if not policy.enabled:
        return 0
    due_ids = list(
        retention_due(months_after_season=policy.months_after_season, keep_statuses=policy.keep_statuses)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for start in range(0, len(due_ids), BATCH):
        batch = due_ids[start : start + BATCH]
        if policy.action == RetentionPolicy.Action.ANONYMISE:
            students_anonymise(candidate_ids=batch, user=None)
        else:
            # i18n: data — the audit log's record
            students_erase(candidate_ids=batch, user=None, target="保存期間", audit_action="retention_delete")
        done += len(batch)
    RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=timezone.now(), last_run_count=done)
    return done
