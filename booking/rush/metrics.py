"""Rush figures: per-second counters of what students were answered, and one snapshot for the recruiters.

`rush_mark` runs on every student request of the rush, so it costs one Redis round trip (a pipeline of
INCRBY + EXPIRE on a per-second bucket) and never raises: losing a figure is better than failing a booking.
`rush_snapshot` reads the buckets, the waiting room's keys and the seat counters in one MGET, and the
seats from PostgreSQL (the truth), so a difference between the two is visible on the dashboard.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django_tenants.utils import schema_context

from booking.clients import metrics_client
from booking.keys import rate_key, room_key
from booking.models import POOL, Seminar, Slot, SlotQuota, WaitingRoomMode
from booking.seatcounter import SeatCounter

__all__ = ["KINDS", "RushSnapshot", "metrics_client", "rate_key", "room_key", "rush_mark", "rush_snapshot"]

KINDS = ("booked", "full", "already", "not_open", "queued", "admitted", "unavailable", "error")
KIND_LABELS = {
    "booked": gettext_lazy("予約成立"),
    "full": gettext_lazy("満席"),
    "already": gettext_lazy("予約済み"),
    "not_open": gettext_lazy("受付前"),
    "queued": gettext_lazy("待合室へ案内"),
    "admitted": gettext_lazy("待合室から入場"),
    "unavailable": gettext_lazy("一時停止中"),
    "error": gettext_lazy("エラー"),
}
POOL_LABEL = gettext_lazy("共有枠")
BUCKET_SECONDS = 300  # a bucket lives 5 minutes: the window of the totals
WARN_EVERY_SECONDS = 30.0

logger = logging.getLogger(__name__)

_last_warning = 0.0


def _warn(reason: str) -> None:
    """At most one warning per WARN_EVERY_SECONDS per process; never names a student."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("rush metrics: %s (figures are lost while this lasts)", reason)


def rush_mark(*, schema: str, seminar_id: int, kind: str, count: int = 1) -> None:
    """Count `count` answers of `kind` in this second's bucket; one round trip, never raises."""
    try:
        if kind not in KINDS:
            _warn(f"unknown kind {kind!r} ignored")
            return
        key = rate_key(schema=schema, seminar_id=seminar_id, kind=kind, second=int(time.time()))
        pipe = metrics_client().pipeline(transaction=False)
        pipe.incrby(key, count)
        pipe.expire(key, BUCKET_SECONDS)
        pipe.execute()
    except Exception as error:  # noqa: BLE001 - a figure must never fail a student's request
        _warn(f"redis unavailable ({type(error).__name__})")


@dataclass(frozen=True)
class QuotaFigures:
    quota_id: int
    rank: str  # "A".."Z" or POOL
    seats: int
    taken: int
    redis_remaining: int | None  # None: counters not loaded or Redis unavailable

    @property
    def label(self) -> str:
        return str(POOL_LABEL) if self.rank == POOL else self.rank

    @property
    def remaining(self) -> int:
        return self.seats - self.taken

    @property
    def differs(self) -> bool:
        return self.redis_remaining is not None and self.redis_remaining != self.remaining

    def as_dict(self) -> dict:
        return {
            "id": self.quota_id,
            "rank": self.rank,
            "label": self.label,
            "seats": self.seats,
            "taken": self.taken,
            "remaining": self.remaining,
            "redis_remaining": self.redis_remaining,
            "differs": self.differs,
        }


@dataclass(frozen=True)
class SlotFigures:
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    quotas: list[QuotaFigures]

    @property
    def seats(self) -> int:
        return sum(q.seats for q in self.quotas)

    @property
    def taken(self) -> int:
        return sum(q.taken for q in self.quotas)

    @property
    def remaining(self) -> int:
        return sum(q.remaining for q in self.quotas)

    @property
    def redis_remaining(self) -> int | None:
        if not self.quotas or any(q.redis_remaining is None for q in self.quotas):
            return None
        return sum(q.redis_remaining or 0 for q in self.quotas)

    @property
    def differs(self) -> bool:
        return any(q.differs for q in self.quotas)

    def as_dict(self) -> dict:
        return {
            "id": self.slot_id,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "capacity": self.capacity,
            "seats": self.seats,
            "taken": self.taken,
            "remaining": self.remaining,
            "redis_remaining": self.redis_remaining,
            "differs": self.differs,
            "quotas": [q.as_dict() for q in self.quotas],
        }


