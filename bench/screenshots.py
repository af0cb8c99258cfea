"""`make screenshots`: the recruiter home, the candidate list, a seminar page and the My Page, in Japanese and in
English, at desktop (1366×900) and phone (390×844) widths, written to docs/screenshots/ as small PNGs.

The demo company (`manage.py demo_seed`: the sample job-board exports, the demo seminar) gets a few bookings so
the pages show a season in progress; the product runs on daphne as in `make demo` and Chromium (Debian's, through
Playwright) reads it in each language the way a visitor's browser asks for it (Accept-Language and the language
cookie). Each PNG is reduced to 256 colours; the run fails if one is over MAX_BYTES.
Run: `make screenshots` (or `DEMO=1 .venv/bin/python bench/screenshots.py` after `manage.py demo_seed`).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from PIL import Image  # noqa: E402

from saas.processes import child_env, daphne_start, process_stop  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MAX_BYTES = 300 * 1024
PASSWORD = "demo-pass-2026"  # booking/management/commands/demo_seed.py
DEVICES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"ja": "ja-JP", "en": "en-US"}
CHROMIUM = {"executable_path": "/usr/bin/chromium", "args": ["--no-sandbox", "--disable-gpu"]}


def season_in_progress(*, schema: str) -> tuple[int, str]:
    """Bookings in the demo seminar (a third of the sample students, and the rank-A demo student); returns the
    seminar's id and the e-mail address of the student whose My Page is shown."""
    from booking.demo import DEMO_TITLE
    from booking.errors import BookingError
    from booking.models import Booking, Seminar
    from booking.services import booking_create
    from candidates.models import Candidate

    with schema_context(schema), transaction.atomic():
        seminar = Seminar.objects.get(title=DEMO_TITLE)
        slots = list(seminar.slots.order_by("starts_at"))
        if not Booking.objects.filter(seminar=seminar).exists():
            students = Candidate.objects.filter(rank__in=["A", "B"]).order_by("pk")
            for index, student in enumerate(students[: max(3, students.count() // 3)]):
                try:
                    booking_create(candidate=student, slot_id=slots[index % len(slots)].pk)
                except BookingError:
                    continue  # a student the rules keep out of this seminar: the page is still realistic
        student = Candidate.objects.get(email=f"demo-a@{schema.removeprefix('t_')}.example.jp")
        if not Booking.objects.filter(seminar=seminar, candidate=student).exists():
            booking_create(candidate=student, slot_id=slots[0].pk)
        return seminar.pk, student.email


def mypage_path(*, schema: str, email: str) -> str:
    """A fresh sign-in link for the student (each link signs in once)."""
    from booking.services.mypage import mypage_link_create
    from candidates.models import Candidate

    with schema_context(schema):
        return urlsplit(mypage_link_create(candidate=Candidate.objects.get(email=email))).path


def png_small(raw: bytes) -> bytes:
    """The screenshot in 256 colours (text and flat colours survive; a tenth of the size)."""
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def shoot(page, name: str) -> Path:
    page.wait_for_load_state("networkidle")
    data = png_small(page.screenshot(full_page=False))
    if len(data) > MAX_BYTES:
        raise SystemExit(f"{name}: {len(data)} bytes, over {MAX_BYTES}")
    path = OUT / f"{name}.png"
    path.write_bytes(data)
    return path


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug="acme")
    host, admin_email = tenant.get_primary_domain().domain, f"admin@{tenant.slug}.example.jp"
    seminar_id, student_email = season_in_progress(schema=tenant.schema_name)
    OUT.mkdir(parents=True, exist_ok=True)
    env = child_env(
        database_url=settings.DATABASE_URL, redis_url=settings.REDIS_URL, testing=False, extra={"DEMO": "1"}
    )
    port, server = daphne_start(env=env)
    base = f"http://{host}:{port}"
    # Database calls before Playwright starts (its sync API runs an event loop in this thread).
    links = {
        (language, device): mypage_path(schema=tenant.schema_name, email=student_email)
        for language in LANGUAGES
        for device in DEVICES
    }
    written: list[Path] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**CHROMIUM)
            try:
                for language, locale in LANGUAGES.items():
                    for device, viewport in DEVICES.items():
                        for who in ("recruiter", "student"):
                            context = browser.new_context(
                                locale=locale,
                                viewport=viewport,
                                extra_http_headers={"Accept-Language": f"{locale},{language};q=0.9"},
                            )
                            context.add_cookies(
                                [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
                            )
                            page = context.new_page()
                            suffix = f"{language}-{device}"
                            if who == "recruiter":
                                page.goto(f"{base}/login/")
                                page.fill("#id_username", admin_email)
                                page.fill("#id_password", PASSWORD)
                                page.click("main button[type=submit]")
                                page.wait_for_load_state()
                                if not page.url.endswith("/home/"):
                                    raise SystemExit(f"sign-in failed at {page.url}: {page.title()}")
                                written.append(shoot(page, f"home-{suffix}"))
                                page.goto(f"{base}/candidates/")
                                written.append(shoot(page, f"candidates-{suffix}"))
                                page.goto(f"{base}/booking/seminars/{seminar_id}/")
                                written.append(shoot(page, f"seminar-{suffix}"))
                            else:
                                page.goto(base + links[language, device])
                                page.click("main button[type=submit]")  # the link's page asks first
                                page.wait_for_url("**/my/")
                                written.append(shoot(page, f"mypage-{suffix}"))
                            context.close()
            finally:
                browser.close()
    finally:
        process_stop(server)
    for path in written:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
