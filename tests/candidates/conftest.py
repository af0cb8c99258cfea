"""Fixtures for the candidates tests: the acme schema, sample files, rank table, eager Celery."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture
def truth() -> dict:
    return json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture
def acme(tenants, db):
    """Run the test inside acme's schema (rolled back after the test)."""
    with schema_context(tenants["acme"].schema):
        yield tenants["acme"]


@pytest.fixture
def eager_celery():
    from saas.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def sample_ranks(acme):
    """acme's rank table from the sample CSV, default rank D."""
    from candidates.models import RankSettings
    from candidates.services.ranks import rank_table_import_csv

    rank_table_import_csv(fileobj=io.BytesIO((SAMPLES / "university_ranks.csv").read_bytes()), replace=True)
    RankSettings.objects.update(default_rank="D")
    return "D"


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def csv_bytes(text: str, *, encoding: str = "cp932", newline: str = "\r\n") -> bytes:
    return text.replace("\n", newline).encode(encoding)


@pytest.fixture
def make_user(acme):
    """A user of acme with a role; returned logged in on a test client for acme's host."""
    from django.test import Client

    from accounts.models import User
    from tests.factories import UserFactory

    def make(role: str, email: str | None = None) -> tuple[Client, User]:
        address = email or f"{role}@acme.example.jp"
        user = UserFactory(email=address, password="pw-1234567890", role=role)
        client = Client(HTTP_HOST=acme.host)
        client.force_login(user)
        return client, user

    return make


@pytest.fixture
def admin_client(acme):
    from django.test import Client

    from accounts.models import User

    client = Client(HTTP_HOST=acme.host)
    client.force_login(User.objects.get(email=acme.admin_email))
    return client


class Baseline:
    """Rows that existed in a schema before a committed test; `new(Model)` is what the test added."""

    def __init__(self, schema: str) -> None:
        from django.db.models import Max

        from candidates.models import AuditEntry, Candidate, ImportJob

        self.schema = schema
        self.models = (Candidate, ImportJob, AuditEntry)
        with schema_context(schema):
            self.last = {model: model.objects.aggregate(last=Max("id"))["last"] or 0 for model in self.models}

    def new(self, model):
        return model.objects.filter(id__gt=self.last[model])

    def clean(self) -> None:
        with schema_context(self.schema):
            for model in self.models:
                self.new(model).delete()


@pytest.fixture
def globex_baseline(tenants, committed):
    """For tests that commit into globex: only what the test added is counted and removed."""
    baseline = Baseline(tenants["globex"].schema)
    yield baseline
    baseline.clean()