@dataclass(frozen=True)
class RushSnapshot:
    schema: str
    seminar_id: int
    taken_at: datetime
    seconds: int
    redis_available: bool
    # Per kind: answers per second over the last `seconds` complete seconds, and the 5-minute total.
    rates: dict[str, float] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    tickets_issued: int | None = None
    admitted_up_to: int | None = None
    # The recruiters' setting (off / on / auto) and the room key: the room is active as the gate sees it,
    # i.e. always when the setting is "on", and while the key exists when it is "auto".
    room_setting: str | None = None
    room_key_on: bool | None = None
    room_mode: str | None = None  # the key's value while it exists: "manual" | "auto"
    admission_per_second: int | None = None
    latency_ms: int | None = None
    counters_loaded: bool | None = None
    slots: list[SlotFigures] = field(default_factory=list)

    @property
    def queue_length(self) -> int | None:
        if self.tickets_issued is None or self.admitted_up_to is None:
            return None
        return max(0, self.tickets_issued - self.admitted_up_to)

    @property
    def room_active(self) -> bool | None:
        if self.room_setting == WaitingRoomMode.OFF:
            return False
        if self.room_setting == WaitingRoomMode.ON:
            return True
        return self.room_key_on

    @property
    def room_setting_label(self) -> str:
        if self.room_setting in WaitingRoomMode.values:
            return str(WaitingRoomMode(self.room_setting).label)
        return "—"

    @property
    def room_label(self) -> str:
        if self.room_setting == WaitingRoomMode.OFF:
            return gettext("停止中（使わない設定）")
        if self.room_setting == WaitingRoomMode.ON:
            return gettext("稼働中（常に使う設定）")
        if self.room_key_on is None:
            return gettext("不明（Redis に接続できません）")
        if not self.room_key_on:
            return gettext("待機中（混雑すると自動で開きます）")
        if self.room_mode == "manual":
            return gettext("稼働中（手動）")
        if self.room_mode == "auto":
            return gettext("稼働中（自動）")
        return gettext("稼働中")

    @property
    def seats(self) -> int:
        return sum(s.seats for s in self.slots)

    @property
    def taken(self) -> int:
        return sum(s.taken for s in self.slots)

    @property
    def remaining(self) -> int:
        return sum(s.remaining for s in self.slots)

    @property
    def redis_remaining(self) -> int | None:
        values = [s.redis_remaining for s in self.slots]
        if not values or any(v is None for v in values):
            return None
        return sum(v or 0 for v in values)

    @property
    def differs(self) -> bool:
        return any(s.differs for s in self.slots)

    def kind_rows(self) -> list[dict]:
        return [
            {
                "kind": kind,
                "label": str(KIND_LABELS[kind]),
                "rate": self.rates.get(kind),
                "total": self.totals.get(kind),
            }
            for kind in KINDS
        ]

    def as_dict(self) -> dict:
        """The JSON the live page polls; `quota` and `slot` index the same figures by id for the script."""
        slots = [s.as_dict() for s in self.slots]
        return {
            "ok": True,
            "seminar_id": self.seminar_id,
            "taken_at": self.taken_at.isoformat(),
            "seconds": self.seconds,
            "redis_available": self.redis_available,
            "counters_loaded": self.counters_loaded,
            "rates": {kind: self.rates.get(kind) for kind in KINDS},
            "totals": {kind: self.totals.get(kind) for kind in KINDS},
            "queue": {
                "length": self.queue_length,
                "tickets_issued": self.tickets_issued,
                "admitted_up_to": self.admitted_up_to,
                "active": self.room_active,
                "mode": self.room_mode,
                "label": self.room_label,
                "setting": self.room_setting,
                "setting_label": self.room_setting_label,
                "admission_per_second": self.admission_per_second,
                "latency_ms": self.latency_ms,
            },
            "seats": {
                "seats": self.seats,
                "taken": self.taken,
                "remaining": self.remaining,
                "redis_remaining": self.redis_remaining,
                "differs": self.differs,
            },
            "slots": slots,
            "slot": {str(s["id"]): s for s in slots},
            "quota": {str(q["id"]): q for s in slots for q in s["quotas"]},
        }


