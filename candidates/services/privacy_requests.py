"""Students' APPI requests: made on the My Page (or recorded by a recruiter), answered by the company.

開示 (disclosure) is answered with the export of `privacy_data`, 訂正 (correction) with
`candidate_correct`, 利用停止 (stop use) with `student_stop_use`, 削除 (deletion) with `student_erase`
and its receipt. The student gets a notice when the request is received and when it is answered.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from candidates.errors import PrivacyRequestError
from candidates.models import Candidate, CandidateEvent, PrivacyRequest
from candidates.personal_data import ERASED_NOTICE_PREFIX, student_mail
from candidates.services.audit import audit_record
from candidates.services.erasure import student_erase
from candidates.services.privacy_data import student_root, student_stop_use

DETAILS_LIMIT = 2000


def _notice(*, request: PrivacyRequest, key: str, to: str, subject: str, lines: list[str]) -> None:
    body = "\n".join(
        [
            *lines,
            "",
            gettext("受付番号: %(number)s") % {"number": request.number},
            gettext("このメールは送信専用です。お問い合わせは採用担当までお願いいたします。"),
        ]
    )
    student_mail(key=key, to=to, subject=subject, body=body, candidate_id=request.candidate_id)


def _staff_notice(*, request: PrivacyRequest) -> None:
    """The company's admins hear of a new request (no student name in the mail: the queue shows it)."""
    from accounts.models import Role, User

    for admin in User.objects.filter(role=Role.ADMIN, is_active=True).exclude(email=""):
        student_mail(
            key=f"privacy-staff:{request.pk}:{admin.pk}",
            to=admin.email,
            subject=gettext("個人情報に関する請求を受け付けました（%(kind)s %(number)s）")
            % {"kind": request.get_kind_display(), "number": request.number},
            body=gettext(
                "学生から個人情報の%(kind)sの請求がありました（受付番号 %(number)s）。\n"
                "法律上、遅滞なく対応する必要があります。採用管理画面の「個人情報の請求」から対応してください。"
            )
            % {"kind": request.get_kind_display(), "number": request.number},
            candidate_id=None,
        )


@transaction.atomic
def privacy_request_create(
    *, candidate: Candidate, kind: str, details: str = "", by_staff: Any = None
) -> PrivacyRequest:
    """Record a request (from the student's My Page, or by a recruiter who received it another way)."""
    if kind not in PrivacyRequest.Kind.values:
        raise PrivacyRequestError(gettext("請求の種類を選んでください。"))
    details = (details or "").strip()
    if len(details) > DETAILS_LIMIT:
        raise PrivacyRequestError(
            gettext("内容は%(limit)s文字以内で入力してください。") % {"limit": DETAILS_LIMIT}
        )
    if kind == PrivacyRequest.Kind.CORRECTION and not details:
        raise PrivacyRequestError(gettext("訂正してほしい内容を入力してください。"))
    try:
        with transaction.atomic():
            request = PrivacyRequest.objects.create(
                candidate=candidate, candidate_ref=candidate.pk, kind=kind, details=details
            )
    except IntegrityError:
        raise PrivacyRequestError(
            gettext("同じ種類の請求をすでに受け付けています。対応が終わるまでお待ちください。")
        ) from None
    actor = by_staff if getattr(by_staff, "is_authenticated", False) else None
    # i18n: data — a history record
    CandidateEvent.objects.create(
        candidate=candidate,
        kind="privacy",
        message=f"個人情報の{request.get_kind_display()}の請求を受付（{request.number}）",
        user=actor,
    )
    if actor is not None:
        audit_record(
            user=actor,
            action="privacy_request",
            student_count=1,
            target=request.number,
            candidate_ids=[candidate.pk],
        )
    _notice(
        request=request,
        key=f"privacy-received:{request.pk}",
        to=candidate.email,
        subject=gettext("個人情報に関するご請求を受け付けました（%(number)s）") % {"number": request.number},
        lines=[
            gettext("%(name)s 様") % {"name": candidate.full_name or gettext("ご本人")},
            "",
            gettext("個人情報の%(kind)sのご請求を受け付けました。") % {"kind": request.get_kind_display()},
            gettext("内容を確認のうえ、遅滞なく対応し、結果をお知らせします。"),
        ],
    )
    _staff_notice(request=request)
    return request


