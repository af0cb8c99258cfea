"""Examples on the docs page: one curl per operation, in Japanese and in English (Redoc's x-codeSamples)."""

from __future__ import annotations

from typing import Any

BASE = "https://acme.example.jp/api/v1"
AUTH = '-H "Authorization: Bearer $SAIYO_TOKEN"'

# operation -> (what it does in Japanese, in English, the curl arguments after `curl`)
_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "candidates_list": (
        "27卒のAランクの候補者を100件ずつ取得（続きは next_cursor を cursor に）",
        "Rank A candidates of the 2027 season, 100 a page (pass next_cursor as cursor)",
        f'{AUTH} "{BASE}/candidates?season=2027&rank=A&limit=100"',
    ),
    "candidates_get": ("候補者 #42 の詳細", "Candidate #42", f"{AUTH} {BASE}/candidates/42"),
    "candidates_create": (
        "候補者を登録（同じメール・携帯番号の学生には名寄せ）",
        "Create a candidate (merged with the student holding the same e-mail or mobile number)",
        f'{AUTH} -H "Idempotency-Key: 7f3c2a10" -H "Content-Type: application/json" '
        f'-d \'{{"full_name": "山田 太郎", "full_kana": "やまだ たろう", "email": "taro@example.jp", '
        f'"university": "東京大学", "graduation": "2027年3月"}}\' {BASE}/candidates',
    ),
    "candidates_update": (
        "選考ステータスを変え、タグを付ける",
        "Change the selection status and add a tag",
        f'{AUTH} -X PATCH -H "Content-Type: application/json" '
        f'-d \'{{"status": "interview", "add_tags": ["理系"]}}\' {BASE}/candidates/42',
    ),
    "entries_list": (
        "候補者 #42 のエントリー",
        "Entries of candidate #42",
        f'{AUTH} "{BASE}/entries?candidate_id=42"',
    ),
    "ranks_get": ("大学ランク表", "The university rank table", f"{AUTH} {BASE}/ranks"),
    "ranks_upload": (
        "ランク表の CSV（大学名,ランク）で今の表を置き換える",
        "Replace the rank table with a CSV (大学名,ランク)",
        f'{AUTH} -H "Idempotency-Key: 5e8d3b27" -F "file=@ranks.csv;type=text/csv" -F "replace=true" '
        f"{BASE}/ranks/upload",
    ),
    "seminars_list": (
        "説明会と日程・残席",
        "Seminars, slots and seats",
        f'{AUTH} "{BASE}/seminars?season=2027"',
    ),
    "seminars_get": ("説明会 #3", "Seminar #3", f"{AUTH} {BASE}/seminars/3"),
    "bookings_list": (
        "説明会 #3 の有効な予約",
        "Active bookings of seminar #3",
        f'{AUTH} "{BASE}/bookings?seminar_id=3&status=active"',
    ),
    "bookings_create": (
        "候補者 #42 を日程 #7 に予約（満席なら 409 full）",
        "Book slot #7 for candidate #42 (409 full when no seat is left for the rank)",
        f'{AUTH} -H "Idempotency-Key: 9b1e77d4" -H "Content-Type: application/json" '
        f'-d \'{{"candidate_id": 42, "slot_id": 7}}\' {BASE}/bookings',
    ),
    "mail_sequences": (
        "27卒のステップメール",
        "Step-mail sequences of the 2027 season",
        f'{AUTH} "{BASE}/mail/sequences?season=2027"',
    ),
    "bookings_attendance": (
        "予約 #15 の学生が出席したと記録",
        "Record that the student of booking #15 attended",
        f'{AUTH} -H "Content-Type: application/json" -d \'{{"attendance": "attended"}}\' {BASE}/bookings/15/attendance',
    ),
    "bookings_cancel": (
        "予約 #15 をキャンセル",
        "Cancel booking #15",
        f"{AUTH} -X POST {BASE}/bookings/15/cancel",
    ),
    "mail_segments_preview": (
        "27卒の A・B ランクで説明会未予約の学生が何人か（何も送りません）",
        "How many rank A and B students of 2027 without a seminar booking it would reach (sends nothing)",
        f'{AUTH} -H "Content-Type: application/json" '
        f'-d \'{{"ranks": ["A", "B"], "require_not_booked": true, "season": 2027}}\' {BASE}/mail/segments/preview',
    ),
    "mail_segments_send": (
        "セグメント配信を今すぐ送信（Idempotency-Key は必須。再送しても二度は送りません）",
        "Send a segment mail now (Idempotency-Key required; a retry never sends twice)",
        f'{AUTH} -H "Idempotency-Key: 0c6e1f52" -H "Content-Type: application/json" '
        f'-d \'{{"name": "説明会のご案内", "subject": "{{{{ 姓 }}}}様へ説明会のご案内", "body": "{{{{ 名 }}}}さん、'
        f'説明会を開催します。", "ranks": ["A"], "require_not_booked": true}}\' {BASE}/mail/segments',
    ),
    "mail_segments_list": (
        "送信したセグメント配信と通数",
        "Segment mails sent and how many were queued",
        f'{AUTH} "{BASE}/mail/segments?season=2027"',
    ),
    "mail_segments_get": ("セグメント配信 #5", "Segment mail #5", f"{AUTH} {BASE}/mail/segments/5"),
    "interviews_list": (
        "27卒の面接の種類",
        "Interviews of the 2027 season",
        f'{AUTH} "{BASE}/interviews?season=2027"',
    ),
    "interviews_get": (
        "面接 #2 と空き時間",
        "Interview #2 and its free times",
        f"{AUTH} {BASE}/interviews/2",
    ),
    "interview_bookings_list": (
        "候補者 #42 の面接の予約",
        "Interview bookings of candidate #42",
        f'{AUTH} "{BASE}/interview-bookings?candidate_id=42&status=active"',
    ),
    "interview_bookings_create": (
        "候補者 #42 の面接 #2 を空き時間のひとつに予約（埋まっていれば 409 time_taken）",
        "Book interview #2 for candidate #42 at one of its free times (409 time_taken when gone)",
        f'{AUTH} -H "Idempotency-Key: 4d2a9c01" -H "Content-Type: application/json" '
        f'-d \'{{"candidate_id": 42, "interview_id": 2, "starts_at": "2027-04-01T10:00:00+09:00"}}\' '
        f"{BASE}/interview-bookings",
    ),
    "interview_bookings_reschedule": (
        "面接の予約 #8 を別の空き時間に変更",
        "Move interview booking #8 to another free time",
        f'{AUTH} -H "Content-Type: application/json" -d \'{{"starts_at": "2027-04-01T11:00:00+09:00"}}\' '
        f"{BASE}/interview-bookings/8/reschedule",
    ),
    "interview_bookings_cancel": (
        "面接の予約 #8 をキャンセル",
        "Cancel interview booking #8",
        f"{AUTH} -X POST {BASE}/interview-bookings/8/cancel",
    ),
}


def examples(operation: str) -> dict[str, Any]:
    ja, en, arguments = _EXAMPLES[operation]
    return code_samples(ja=ja, en=en, arguments=arguments)


def code_samples(*, ja: str, en: str, arguments: str) -> dict[str, Any]:
    """One operation's curl example in Japanese and English (modules that keep their own examples)."""
    return {
        "x-codeSamples": [
            {"lang": "Shell", "label": "curl（日本語）", "source": f"# {ja}\ncurl {arguments}"},
            {"lang": "Shell", "label": "curl (English)", "source": f"# {en}\ncurl {arguments}"},
        ]
    }
