"""Booking writes (every write of the app goes through these services)."""

from booking.services.bookings import BookingOutcome, booking_cancel, booking_change, booking_create
from booking.services.mypage import (
    mypage_link_create,
    mypage_link_request,
    mypage_link_send,
    mypage_token_check,
    mypage_token_exchange,
    mypage_tokens_revoke,
)
from booking.services.waitlist import (
    waitlist_accept,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_expire,
    waitlist_offers_expire_due,
)

__all__ = [
    "BookingOutcome",
    "booking_cancel",
    "booking_change",
    "booking_create",
    "mypage_link_create",
    "mypage_link_request",
    "mypage_link_send",
    "mypage_token_check",
    "mypage_token_exchange",
    "mypage_tokens_revoke",
    "waitlist_accept",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer_expire",
    "waitlist_offers_expire_due",
]
