"""The demo's mailbox page on the public host: mails caught by `manage.py smtp_sink` (`make demo` only,
for signed-in support staff: the mails hold working sign-in links)."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from accounts.permissions import staff_otp_required
from notifications.sink import mailbox_list

_URL = re.compile(r"https?://[^\s<>\"']+")


def _linkify(text: str) -> SafeString:
    # Every piece is escaped, URLs included: nothing in a mail can inject markup into the page.
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = escape(match.group(0))
        parts += [escape(text[position : match.start()]), f'<a href="{url}">{url}</a>']
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308


def demo_mailbox(request: HttpRequest) -> HttpResponse:
    if not settings.DEMO:
        raise Http404(gettext("デモ環境でのみ使えます"))
    return _mailbox(request)


@staff_otp_required
def _mailbox(request: HttpRequest) -> HttpResponse:
    mails = mailbox_list(limit=100)
    for mail in mails:
        mail.body_html = _linkify(mail.body)
    return render(request, "notifications/demo_mailbox.html", {"mails": mails})
