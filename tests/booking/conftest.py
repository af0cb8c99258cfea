"""Booking fixtures: a seminar with per-rank quotas, students of several ranks, inside acme's schema."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.factories import CandidateFactory, SeminarFactory


def candidate_make(*, rank: str = "A", email: str | None = None, **fields):
    """A student (tests/factories.py::CandidateFactory)."""
    if email is not None:
        fields["email"] = email
    return CandidateFactory(rank=rank, **fields)


def rank_seats_post(*, schema: str, seats: dict[str, int | str], existing: tuple[str, ...] = ()) -> dict[str, str]:
    """The seats per rank as the slot forms post them: a row per rank in use (and per rank the slot already
    has seats for), then the shared pool; rows are `quotas_<n>`."""
    from booking.models import POOL
    from candidates.selectors import ranks_in_use

    with schema_context(schema):
        ranks = sorted({*ranks_in_use(), *existing}) + [POOL]
    missing = set(seats) - set(ranks)
    assert not missing, f"no row for ranks {missing}: the company has ranks {ranks}"
    return {f"quotas_{row}": str(seats.get(rank, "")) for row, rank in enumerate(ranks)}


def ranks_in_table(*, schema: str, ranks: str) -> None:
    """Rank rules giving these ranks (one made-up university each), so the slot forms offer a row for them."""
    from candidates.services.ranks import rank_rule_save

    with schema_context(schema):
        for rank in ranks:
            rank_rule_save(university=f"{rank}ランク大学", rank=rank)


def seminar_make(*, quotas: dict[str, int] | None = None, slots: int = 1, capacity: int = 10, **fields):
    """A seminar with its slots (tests/factories.py::SeminarFactory)."""
    return SeminarFactory(quotas=quotas, slots=slots, capacity=capacity, **fields)


def rush_seminar_remove(*, schema: str, seminar) -> None:
    """Delete a committed test seminar with its bookings and its Redis seat counters."""
    from booking.models import Booking
    from booking.seatcounter import SeatCounter

    with schema_context(schema):
        Booking.objects.filter(seminar=seminar).delete()
        counter = SeatCounter(seminar_id=seminar.pk, schema=schema)
        keys = counter.client.keys(f"{counter.prefix}:*")
        if keys:
            counter.client.delete(*keys)
        seminar.delete()


@pytest.fixture
def acme_schema(tenants, db):
    with schema_context(tenants["acme"].schema):
        yield tenants["acme"]


class OutboxMails:
    """Mails booking queued in the tenants' outboxes (the outbox is how the product sends), oldest first."""

    def __init__(self, schemas: list[str]) -> None:
        self.schemas = schemas
        self.after: dict[str, int] = {}

    def _rows(self):
        from types import SimpleNamespace

        from notifications.models import OutboxMessage

        found = []
        for schema in self.schemas:
            with schema_context(schema):
                for row in OutboxMessage.objects.filter(pk__gt=self.after.get(schema, 0)).order_by("pk"):
                    found.append(
                        (
                            row.created_at,
                            row.pk,
                            schema,
                            SimpleNamespace(subject=row.subject, to=[row.to_address], body=row.body),
                        )
                    )
        return [mail for *_, mail in sorted(found, key=lambda item: (item[0], item[1]))]

    def clear(self) -> None:
        from notifications.models import OutboxMessage

        for schema in self.schemas:
            with schema_context(schema):
                last = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
                self.after[schema] = last or 0

    def __iter__(self):
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())

    def __getitem__(self, index):
        return self._rows()[index]


@pytest.fixture
def mailoutbox(tenants):
    """Booking's mails, read from the outbox of each test company (not Django's locmem backend)."""
    outbox = OutboxMails([tenants["acme"].schema, tenants["globex"].schema])
    outbox.clear()
    return outbox


def mypage_session_key(*, schema: str, candidate) -> str:
    """A signed-in My Page session for this student (its key, for a cookie), as the sign-in link opens one."""
    from importlib import import_module

    from django.conf import settings

    from booking.models import MyPageToken
    from booking.services.mypage import SESSION_KEY, mypage_token_create

    with schema_context(schema):
        mypage_token_create(candidate=candidate)
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = MyPageToken.objects.filter(candidate=candidate).latest("pk").pk
        session.save()
        return session.session_key
