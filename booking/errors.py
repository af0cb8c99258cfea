"""Typed booking errors: each carries the Japanese message shown to the student or recruiter."""

from __future__ import annotations


class BookingError(Exception):
    """Base of every booking refusal; `code` is stable for APIs and logs, `message` is for people."""

    code = "error"
    message = "予約を受け付けられませんでした。"
    http_status = 400

    def __init__(self, message: str | None = None) -> None:
        if message:
            self.message = message
        super().__init__(self.message)


class SlotNotFoundError(BookingError):
    code = "not_found"
    message = "指定された日程が見つかりません。"
    http_status = 404


class NotVisibleError(BookingError):
    code = "not_visible"
    message = "この説明会はご案内の対象外です。"
    http_status = 404


class NotOpenError(BookingError):
    code = "not_open"
    message = "まだ予約受付が始まっていません。"
    http_status = 409


class DeadlinePassedError(BookingError):
    code = "deadline_passed"
    message = "予約の締切を過ぎています。"
    http_status = 409


class CancelDeadlinePassedError(BookingError):
    code = "cancel_deadline_passed"
    message = "キャンセル・変更の締切を過ぎています。"
    http_status = 409


class FullError(BookingError):
    code = "full"
    message = "あなたのランクの席は満席です。キャンセル待ちに登録できます。"
    http_status = 409


class AlreadyBookedError(BookingError):
    code = "already_booked"
    message = "この説明会はすでに予約済みです。日程の変更は予約一覧からできます。"
    http_status = 409


class NotBookedError(BookingError):
    code = "not_booked"
    message = "有効な予約が見つかりません。"
    http_status = 404


class SameSlotError(BookingError):
    code = "same_slot"
    message = "すでにこの日程で予約しています。"
    http_status = 409


class AlreadyWaitingError(BookingError):
    code = "already_waiting"
    message = "この日程のキャンセル待ちにすでに登録しています。"
    http_status = 409


class NotFullError(BookingError):
    code = "not_full"
    message = "この日程にはまだ空席があります。そのまま予約してください。"
    http_status = 409


class OfferExpiredError(BookingError):
    code = "offer_expired"
    message = "空席のご案内の回答期限を過ぎました。"
    http_status = 409


class QuotaError(BookingError):
    code = "quota_invalid"
    message = "席数の設定が正しくありません。"
    http_status = 400


class LinkRequestsExceededError(BookingError):
    code = "link_requests_exceeded"
    message = "この端末・ネットワークからのリンクの請求が多すぎます。しばらくしてからもう一度お試しください。"
    http_status = 429


class TokenInvalidError(BookingError):
    code = "token_invalid"
    message = "このリンクは無効か、使用済みか、有効期限が切れています。新しいリンクをお送りしますので、メールアドレスを入力してください。"
    http_status = 403


class InterviewNotAllowedError(BookingError):
    code = "interview_not_allowed"
    message = "この面接はご案内の対象外です。"
    http_status = 404


class InterviewTimeTakenError(BookingError):
    code = "time_taken"
    message = "この時間は埋まりました。別の時間を選んでください。"
    http_status = 409


class WaitingRoomSettingsError(BookingError):
    code = "waiting_room_invalid"
    message = "待合室の設定が正しくありません。"
    http_status = 400
