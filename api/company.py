"""The company API at https://<slug>.<BASE_DOMAIN>/api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from __future__ import annotations

from api.endpoints import bookings, candidates, interviews, mail
from api.http import api_new
from api.texts import gettext_lazy
from api.webhooks import endpoints as webhooks_endpoints

DESCRIPTION = gettext_lazy("""
採用管理の API です。会社の管理者が「API トークン」画面で作ったトークンを `Authorization: Bearer` で送ります。
エラーは RFC 9457 の problem details（`application/problem+json`、`title` は日本語、`title_en` は英語）、
日時はすべてオフセット付きの ISO 8601、一覧は `next_cursor` で続きを取得します。GET には ETag が付きます。

The recruitment API. Send a token an admin created on the API tokens page as `Authorization: Bearer`.
Errors are RFC 9457 problem details (`title` in Japanese, `title_en` in English); timestamps are ISO 8601
with their offset; lists page with `next_cursor`; reads carry an ETag (send it back as If-None-Match).
Each token has a per-minute limit: over it, 429 with Retry-After.
""")

company_api = api_new(
    title=gettext_lazy("採用管理 API / Recruitment API"),
    version="1",
    description=DESCRIPTION,
    urls_namespace="companyapi",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
company_api.add_router("", candidates.router)
company_api.add_router("", bookings.router)
company_api.add_router("", mail.router)
company_api.add_router("", interviews.router)
company_api.add_router("", webhooks_endpoints.router)
