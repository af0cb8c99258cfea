"""Fixtures of the season tests: acme's schema and its users (shared with the candidates tests), two seasons."""

from __future__ import annotations

import pytest

from tests.candidates.conftest import acme, admin_client, make_user  # noqa: F401 - fixtures used here


@pytest.fixture
def two_seasons(acme):  # noqa: F811 - the fixture imported above
    """27卒 (the test companies' default) and 28卒."""
    from seasons.models import Season

    return (
        Season.objects.get(graduation_year=2027),
        Season.objects.get_or_create(graduation_year=2028)[0],
    )
