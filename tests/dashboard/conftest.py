"""Fixtures of the dashboard tests: acme, its users and 27卒's flow (from the selection tests)."""

from tests.candidates.conftest import acme, make_user  # noqa: F401 - fixtures used here
from tests.selection.conftest import flow  # noqa: F401 - fixtures used here
