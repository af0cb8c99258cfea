"""factory_boy factories for the data tests build: students, company users, seminars with their slots.

Model factories fill only what a test does not care about; seminars and slots are made through the booking
services (their quota rows and seat counts come with them), as the product makes them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone


class CandidateFactory(factory.django.DjangoModelFactory):
    """A student of the current company's schema."""

    class Meta:
        model = "candidates.Candidate"

    family_name = "山田"
    given_name = factory.Sequence(lambda n: f"太郎{n + 1}")
    family_kana = "ヤマダ"
    given_kana = "タロウ"
    email = factory.Sequence(lambda n: f"student{n + 1}@example.jp")
    rank = "A"


class UserFactory(factory.django.DjangoModelFactory):
    """A user of the current company (a recruiter unless told), with a usable password."""

    class Meta:
        model = "accounts.User"

    email = factory.Sequence(lambda n: f"user{n + 1}@acme.example.jp")
    username = factory.LazyAttribute(lambda user: user.email)
    role = "recruiter"
    password = "x" * 12

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        return model_class.objects.create_user(*args, **kwargs)


class SeminarFactory(factory.Factory):
    """A seminar with `slots` slots of `capacity` seats (split by `quotas`), the first in ten days."""

    class Meta:
        model = dict  # built by the booking services in _create

    title = "会社説明会"
    place = "東京本社"
    quotas: dict[str, int] | None = None
    slots = 1
    capacity = 10

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        from booking.services.seminars import seminar_create, slot_create

        quotas, slots, capacity = kwargs.pop("quotas"), kwargs.pop("slots"), kwargs.pop("capacity")
        seminar = seminar_create(**kwargs)
        start = (timezone.now() + timedelta(days=10)).replace(second=0, microsecond=0)
        for index in range(slots):
            slot_create(
                seminar=seminar,
                starts_at=start + timedelta(days=index),
                ends_at=start + timedelta(days=index, hours=1),
                capacity=capacity,
                quotas=quotas,
            )
        return seminar
