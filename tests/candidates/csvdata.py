"""Job-board CSV data and file doubles shared by the CSV reader's tests."""

import csv
import io
from pathlib import Path

import pytest

from candidates.csvsource import CSVSource, CSVSourceError

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

MYNAVI_HEADER = (
    "マイナビID,氏名,氏名（カナ）,性別,生年月日,メールアドレス,携帯電話番号,学校区分,学校名,学部名,学科名,"
    "文理区分,卒業予定年月,エントリー日時"
).split(",")
# 髙, 﨑, ① and ～ exist in CP932 but not in plain Shift_JIS, as in real Windows exports.
MYNAVI_ROWS = [
    "MN00000001,髙橋　悠斗,タカハシ　ユウト,男性,2003/05/03,takahashi@example.ac.jp,090-1111-2222,大学,"
    "東京大学,工学部,電気電子工学科,理系,2026年03月,2026/05/24 11:06",
    "MN00000002,山﨑　花子,ヤマザキ　ハナコ,女性,2004/01/31,yamazaki@example.ac.jp,080-3333-4444,大学院,"
    "京都大学,文学研究科,英文学専攻①,文系,2027年03月,2026/06/01 09:00",
    "MN00000003,佐藤　～,サトウ,回答しない,2003/12/01,,070-5555-6666,短大,大阪短期大学,,,文系,2026年03月,"
    "2026/06/02 10:30",
]


def build_csv(header: list[str], rows: list[list[str]], *, newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows([header, *rows])
    return buffer.getvalue()


def mynavi_text(*, newline: str = "\r\n") -> str:
    return build_csv(MYNAVI_HEADER, [row.split(",") for row in MYNAVI_ROWS], newline=newline)


MYNAVI_CP932 = mynavi_text().encode("cp932")


def open_bytes(data: bytes, **options) -> CSVSource:
    return CSVSource.open(fileobj=io.BytesIO(data), **options)


def error_of(data: bytes, **options) -> CSVSourceError:
    with pytest.raises(CSVSourceError) as caught:
        list(open_bytes(data, **options).rows())
    return caught.value


class CountingBytesIO(io.BytesIO):
    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    read1 = read  # what the text layer calls


class Unseekable(CountingBytesIO):  # forward-only, like a socket or a decompressor
    def seekable(self):
        return False
