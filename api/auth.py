"""Bearer tokens on the company API: who calls (401), with which scope (403), how often (429)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.errors import ApiProblem
from api.models import ApiToken
from api.services import rate_limit_take, token_authenticate, token_touch


class TokenAuth(HttpBearer):
    """`Authorization: Bearer sk_…` of this company's host; the operation needs `scope`."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> Any:
        token = super().__call__(request)
        if token is None:
            # Missing, malformed, unknown here (another company's token), expired or revoked: one answer.
            raise ApiProblem(
                "unauthorized",
                _("有効な API トークンを Authorization: Bearer で送ってください。"),
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
        return token

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = token_authenticate(secret=token.strip())
        if found is None:
            return None
        request.api_token = found  # read by the audit of this call
        wait = rate_limit_take(token=found)
        if wait is not None:
            raise ApiProblem(
                "rate_limited",
                _("このトークンの上限（1分あたり%(rate)s回）を超えました。%(wait)s秒後に再度お試しください。")
                % {"rate": found.rate_per_minute, "wait": wait},
                headers={"Retry-After": str(wait)},
            )
        if self.scope not in found.scopes:
            raise ApiProblem(
                "insufficient_scope",
                _("この操作には権限「%(scope)s」が必要です。") % {"scope": self.scope},
                extra={"required_scope": self.scope},
            )
        token_touch(token=found)
        return found


CANDIDATES_READ = TokenAuth("candidates:read")
CANDIDATES_WRITE = TokenAuth("candidates:write")
BOOKINGS_READ = TokenAuth("bookings:read")
BOOKINGS_WRITE = TokenAuth("bookings:write")
INCIDENTS_WRITE = TokenAuth("incidents:write")
MAIL_SEND = TokenAuth("mail:send")
RANKS_WRITE = TokenAuth("ranks:write")
WEBHOOKS_MANAGE = TokenAuth("webhooks:manage")
