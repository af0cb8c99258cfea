"""Form errors sit next to their field: posted with mistakes, each page answers the error inside the field's
wrapper (the field `aria-invalid`, described by its error list), and form-wide errors on top of the form.
Every form renders through templates/forms/ (saas/forms.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User

ROOT = Path(__file__).resolve().parent.parent
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Tree(HTMLParser):
    """Each element's id → the list of its open ancestors (tag, attributes, serial number)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str], int]] = []
        self.by_id: dict[str, tuple[dict[str, str], list[tuple[str, dict[str, str], int]]]] = {}
        self.serial = 0

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.serial += 1
        if "id" in attributes:
            self.by_id[attributes["id"]] = (attributes, list(self.stack))
        if tag not in VOID:
            self.stack.append((tag, attributes, self.serial))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break


def _wrapper(ancestors) -> int | None:
    for tag, attributes, serial in reversed(ancestors):
        if tag == "div" and "field" in attributes.get("class", "").split():
            return serial
    return None


def assert_error_beside(html: str, field_id: str, *, box: str = "") -> None:
    """`box`: the input of a field of several boxes (described through its fieldset) instead of the field's."""
    tree = _Tree()
    tree.feed(html)
    assert (box or field_id) in tree.by_id, f"no element #{box or field_id}"
    attributes, ancestors = tree.by_id[box or field_id]
    assert attributes.get("aria-invalid") == "true", attributes
    described = (
        attributes
        if "aria-describedby" in attributes
        else next(a for t, a, _n in reversed(ancestors) if t == "fieldset")
    )
    assert f"{field_id}_error" in described.get("aria-describedby", "").split(), described
    assert f"{field_id}_error" in tree.by_id, f"no error list #{field_id}_error"
    _error_attributes, error_ancestors = tree.by_id[f"{field_id}_error"]
    wrapper = _wrapper(ancestors)
    assert wrapper is not None, f"#{field_id} has no field wrapper"
    assert _wrapper(error_ancestors) == wrapper, f"#{field_id}_error is outside #{field_id}'s wrapper"


@pytest.fixture
def admin(tenants, db):
    acme = tenants["acme"]
    client = Client(HTTP_HOST=acme.host)
    with schema_context(acme.schema):
        client.force_login(User.objects.get(email=acme.admin_email))
    return client


def test_new_seminar_without_a_title(admin):
    response = admin.post("/booking/seminars/new/", {"title": "", "offer_minutes": "30"})
    assert response.status_code == 400
    assert_error_beside(response.content.decode(), "id_title")


def test_slot_quotas_that_do_not_parse(admin, tenants):
    from tests.booking.conftest import seminar_make

    with schema_context(tenants["acme"].schema):
        slot = seminar_make(title="説明会", quotas={"A": 5}, capacity=5).slots.get()
    response = admin.post(f"/booking/slots/{slot.pk}/quotas/", {"capacity": "0", "quotas_0": "たくさん"})
    assert response.status_code == 400
    html = response.content.decode()
    assert_error_beside(html, "id_capacity")
    assert_error_beside(html, "id_quotas", box="id_quotas_0")


def test_mail_template_without_a_subject(admin):
    response = admin.post("/mail/templates/new/", {"name": "案内", "subject": "", "body": "本文"})
    assert response.status_code in (200, 400)
    assert_error_beside(response.content.decode(), "id_subject")


def test_rank_rule_without_a_university(admin):
    response = admin.post("/candidates/ranks/", {"action": "rule", "rule-university": "", "rule-rank": "A"})
    assert response.status_code == 400
    assert_error_beside(response.content.decode(), "id_rule-university")


def test_selection_step_with_a_key_already_used(admin):
    response = admin.post("/candidates/steps/", {"action": "add", "key": "entry", "label": "もう一度"})
    assert response.status_code == 400
    assert_error_beside(response.content.decode(), "id_key")


def test_retention_of_zero_months(admin):
    response = admin.post("/candidates/retention/", {"months_after_season": "0", "action": "delete", "preview": "1"})
    assert response.status_code == 400
    assert_error_beside(response.content.decode(), "id_months_after_season")


def test_import_of_a_file_that_is_not_csv(admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("entries.csv", b"\x00\x01\x02" * 100, content_type="text/csv")
    response = admin.post("/candidates/imports/", {"file": upload, "board": "auto"})
    assert 400 <= response.status_code < 500
    assert_error_beside(response.content.decode(), "id_file")


def test_form_wide_errors_stand_on_top(admin, tenants):
    from tests.booking.conftest import seminar_make

    with schema_context(tenants["acme"].schema):
        seminar = seminar_make(title="説明会", quotas={"A": 5}, capacity=5)
    response = admin.post(
        f"/booking/seminars/{seminar.pk}/slots/",
        {"starts_at": "2030-04-01T15:00", "ends_at": "2030-04-01T14:00", "capacity": "10"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    top = re.search(r'<div class="form-errors" role="alert">\s*<ul class="errorlist nonfield">', html)
    assert top, "the form-wide error is not on top of the form"


FORM_BY_HAND = re.compile(r"\.as_(?:p|ul|table|div)\b|\{\{\s*\w+\.\w+\.errors\s*\}\}|field\.errors")


def test_every_form_template_renders_through_the_one_home():
    """No template lays out a form's fields or their errors by hand: `{{ form }}` or `as_field_group`."""
    home = ROOT / "templates" / "forms"
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
        if home not in path.parents
        for match in FORM_BY_HAND.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, found
