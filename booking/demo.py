"""Demo data for booking: students of ranks A–D and a seminar with per-rank quotas and rank rules."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import POOL, Seminar
from booking.services.mypage import mypage_link_create
from booking.services.seminars import rank_rules_set, seminar_create, slot_create

# i18n: data — the demo company's own seminar, as a recruiter would type it
DEMO_TITLE = "【デモ】2028年卒 会社説明会"
# i18n: data — the demo company's own seminar, as a recruiter would type it
DEMO_SEMINAR = {
    "description": "事業内容と働き方をご紹介します。所要時間は約60分です。",
    "place": "東京本社 セミナールーム（オンライン同時配信）",
}
# i18n: data — the demo students' names and university
DEMO_UNIVERSITY = "デモ大学"
# i18n: data — the demo students' names and university
DEMO_STUDENTS = [
    ("A", "青木", "葵", "アオキ", "アオイ"),
    ("B", "伊藤", "蓮", "イトウ", "レン"),
    ("C", "上田", "陽菜", "ウエダ", "ヒナ"),
    ("D", "江口", "湊", "エグチ", "ミナト"),
]


def demo_seed(*, tenant) -> dict[str, str]:
    """Create (idempotently) the demo students and seminar in this company; {rank: My Page link}."""
    from candidates.models import Candidate
    from seasons.selectors import season_default

    with schema_context(tenant.schema_name), transaction.atomic():
        now = timezone.now()
        # The demo students graduate in the company's default season, where the demo seminar is.
        season = season_default()
        seminar = Seminar.objects.filter(title=DEMO_TITLE).first()
        if seminar is None:
            seminar = seminar_create(
                title=DEMO_TITLE,
                description=DEMO_SEMINAR["description"],
                place=DEMO_SEMINAR["place"],
                online_url="https://meet.example.jp/demo-seminar",
                booking_deadline=now + timedelta(days=20),
                cancellation_deadline=now + timedelta(days=20),
                offer_minutes=60,
                season=season,
            )
            start = (now + timedelta(days=21)).replace(hour=1, minute=0, second=0, microsecond=0)
            for day in range(3):
                slot_create(
                    seminar=seminar,
                    starts_at=start + timedelta(days=day),
                    ends_at=start + timedelta(days=day, hours=1),
                    capacity=100,
                    quotas={"A": 40, "B": 40, POOL: 20},
                )
            # Rank A and B book now, C a little later (shows "not open yet"), D never sees it.
            rank_rules_set(
                seminar=seminar,
                rules={
                    "A": (True, None),
                    "B": (True, None),
                    "C": (True, now + timedelta(hours=1)),
                    "D": (False, None),
                },
            )
        links = {}
        for rank, family, given, family_kana, given_kana in DEMO_STUDENTS:
            email = f"demo-{rank.lower()}@{tenant.slug}.example.jp"
            candidate = Candidate.objects.filter(email=email).first()
            if candidate is None:
                candidate = Candidate.objects.create(
                    family_name=family,
                    given_name=given,
                    family_kana=family_kana,
                    given_kana=given_kana,
                    email=email,
                    university_raw=DEMO_UNIVERSITY,
                    university=DEMO_UNIVERSITY,
                    rank=rank,
                    rank_is_manual=True,
                    graduation_year=season.graduation_year,
                )
            links[rank] = mypage_link_create(candidate=candidate)
        return links
