"""Template context: whether a page is a recruiter's workspace page (the menu, the company name linking home)."""

from __future__ import annotations

from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

MYPAGE_PREFIX = "/my/"


def is_workspace_request(request: HttpRequest) -> bool:
    """A signed-in recruiter on their company's host, outside the students' My Page."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return False
    if request.path.startswith(MYPAGE_PREFIX):
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def workspace(request: HttpRequest) -> dict[str, bool]:
    return {"workspace": is_workspace_request(request)}
