"""Panels other apps add to a candidate's page (selection rounds side by side, ES, offer), registered in
AppConfig.ready(), so this app shows them without importing the apps above it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any]


# panel(request=…, candidate=…) -> Panel | None, in registration order (apps' order in settings).
_registered: list[Callable[..., Panel | None]] = []


def detail_panel_register(panel: Callable[..., Panel | None]) -> None:
    if panel not in _registered:
        _registered.append(panel)


def detail_panels(*, request: HttpRequest, candidate: Any) -> list[Panel]:
    panels = []
    for panel in _registered:
        shown = panel(request=request, candidate=candidate)
        if shown is not None:
            panels.append(shown)
    return panels
