"""The API's refusals: each is one RFC 9457 problem (code, HTTP status, Japanese and English title)."""

from __future__ import annotations

from typing import Any

# code -> (status, title in Japanese, title in English); the one list the docs and the handlers read.
# i18n: data — every answer carries both titles, whatever the client's language
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "unauthorized": (401, "認証が必要です", "Authentication required"),
    "insufficient_scope": (403, "このトークンには権限がありません", "The token lacks the scope"),
    "not_found": (404, "見つかりません", "Not found"),
    "method_not_allowed": (405, "このメソッドは使えません", "Method not allowed"),
    "validation": (422, "入力が正しくありません", "The request is not valid"),
    "idempotency_in_progress": (409, "同じキーの要求を処理中です", "A request with this key is in progress"),
    "idempotency_mismatch": (
        422,
        "同じキーが別の要求に使われています",
        "The key was used with another request",
    ),
    "idempotency_key_required": (
        400,
        "この操作には Idempotency-Key が必要です",
        "This operation requires an Idempotency-Key",
    ),
    "rank_table_invalid": (422, "ランク表を読み込めません", "The rank table cannot be read"),
    "rate_limited": (429, "要求が多すぎます", "Too many requests"),
    "conflict": (409, "現在の状態では実行できません", "Conflicts with the current state"),
    "bad_request": (400, "要求を処理できません", "The request cannot be processed"),
    "server_error": (500, "サーバーエラーが発生しました", "Server error"),
}


class ApiProblem(Exception):
    """Raised anywhere under the API; the handler answers it as application/problem+json."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        known = PROBLEMS.get(code, PROBLEMS["bad_request"])
        self.code = code
        self.status = status or known[0]
        self.title, self.title_en = known[1], known[2]
        self.detail = detail or known[1]
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.detail)