def _rank_order(rank: str) -> tuple[int, str]:
    return (1, rank) if rank == POOL else (0, rank)


def _int(value: bytes | str | None) -> int:
    try:
        return int(float(value)) if value is not None else 0
    except ValueError:
        return 0


def rush_snapshot(*, schema: str, seminar_id: int, seconds: int = 10) -> RushSnapshot:
    """Rates, queue, waiting room and seats of one seminar now; Redis away still gives PostgreSQL's seats."""
    seconds = max(1, min(int(seconds), BUCKET_SECONDS - 1))
    with schema_context(schema):
        setting = (
            Seminar.objects.filter(pk=seminar_id)
            .values_list("waiting_room", "admission_per_second", "waiting_room_latency_ms")
            .first()
        )
        slots = list(
            Slot.objects.filter(seminar_id=seminar_id)
            .order_by("starts_at", "id")
            .values_list("id", "starts_at", "ends_at", "capacity")
        )
        quotas = list(
            SlotQuota.objects.filter(slot__seminar_id=seminar_id).values_list(
                "slot_id", "id", "rank", "seats", "taken"
            )
        )
    now = int(time.time())
    # Totals cover the current (incomplete) second too; rates only complete seconds.
    window = list(range(now - BUCKET_SECONDS + 1, now + 1))
    rate_keys = [
        rate_key(schema=schema, seminar_id=seminar_id, kind=kind, second=second)
        for kind in KINDS
        for second in window
    ]
    client = metrics_client()
    counter = SeatCounter(seminar_id=seminar_id, schema=schema, client=client)
    room_keys = [room_key(schema=schema, seminar_id=seminar_id, name=name) for name in ("tail", "head", "on")]
    quota_keys = [counter.quota_key(quota_id) for _, quota_id, _, _, _ in quotas]
    values: list[bytes | str | None] | None
    try:
        values = client.mget([*rate_keys, *room_keys, counter.ready_key, *quota_keys])
    except Exception as error:  # noqa: BLE001 - the dashboard must answer with PostgreSQL alone
        _warn(f"redis unavailable for the snapshot ({type(error).__name__})")
        values = None

    rates: dict[str, float] = {}
    totals: dict[str, int] = {}
    redis_left: dict[int, int] = {}
    extra: dict = {}
    if values is not None:
        per_kind = len(window)
        for index, kind in enumerate(KINDS):
            buckets = [_int(v) for v in values[index * per_kind : (index + 1) * per_kind]]
            totals[kind] = sum(buckets)
            # The last bucket is the current second; the `seconds` before it are complete.
            rates[kind] = round(sum(buckets[-1 - seconds : -1]) / seconds, 2)
        tail, head, room_on, ready = values[len(rate_keys) : len(rate_keys) + 4]
        counters_loaded = ready is not None
        if counters_loaded:
            for (_, quota_id, _, _, _), value in zip(quotas, values[len(rate_keys) + 4 :], strict=True):
                if value is not None:
                    redis_left[quota_id] = _int(value)
        extra = {
            "tickets_issued": _int(tail),
            "admitted_up_to": _int(head),
            "room_key_on": room_on is not None,
            "room_mode": room_on.decode(errors="replace") if room_on is not None else None,
            "counters_loaded": counters_loaded,
        }

    by_slot: dict[int, list[QuotaFigures]] = {slot_id: [] for slot_id, *_ in slots}
    for slot_id, quota_id, rank, seats, taken in sorted(quotas, key=lambda row: _rank_order(row[2])):
        by_slot.setdefault(slot_id, []).append(
            QuotaFigures(
                quota_id=quota_id,
                rank=rank,
                seats=seats,
                taken=taken,
                redis_remaining=redis_left.get(quota_id),
            )
        )
    return RushSnapshot(
        schema=schema,
        seminar_id=seminar_id,
        taken_at=timezone.now(),
        seconds=seconds,
        redis_available=values is not None,
        room_setting=setting[0] if setting else None,
        admission_per_second=setting[1] if setting else None,
        latency_ms=setting[2] if setting else None,
        rates=rates,
        totals=totals,
        slots=[
            SlotFigures(
                slot_id=slot_id,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=capacity,
                quotas=by_slot[slot_id],
            )
            for slot_id, starts_at, ends_at, capacity in slots
        ],
        **extra,
    )
