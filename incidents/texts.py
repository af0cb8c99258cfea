"""Words the system itself writes into an incident (the watchdog's, Sentry's, the leak detector's).

An incident keeps both of its languages (title / title_en, message_ja / message_en) whichever language the
writer works in: the Japanese is the catalogue's msgid, the English its translation.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext


def both_languages(message: str, **params: Any) -> tuple[str, str]:
    """(Japanese, English) of a catalogue message, with its %(name)s parameters filled in."""
    texts = []
    for language in ("ja", "en"):
        with translation.override(language):
            text = gettext(message)
            texts.append(text % params if params else text)
    return texts[0], texts[1]
