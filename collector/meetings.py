"""Meetings as operators enter them: validation of one meeting (API JSON, board form, CSV line) and
the CSV import, with errors that name the line and the column in Vietnamese and English.

Storage and the API speak UTC epoch seconds / RFC 3339 UTC; people type Vietnam time. The CSV and the
board form accept `dd/mm/yyyy HH:MM` (Vietnam time, UTC+7) or an RFC 3339 time with its offset.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any, Optional

from .timeutil import format_rfc3339

VN_TZ = _dt.timezone(_dt.timedelta(hours=7), "ICT")  # Asia/Ho_Chi_Minh: UTC+7, no DST
MEETING_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ROOM_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_MEETING_S = 24 * 3600.0
MAX_IMPORT_LINES = 5000

# CSV columns: the Vietnamese header (what the template has) and the English alias.
COLUMNS = [
    ("ma_cuoc_hop", "id", False),
    ("noi_dung", "title", True),
    ("diem_cau_chu_toa", "chair_room_id", True),
    ("diem_cau_tham_du", "room_ids", True),
    ("bat_dau", "start", True),
    ("ket_thuc", "end", True),
    ("tong_duyet", "rehearsal_at", False),
    ("khan_cap", "emergency", False),
]
_ALIASES = {vi: en for vi, en, _ in COLUMNS} | {en: en for _, en, _ in COLUMNS}
_VI_NAME = {en: vi for vi, en, _ in COLUMNS}


@dataclass
class FieldError(Exception):
    field: str
    vi: str
    en: str

    def text(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


@dataclass
class ImportError_:
    line: int
    column: Optional[str]
    vi: str
    en: str

    def text(self, lang: str = "vi") -> str:
        if lang == "vi":
            where = f"Dòng {self.line}" + (f", cột '{self.column}'" if self.column else "")
            return f"{where}: {self.vi}"
        where = f"Line {self.line}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.en}"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message_vi": self.text("vi"), "message_en": self.text("en")}


def parse_local_time(value: Any, field: str) -> float:
    """`dd/mm/yyyy HH:MM` (Vietnam time), `yyyy-mm-dd HH:MM` (Vietnam time, the board's datetime-local
    input sends `yyyy-mm-ddTHH:MM`), or RFC 3339 with an offset -> epoch seconds."""
    text = str(value or "").strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2}):(\d{2})", text)
    try:
        if m:
            d, mo, y, h, mi = map(int, m.groups())
            return _dt.datetime(y, mo, d, h, mi, tzinfo=VN_TZ).timestamp()
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?", text)
        if m:
            y, mo, d, h, mi = map(int, m.groups()[:5])
            return _dt.datetime(y, mo, d, h, mi, int(m.group(6) or 0), tzinfo=VN_TZ).timestamp()
        if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", text):
            t = re.sub(r"\.(\d{6})\d+", r".\1", text.replace("Z", "+00:00"))
            return _dt.datetime.fromisoformat(t).timestamp()
    except ValueError:
        pass
    raise FieldError(field, f"'{text}' không phải thời gian hợp lệ (dd/mm/yyyy HH:MM, giờ Việt Nam)",
                     f"'{text}' is not a valid time (dd/mm/yyyy HH:MM, Vietnam time)")


def parse_utc_time(value: Any, field: str) -> float:
    """The API: RFC 3339 in UTC (`Z` or `+00:00`), as everywhere in the protocol."""
    text = str(value or "")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|\+00:00)", text):
        raise FieldError(field, f"'{text}' phải là thời gian RFC 3339 theo UTC (ví dụ 2026-10-13T01:00:00Z)",
                         f"'{text}' must be an RFC 3339 time in UTC (e.g. 2026-10-13T01:00:00Z)")
    return parse_local_time(text, field)


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "không", "khong", "k", "n"):
        return False
    if text in ("1", "true", "yes", "có", "co", "x", "y", "c"):
        return True
    raise FieldError(field, f"'{value}' phải là Có hoặc Không", f"'{value}' must be yes or no")


def _rooms(value: Any, field: str) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[;,\s]+", str(value or ""))
    rooms = [str(r).strip() for r in items if str(r).strip()]
    for r in rooms:
        if not ROOM_ID_RE.match(r):
            raise FieldError(field, f"mã điểm cầu '{r}' không hợp lệ", f"room id '{r}' is not valid")
    return rooms


def generated_id(title: str, start: float, chair: str) -> str:
    """A stable id for a meeting entered without one: importing the same file twice updates, never doubles."""
    digest = hashlib.sha256(f"{title}\x00{start:.0f}\x00{chair}".encode()).hexdigest()[:10]
    return _dt.datetime.fromtimestamp(start, VN_TZ).strftime("m-%Y%m%d-") + digest


def validate(raw: dict, *, times: str = "utc") -> dict:
    """A meeting dict for storage from API JSON (`times="utc"`) or a form / CSV line (`times="local"`).
    Raises FieldError naming the field (English field names)."""
    parse = parse_utc_time if times == "utc" else parse_local_time
    title = str(raw.get("title") or "").strip()
    if not title:
        raise FieldError("title", "thiếu nội dung cuộc họp", "the meeting title is missing")
    if len(title) > 500:
        raise FieldError("title", "nội dung dài quá 500 ký tự", "the title is longer than 500 characters")
    chair = str(raw.get("chair_room_id") or "").strip()
    if not chair:
        raise FieldError("chair_room_id", "thiếu điểm cầu chủ tọa", "the chairing room is missing")
    if not ROOM_ID_RE.match(chair):
        raise FieldError("chair_room_id", f"mã điểm cầu '{chair}' không hợp lệ", f"room id '{chair}' is not valid")
    rooms = _rooms(raw.get("room_ids"), "room_ids")
    if chair not in rooms:
        rooms.insert(0, chair)  # the chairing room takes part too (it gets the schedule, role "chair")
    if len(rooms) < 2:
        raise FieldError("room_ids", "cần ít nhất một điểm cầu tham dự ngoài điểm cầu chủ tọa",
                         "at least one participating room besides the chair is needed")
    start = parse(raw.get("start"), "start")
    end = parse(raw.get("end"), "end")
    if end <= start:
        raise FieldError("end", "thời gian kết thúc phải sau thời gian bắt đầu", "the end must be after the start")
    if end - start > MAX_MEETING_S:
        raise FieldError("end", "cuộc họp dài quá 24 giờ", "the meeting is longer than 24 hours")
    rehearsal_raw = raw.get("rehearsal_at")
    rehearsal = None if rehearsal_raw in (None, "") else parse(rehearsal_raw, "rehearsal_at")
    if rehearsal is not None and rehearsal >= start:
        raise FieldError("rehearsal_at", "phiên tổng duyệt phải trước phiên họp chính thức",
                         "the rehearsal must be before the official start")
    emergency = _bool(raw.get("emergency"), "emergency")
    mid = str(raw.get("id") or raw.get("meeting_id") or "").strip() or generated_id(title, start, chair)
    if not MEETING_ID_RE.match(mid):
        raise FieldError("id", f"mã cuộc họp '{mid}' không hợp lệ (chữ, số, . _ -)",
                         f"meeting id '{mid}' is not valid (letters, digits, . _ -)")
    return dict(meeting_id=mid, title=title, chair_room_id=chair, room_ids=sorted(set(rooms)), start_at=start,
                end_at=end, rehearsal_at=rehearsal, emergency=emergency)


def to_api(m: dict) -> dict:
    return {"id": m["meeting_id"], "title": m["title"], "chair_room_id": m["chair_room_id"],
            "room_ids": m["room_ids"], "start": format_rfc3339(m["start_at"]), "end": format_rfc3339(m["end_at"]),
            "rehearsal_at": format_rfc3339(m["rehearsal_at"]), "emergency": m["emergency"]}


def parse_csv(data: bytes | str) -> tuple[list[dict], list[ImportError_]]:
    """Meetings of a CSV file (UTF-8, optional BOM; `,` or `;`), and every problem found. Line numbers
    count the header as line 1, as a spreadsheet shows them."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [], [ImportError_(1, None, f"tệp không phải UTF-8 (byte {exc.start})",
                                     f"the file is not UTF-8 (byte {exc.start})")]
    else:
        text = data.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [ImportError_(1, None, "tệp trống", "the file is empty")]
    names = [_ALIASES.get(h.strip().lower()) for h in header]
    errors: list[ImportError_] = []
    for i, h in enumerate(header):
        if names[i] is None and h.strip():
            errors.append(ImportError_(1, h.strip(), "cột không được hỗ trợ", "unknown column"))
    for vi, en, required in COLUMNS:
        if required and en not in names:
            errors.append(ImportError_(1, vi, "thiếu cột bắt buộc", "required column missing"))
    if errors:
        return [], errors
    shown = {en: header[i].strip() for i, en in enumerate(names) if en}
    meetings: list[dict] = []
    seen: dict[str, int] = {}
    for lineno, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if lineno > MAX_IMPORT_LINES + 1:
            errors.append(ImportError_(lineno, None, f"quá {MAX_IMPORT_LINES} dòng", f"more than {MAX_IMPORT_LINES} lines"))
            break
        if len(row) > len(header):
            errors.append(ImportError_(lineno, None, f"có {len(row)} ô, dòng tiêu đề có {len(header)}",
                                       f"{len(row)} cells; the header has {len(header)}"))
            continue
        raw = {names[i]: cell for i, cell in enumerate(row) if i < len(names) and names[i]}
        try:
            m = validate(raw, times="local")
        except FieldError as exc:
            errors.append(ImportError_(lineno, shown.get(exc.field, _VI_NAME.get(exc.field, exc.field)), exc.vi, exc.en))
            continue
        if m["meeting_id"] in seen:
            errors.append(ImportError_(lineno, shown.get("id", "ma_cuoc_hop"),
                                       f"trùng mã cuộc họp với dòng {seen[m['meeting_id']]}",
                                       f"same meeting id as line {seen[m['meeting_id']]}"))
            continue
        seen[m["meeting_id"]] = lineno
        m["_line"] = lineno
        meetings.append(m)
    return meetings, errors


CSV_TEMPLATE = (",".join(vi for vi, _, _ in COLUMNS) + "\r\n"
                + "m-2026-0142,Hội nghị trực tuyến về phòng chống bão số 3,qn-ubnd-tinh,qn-hoanhbo;qn-bangca,"
                "13/10/2026 08:00,13/10/2026 11:00,12/10/2026 15:00,Không\r\n")
