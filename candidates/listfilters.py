"""Filters other apps add to the candidate list (selection round, ES, offer), registered in AppConfig.ready().

The candidate list lives here, below the apps that know rounds or offers: they register a filter
(a query parameter, its choices for a season, and the condition it puts on candidates) instead of
this app importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class ListFilter:
    key: str
    label: StrOrPromise
    # (value, label) pairs for the season being listed.
    choices: Callable[[int], list[tuple[str, str]]]
    # The condition on candidates for a chosen value; None when the value is not one of the choices.
    condition: Callable[[str, int], Q | None]


_registered: dict[str, ListFilter] = {}


def list_filter_register(list_filter: ListFilter) -> None:
    _registered[list_filter.key] = list_filter


def list_filters() -> list[ListFilter]:
    return list(_registered.values())


def list_filter_get(key: str) -> ListFilter | None:
    return _registered.get(key)
