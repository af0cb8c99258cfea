"""The API fuzzed from its own OpenAPI document against a live daphne: no server errors, every answer in schema.

The calls go to a company of their own (apifuzz), so what the fuzzer creates never meets other tests' data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import schemathesis
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenants.services import tenant_delete
from tests.api.conftest import token_make
from tests.conftest import _ensure_tenant
from tests.factories import CandidateFactory, SeminarFactory

pytestmark = pytest.mark.slow
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Target:
    schema: str
    base_url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_target(live_server_daphne, django_db_blocker, tmp_path_factory):
    # Unblocked for the module: the seat counts pushed after the seeding read the database from a thread.
    with django_db_blocker.unblock():
        company = _ensure_tenant("apifuzz", "API検査")
        with schema_context(company.schema):
            for rank in "ABC":
                CandidateFactory(rank=rank, email=f"fuzz-{rank.lower()}@example.jp")
            SeminarFactory(quotas={"A": 2}, slots=2, capacity=2)
        created = token_make(schema=company.schema, rate=6000)
        yield Target(
            schema=company.schema,
            base_url=f"http://127.0.0.1:{live_server_daphne.port}",
            headers={
                "Host": f"{company.host}:{live_server_daphne.port}",
                "Authorization": f"Bearer {created.secret}",
            },
        )
        # Other tests count on two companies: this one leaves with what the fuzzer made.
        tenant_delete(
            tenant=company.tenant, confirm_slug="apifuzz", export_directory=tmp_path_factory.mktemp("apifuzz")
        )


@pytest.fixture(scope="module")
def api_schema(fuzz_target):
    return schemathesis.openapi.from_url(
        f"{fuzz_target.base_url}/api/v1/openapi.json",
        headers={"Host": fuzz_target.headers["Host"]},
        timeout=30,
    )


def test_every_operation_answers_within_its_schema(api_schema, fuzz_target, django_db_blocker):
    """Each operation of the document, with generated parameters and bodies (schemathesis' own pytest loader
    does not run under this pytest, so the operations are driven through Hypothesis directly)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(
                base_url=fuzz_target.base_url, headers=fuzz_target.headers, checks=CHECKS, timeout=30
            )

        call()
    # The calls reached the API with the token (each authenticated call leaves an audit entry).
    with django_db_blocker.unblock(), schema_context(fuzz_target.schema):
        from candidates.models import AuditEntry

        assert AuditEntry.objects.filter(target__startswith="API ").count() >= 8 * 10
