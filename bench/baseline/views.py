"""A regular Django view: the My Page session, `select_for_update` on the slot, then insert the booking.

It decides correctly (the slot's row lock serialises every booking of the slot) but every request, a
"full" answer included, waits for that lock inside a transaction. Kept here, outside the product, as the
reference the rush path is measured against.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from booking.models import POOL, Booking, BookingStatus, Slot, SlotQuota
from booking.views.common import mypage_required


@csrf_exempt
@require_POST
@mypage_required
def baseline_book(request: HttpRequest) -> JsonResponse:
    candidate = request.candidate
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=int(request.POST["slot"]))
        if Booking.objects.filter(
            candidate=candidate, seminar_id=slot.seminar_id, status=BookingStatus.ACTIVE
        ).exists():
            return JsonResponse({"ok": False, "code": "already_booked"}, status=409)
        quota = None
        for rank in (candidate.rank, POOL):
            row = SlotQuota.objects.filter(slot=slot, rank=rank).first()
            if row is not None and row.taken < row.seats:
                quota = row
                break
        if quota is None:
            return JsonResponse({"ok": False, "code": "full"}, status=409)
        quota.taken += 1
        quota.save(update_fields=["taken"])
        booking = Booking.objects.create(
            candidate=candidate,
            slot=slot,
            seminar_id=slot.seminar_id,
            quota=quota,
            check_in_code=secrets.token_hex(8),
        )
    return JsonResponse({"ok": True, "code": "booked", "booking": booking.pk})