def _open_request(request_id: int) -> PrivacyRequest:
    request = PrivacyRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise PrivacyRequestError(gettext("請求が見つかりません。"))
    if request.status != PrivacyRequest.Status.OPEN:
        raise PrivacyRequestError(gettext("この請求はすでに対応済みです。"))
    root = student_root(candidate_id=request.candidate_id) if request.candidate_id else None
    if root is None:
        raise PrivacyRequestError(gettext("この学生の情報はすでに削除されています。"))
    if root != request.candidate_id:
        # A recruiter merged the student's record into another since: the request follows the student.
        try:
            with transaction.atomic():
                PrivacyRequest.objects.filter(pk=request.pk).update(candidate_id=root, candidate_ref=root)
        except IntegrityError:
            pass  # the keeper has the same request open: this one still reaches the student through the merge
        request.refresh_from_db()
    return request


def _close(*, request: PrivacyRequest, status: str, response: str, user: Any) -> None:
    request.status = status
    request.response = response
    request.closed_at = timezone.now()
    request.closed_by = user if getattr(user, "is_authenticated", False) else None
    request.save(update_fields=["status", "response", "closed_at", "closed_by", "receipt"])


@transaction.atomic
def privacy_request_close(
    *, request_id: int, user: Any, ip: str | None = None, declined: bool = False, response: str = ""
) -> PrivacyRequest:
    """Answer a request: done (利用停止 takes effect here), or declined with the reason the student gets."""
    request = _open_request(request_id)
    response = (response or "").strip()[:DETAILS_LIMIT]
    if declined and not response:
        raise PrivacyRequestError(gettext("対応できない理由を入力してください（学生に通知されます）。"))
    if not declined and request.kind == PrivacyRequest.Kind.DELETION:
        raise PrivacyRequestError(gettext("削除の請求は「削除を実行」で完了してください。"))
    if not declined and request.kind == PrivacyRequest.Kind.STOP_USE:
        student_stop_use(candidate_id=request.candidate_id, user=user, ip=ip)  # type: ignore[arg-type]
    status = PrivacyRequest.Status.DECLINED if declined else PrivacyRequest.Status.DONE
    _close(request=request, status=status, response=response, user=user)
    audit_record(
        user=user,
        action="privacy_request_close",
        student_count=1,
        target=f"{request.number} {status}",
        ip=ip,
        candidate_ids=[request.candidate_ref],
    )
    candidate = request.candidate
    _notice(
        request=request,
        key=f"privacy-closed:{request.pk}",
        to=candidate.email if candidate else "",
        subject=gettext("個人情報に関するご請求への回答（%(number)s）") % {"number": request.number},
        lines=[
            (
                gettext("個人情報の%(kind)sのご請求について、対応いたしかねます。理由は次のとおりです。")
                if declined
                else gettext("個人情報の%(kind)sのご請求について、対応が完了しました。")
            )
            % {"kind": request.get_kind_display()},
            *([""] + response.splitlines() if response else []),
        ],
    )
    return request


@transaction.atomic
def privacy_request_erase(*, request_id: int, user: Any, ip: str | None = None) -> PrivacyRequest:
    """Carry out a deletion request: erase the student everywhere and keep the receipt on the request."""
    request = _open_request(request_id)
    if request.kind != PrivacyRequest.Kind.DELETION:
        raise PrivacyRequestError(gettext("削除の請求ではありません。"))
    address = request.candidate.email if request.candidate else ""
    receipt = student_erase(candidate_id=request.candidate_id, user=user, ip=ip, reason=request.number)  # type: ignore[arg-type]
    request.refresh_from_db()
    request.receipt = receipt.as_dict()
    _close(request=request, status=PrivacyRequest.Status.DONE, response=gettext("削除しました。"), user=user)
    # The last mail to the student; its address is blanked in the outbox once it has gone.
    student_mail(
        key=f"{ERASED_NOTICE_PREFIX}{request.pk}",
        to=address,
        subject=gettext("個人情報の削除が完了しました（%(number)s）") % {"number": request.number},
        body=gettext(
            "ご請求により、当社の採用管理システムからあなたの個人情報（登録情報、エントリー、予約、"
            "メールの履歴を含みます）を削除しました。今後、このアドレスにご連絡することはありません。\n\n"
            "受付番号: %(number)s\n削除日時: %(erased_at)s"
        )
        % {"number": request.number, "erased_at": receipt.erased_at[:16].replace("T", " ")},
        candidate_id=None,
    )
    return request
