"""Service notices on the students' pages: an app that knows of trouble registers a source, pages ask here.

The incidents app registers `booking_notice_for` (IncidentsConfig.ready): the My Page shows a plain notice
while an incident or a maintenance affects booking, and booking never imports incidents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NoticeSource = Callable[..., str | None]

_sources: dict[str, NoticeSource] = {}


def notice_source_register(*, name: str, source: NoticeSource) -> None:
    """Register `source(*, tenant) -> str | None` (the notice, or None when all is well); once per name."""
    _sources[name] = source


def service_notice_for(*, tenant: Any) -> str | None:
    """The first notice a registered source gives for this company, or None."""
    for source in _sources.values():
        notice = source(tenant=tenant)
        if notice:
            return notice
    return None
