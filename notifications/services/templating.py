"""Mail templates: a fixed set of Japanese variables, substituted as plain text (no template language)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from notifications.errors import TemplateVariableError

# The documented variable set. Recruiters reach these values and nothing else.
# i18n: data — the variable names are the keys recruiters type in their templates
VARIABLES: dict[str, str | Promise] = {
    "姓": _("学生の姓"),
    "名": _("学生の名"),
    "セイ": _("学生の姓（カナ）"),
    "メイ": _("学生の名（カナ）"),
    "大学名": _("学生の大学名"),
    "会社名": _("貴社名"),
    "マイページURL": _("学生のマイページの URL"),
    "説明会名": _("予約した説明会の名前（予約に関するメールのみ）"),
    "日時": _("予約した枠の日時（予約に関するメールのみ）"),
    "配信停止URL": _("配信停止ページの URL"),
}

# The variables' placeholders for system mail texts in any language: a translated text names them as
# %(family_name)s …, so the variables stay as they are whatever the language.
# i18n: data — the variables' names
PLACEHOLDERS: dict[str, str] = {
    "family_name": "{{ 姓 }}",
    "given_name": "{{ 名 }}",
    "university": "{{ 大学名 }}",
    "company": "{{ 会社名 }}",
    "mypage_url": "{{ マイページURL }}",
}

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def template_variables(text: str) -> list[str]:
    """Every variable name a text references, in order of appearance."""
    return [match.group(1) for match in _PLACEHOLDER.finditer(text)]


def template_validate(*, subject: str, body: str) -> None:
    """Refuse a template that names a variable outside the documented set."""
    unknown = [
        name for name in template_variables(subject) + template_variables(body) if name not in VARIABLES
    ]
    if unknown:
        shown = pgettext("区切り", "、").join(f"{{{{ {name} }}}}" for name in dict.fromkeys(unknown))
        raise TemplateVariableError(
            gettext("使えない変数があります: %(names)s。使える変数は一覧を確認してください。")
            % {"names": shown}
        )
    if "\n" in subject or "\r" in subject:
        raise TemplateVariableError(gettext("件名に改行は使えません。"))


def template_render(text: str, values: Mapping[str, str]) -> str:
    """Replace each {{ 変数 }} with its value; values are inserted verbatim, never interpreted."""

    def replace(match: re.Match[str]) -> str:
        return str(values.get(match.group(1), ""))

    return _PLACEHOLDER.sub(replace, text)


def template_preview(*, subject: str, body: str, candidate: Any, tenant: Any) -> dict[str, str]:
    """Subject and body as this student would receive them (sample values for booking variables)."""
    from accounts.services import site_url
    from notifications.services.unsubscribe import unsubscribe_url
    from notifications.services.variables import candidate_values

    template_validate(subject=subject, body=body)
    host = tenant.get_primary_domain().domain
    values = candidate_values(
        tenant=tenant,
        host=host,
        candidate={
            "id": candidate.id,
            "family_name": candidate.family_name,
            "given_name": candidate.given_name,
            "family_kana": candidate.family_kana,
            "given_kana": candidate.given_kana,
            "university": candidate.university,
        },
        context={
            "seminar_name": gettext("（説明会名の例）会社説明会"),
            "slot_text": gettext("（日時の例）4月10日(木) 14:00〜15:00"),
        },
        unsubscribe_link=unsubscribe_url(
            host=host, schema_name=tenant.schema_name, candidate_id=candidate.id, message_id=None
        ),
        # A preview never mints a real sign-in link: the recruiter must not be able to act as the student.
        mypage_url=site_url(
            host=host, path="/my/login/" + gettext("（プレビューではリンクを作りません）") + "/"
        ),
    )
    return {"subject": template_render(subject, values), "body": template_render(body, values)}
