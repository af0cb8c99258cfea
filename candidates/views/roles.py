"""Role checks on pages that export, merge or delete student data: a refusal leaves an audit entry."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse

from accounts.permissions import forbidden, role_required
from candidates.services.audit import audit_request

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def roles_audited(
    *roles: str, action: str, message: StrOrPromise | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """`role_required`, and a signed-in user refused by role leaves an audit entry `action` naming the page."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        guarded = role_required(*roles)(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if user.is_authenticated and getattr(user, "role", None) not in roles:
                audit_request(request=request, action=action, student_count=0, target=request.path[:200])
                return forbidden(request, str(message)) if message else forbidden(request)
            return guarded(request, *args, **kwargs)

        return wrapped

    return decorator
