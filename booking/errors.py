"""Typed booking errors: each carries the message shown to the student or recruiter, in the active language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class BookingError(Exception):
    """Base of every booking refusal; `code` is stable for APIs and logs, `message` is for people."""

    code = "error"
    message: StrOrPromise = _("予約を受け付けられませんでした。")
    http_status = 400

    def __init__(self, message: StrOrPromise | None = None) -> None:
        if message:
            self.message = message
        super().__init__(self.message)


class SlotNotFoundError(BookingError):
    code = "not_found"
    message = _("指定された日程が見つかりません。")
    http_status = 404


class NotVisibleError(BookingError):
    code = "not_visible"
    message = _("この説明会はご案内の対象外です。")
    http_status = 404


class NotOpenError(BookingError):
    code = "not_open"
    message = _("まだ予約受付が始まっていません。")
    http_status = 409


class DeadlinePassedError(BookingError):
    code = "deadline_passed"
    message = _("予約の締切を過ぎています。")
    http_status = 409


class CancelDeadlinePassedError(BookingError):
    code = "cancel_deadline_passed"
    message = _("キャンセル・変更の締切を過ぎています。")
    http_status = 409


class FullError(BookingError):
    code = "full"
    message = _("あなたのランクの席は満席です。キャンセル待ちに登録できます。")
    http_status = 409


class AlreadyBookedError(BookingError):
    code = "already_booked"
    message = _("この説明会はすでに予約済みです。日程の変更は予約一覧からできます。")
    http_status = 409


class NotBookedError(BookingError):
    code = "not_booked"
    message = _("有効な予約が見つかりません。")
    http_status = 404


class SameSlotError(BookingError):
    code = "same_slot"
    message = _("すでにこの日程で予約しています。")
    http_status = 409


class AlreadyWaitingError(BookingError):
    code = "already_waiting"
    message = _("この日程のキャンセル待ちにすでに登録しています。")
    http_status = 409


class NotFullError(BookingError):
    code = "not_full"
    message = _("この日程にはまだ空席があります。そのまま予約してください。")
    http_status = 409


class OfferExpiredError(BookingError):
    code = "offer_expired"
    message = _("空席のご案内の回答期限を過ぎました。")
    http_status = 409


class QuotaError(BookingError):
    code = "quota_invalid"
    message = _("席数の設定が正しくありません。")
    http_status = 400


class LinkRequestsExceededError(BookingError):
    code = "link_requests_exceeded"
    message = _(
        "この端末・ネットワークからのリンクの請求が多すぎます。しばらくしてからもう一度お試しください。"
    )
    http_status = 429


class TokenInvalidError(BookingError):
    code = "token_invalid"
    message = _(
        "このリンクは無効か、使用済みか、有効期限が切れています。新しいリンクをお送りしますので、メールアドレスを入力してください。"
    )
    http_status = 403


class InterviewNotAllowedError(BookingError):
    code = "interview_not_allowed"
    message = _("この面接はご案内の対象外です。")
    http_status = 404


class InterviewTimeTakenError(BookingError):
    code = "time_taken"
    message = _("この時間は埋まりました。別の時間を選んでください。")
    http_status = 409


class WaitingRoomSettingsError(BookingError):
    code = "waiting_room_invalid"
    message = _("待合室の設定が正しくありません。")
    http_status = 400
