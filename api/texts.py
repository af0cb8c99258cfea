"""OpenAPI texts (summaries, descriptions) translated when the schema is served, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _gettext_lazy

# ninja's annotations say str, and a lazy string serialises as one (NinjaJSONEncoder turns it into its text
# in the language of the request that reads the schema): typed as returning str for the decorators.
gettext_lazy = cast(Callable[[str], str], _gettext_lazy)


def texts_join(*texts: str) -> str:
    """Several texts as one, each still translated when the schema is read."""
    return cast(str, format_lazy(" ".join("{}" for _text in texts), *texts))
