"""Reading a page in English in the tests: fetch it with the English language, and find the Japanese left in it."""

from __future__ import annotations

import re

from django.conf import settings

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60\u3000-\u303f]")


def english_get(client, path: str, *, host: str):
    """GET a page as a browser set to English (the language cookie and Accept-Language both say so)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(path, HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="en")


def japanese_left(html: str, *, data: tuple[str, ...] = (), start: str = "<h1") -> list[str]:
    """The lines of the page's own content (from `start` to the end of <main>, attributes included) that still
    hold Japanese once the given student and company data are taken out."""
    content = html.split("</main>")[0]
    content = content[content.index(start) :]
    for value in sorted(data, key=len, reverse=True):  # "内定承諾" before "内定"
        content = content.replace(value, "")
    return [line.strip() for line in content.splitlines() if JAPANESE.search(line)]
