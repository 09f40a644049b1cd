"""The forms Decision 32/2019 requires, computed from the schedule, the call sessions the agents pushed
and what technicians entered: Phụ lục I (the room's log book) and Phụ lục II (the quality evaluation
per quarter, half-year or year, rolled up commune → district → province as Điều 13 khoản 8 says).

Pure functions over plain data (storage reads are in `collect_*`); the rules are in docs/collector.md,
"Forms", and in the constants below. Writers: .xlsx (openpyxl, laid out like the form, Vietnamese
headers) and CSV.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .meetings import VN_TZ

# -- rules (docs/collector.md, "Quality derivation") ---------------------------------------------------
LONG_LOSS_S = 900.0             # "mất từ 15 phút trở lên"
LINK_LOSS_AVG_MAX = 1.0         # % average packet loss over the session for "đảm bảo"
JITTER_AVG_MAX = 30.0           # ms average jitter
PICTURE_LOSS_MAX = 5.0          # % worst packet loss sample for a good picture
ROOM_GOOD_SHARE = 0.9           # a room is "Tốt" / "Đảm bảo" for the period when ≥ 90 % of its sessions are
UNSCHEDULED_MIN_S = 600.0       # an unscheduled call shorter than this is a test call, not a meeting session
SIGNAL_KINDS = ("total", "media")  # "mất tín hiệu": the call dropped, or no incoming media; `quality` is degraded

CAUSE_VI = {
    "power": "mất điện / UPS chạy pin",
    "link": "mất kết nối đường truyền",
    "codec_reboot": "thiết bị đầu cuối khởi động lại",
    "unregistered": "mất đăng ký với MCU",
    "unknown": "không rõ nguyên nhân",
    "missed": "không kết nối vào phiên họp",
}
KIND_VI = {"total": "mất tín hiệu hoàn toàn", "media": "mất hình ảnh/âm thanh (không nhận được tín hiệu)",
           "quality": "chất lượng kém (mất gói cao)"}
RATING_VI = {True: "Tốt", False: "Chưa tốt"}
LINK_VI = {True: "Đảm bảo", False: "Chưa đảm bảo"}
LEVEL_VI = {"province": "CẤP TỈNH", "district": "CẤP HUYỆN", "commune": "CẤP XÃ", "other": "ĐƠN VỊ KHÁC"}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
         "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV", "XXV", "XXVI", "XXVII", "XXVIII", "XXIX",
         "XXX", "XXXI", "XXXII"]

DECISION_LINE = "(Ban hành kèm theo Quyết định số 32/2019/QĐ-UBND ngày 31 tháng 10 năm 2019 của UBND tỉnh Quảng Ninh)"
Q2_COLUMNS = ["Tên điểm cầu, địa điểm lắp đặt", "Thiết bị đầu cuối THHN (VCS)", "Tổng số phiên họp",
              "Mất hoàn toàn", "Mất từ 15 phút trở lên", "Lí do mất", "Thời gian khắc phục",
              "Chất lượng âm thanh (Tốt, chưa tốt)",
              "Chất lượng đường truyền, kênh truyền độ ổn định kết nối (Đảm bảo/Chưa đảm bảo)",
              "Chất lượng hình ảnh (Tốt/chưa tốt)", "Số phiên họp đánh giá chung đạt chất lượng",
              "Nguồn số liệu"]
LOSS_GROUP = "Số phiên mất tín hiệu"
L1_COLUMNS = ["Nội dung hội nghị/ cuộc họp", "Thời gian", "Yêu cầu ghi lại nội dung cuộc họp (Có/ Không)",
              "Ghi chú sự cố (nếu có)", "Cán bộ kỹ thuật", "Cán bộ kỹ thuật", "Nguồn số liệu"]


# -- periods -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    kind: str  # quarter | half | year | range
    label: str  # the form's words: "QUÝ IV NĂM 2026"
    first: _dt.date
    last: _dt.date

    @property
    def start(self) -> float:
        return _dt.datetime.combine(self.first, _dt.time(), VN_TZ).timestamp()

    @property
    def end(self) -> float:  # exclusive: midnight after the last day, Vietnam time
        return _dt.datetime.combine(self.last + _dt.timedelta(days=1), _dt.time(), VN_TZ).timestamp()

    @property
    def slug(self) -> str:
        return f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"


def _last_day(year: int, month: int) -> _dt.date:
    return (_dt.date(year + (month == 12), month % 12 + 1, 1) - _dt.timedelta(days=1))


def period_quarter(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})\s*-?\s*Q([1-4])", text.strip(), re.I)
    if not m:
        raise ValueError(f"quarter {text!r}: use YYYYQn, e.g. 2026Q4")
    y, q = int(m.group(1)), int(m.group(2))
    return Period("quarter", f"QUÝ {ROMAN[q - 1]} NĂM {y}", _dt.date(y, 3 * q - 2, 1), _last_day(y, 3 * q))


def period_half(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})\s*-?\s*H([12])", text.strip(), re.I)
    if not m:
        raise ValueError(f"half-year {text!r}: use YYYYH1 or YYYYH2, e.g. 2026H2")
    y, h = int(m.group(1)), int(m.group(2))
    return Period("half", f"{'6 THÁNG ĐẦU' if h == 1 else '6 THÁNG CUỐI'} NĂM {y}",
                  _dt.date(y, 1 if h == 1 else 7, 1), _dt.date(y, 6, 30) if h == 1 else _dt.date(y, 12, 31))


def period_year(text: str | int) -> Period:
    if not re.fullmatch(r"\d{4}", str(text).strip()):
        raise ValueError(f"year {text!r}: use YYYY, e.g. 2026")
    y = int(text)
    return Period("year", f"NĂM {y}", _dt.date(y, 1, 1), _dt.date(y, 12, 31))


def parse_date(text: str) -> _dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"date {text!r}: use YYYY-MM-DD or dd/mm/yyyy")


def period_range(first: str, last: str) -> Period:
    a, b = parse_date(first), parse_date(last)
    if b < a:
        raise ValueError("the end date is before the start date")
    return Period("range", f"TỪ {a:%d/%m/%Y} ĐẾN {b:%d/%m/%Y}", a, b)


def parse_period(spec: str) -> Period:
    """2026Q4, 2026H2, 2026, or FROM..TO."""
    spec = spec.strip()
    if ".." in spec:
        return period_range(*spec.split("..", 1))
    if re.search(r"q", spec, re.I):
        return period_quarter(spec)
    if re.search(r"h", spec, re.I):
        return period_half(spec)
    return period_year(spec)


# -- formatting --------------------------------------------------------------------------------------
def vn(ts: Optional[float], fmt: str = "%d/%m/%Y %H:%M") -> str:
    return "" if ts is None else _dt.datetime.fromtimestamp(ts, VN_TZ).strftime(fmt)


def duration_vi(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    parts = []
    if h:
        parts.append(f"{h} giờ")
    if m:
        parts.append(f"{m} phút")
    if sec or not parts:
        parts.append(f"{sec} giây")
    return " ".join(parts)


def _ts(text: Optional[str]) -> Optional[float]:
    if not text:
        return None
    from .timeutil import parse_rfc3339
    return parse_rfc3339(text)


# -- one "phiên họp" of a room -----------------------------------------------------------------------
@dataclass
class LossView:
    start: float
    kind: str
    cause: str
    duration_s: Optional[float]  # None: not known to have ended
    fixed_s: Optional[float]     # time to fix, None when not fixed


@dataclass
class Phien:
    room_id: str
    ref: str  # meeting id, or "session:<session_id>" for an unscheduled call
    meeting: Optional[dict]
    sessions: list[dict]
    note: dict
    start: float
    end: Optional[float]
    losses: list[LossView] = field(default_factory=list)
    missed: bool = False
    quality: dict = field(default_factory=dict)
    audio: Optional[bool] = None
    picture: Optional[bool] = None
    audio_entered: bool = False
    picture_entered: bool = False
    link: bool = False

    @property
    def signal_losses(self) -> list[LossView]:
        return [x for x in self.losses if x.kind in SIGNAL_KINDS]

    @property
    def total_loss(self) -> bool:
        return self.missed or any(x.kind == "total" for x in self.losses)

    @property
    def long_loss(self) -> bool:
        if self.missed and self.meeting and self.meeting["end_at"] - self.meeting["start_at"] >= LONG_LOSS_S:
            return True  # no signal for the whole meeting
        return any(x.duration_s is not None and x.duration_s >= LONG_LOSS_S for x in self.signal_losses)

    @property
    def good(self) -> bool:
        return bool(self.audio and self.picture and self.link)

    @property
    def title(self) -> str:
        if self.note.get("content"):
            return self.note["content"]
        if self.meeting:
            return self.meeting["title"]
        remote = self.sessions[0]["body"].get("remote") if self.sessions else None
        return f"Cuộc gọi ngoài lịch{' với ' + remote if remote else ''}"


def _weighted_quality(sessions: list[dict]) -> dict:
    total = sum((s["body"].get("quality") or {}).get("samples") or 0 for s in sessions)
    out: dict[str, Any] = {"samples": total}
    for key in ("loss_percent_avg", "jitter_ms_avg", "rtt_ms_avg"):
        num = den = 0.0
        for s in sessions:
            q = s["body"].get("quality") or {}
            if q.get(key) is not None and (q.get("samples") or 0) > 0:
                num += q[key] * q["samples"]
                den += q["samples"]
        out[key] = round(num / den, 2) if den else None
    maxes = [(s["body"].get("quality") or {}).get("loss_percent_max") for s in sessions]
    maxes = [m for m in maxes if m is not None]
    out["loss_percent_max"] = max(maxes) if maxes else None
    return out


def _losses(phien: Phien) -> list[LossView]:
    """Every loss of the phiên's sessions. A loss that ended its session unrecovered lasted until the
    room's next call of the same meeting (then that gap is its time to fix) or, with none, until the
    meeting's official end (not fixed)."""
    out = []
    sessions = sorted(phien.sessions, key=lambda s: s["start_at"])
    for i, s in enumerate(sessions):
        for loss in s["body"].get("signal_losses") or []:
            start = _ts(loss.get("start"))
            if start is None:
                continue
            duration, fixed = loss.get("duration_s"), loss.get("recovery_s")
            if duration is None:
                nxt = sessions[i + 1]["start_at"] if i + 1 < len(sessions) else None
                if nxt is not None and nxt >= start:
                    duration = fixed = nxt - start
                elif phien.meeting is not None:
                    duration = max(0.0, phien.meeting["end_at"] - start)
            out.append(LossView(start, loss.get("kind", "total"), loss.get("cause", "unknown"),
                                None if duration is None else float(duration),
                                None if fixed is None else float(fixed)))
    return sorted(out, key=lambda x: x.start)


def rate(phien: Phien) -> Phien:
    """The ratings of one phiên (docs/collector.md, "Quality derivation")."""
    q = phien.quality
    loss_avg, jitter, loss_max = q.get("loss_percent_avg"), q.get("jitter_ms_avg"), q.get("loss_percent_max")
    measured_ok = ((loss_avg is None or loss_avg <= LINK_LOSS_AVG_MAX) and (jitter is None or jitter <= JITTER_AVG_MAX))
    degraded = any(x.kind in ("media", "quality") for x in phien.losses)
    phien.link = (not phien.missed and not phien.total_loss and not phien.long_loss
                  and not any(x.kind == "quality" for x in phien.losses) and measured_ok)
    audio = not phien.missed and not degraded and measured_ok
    picture = audio and (loss_max is None or loss_max <= PICTURE_LOSS_MAX)
    entered_audio, entered_picture = phien.note.get("audio_rating"), phien.note.get("picture_rating")
    phien.audio_entered = entered_audio in ("tot", "chua_tot")
    phien.picture_entered = entered_picture in ("tot", "chua_tot")
    phien.audio = (entered_audio == "tot") if phien.audio_entered else audio
    phien.picture = (entered_picture == "tot") if phien.picture_entered else picture
    return phien


def room_phien(room_id: str, meetings: list[dict], sessions: list[dict], notes: dict, period: Period,
               now: Optional[float] = None) -> list[Phien]:
    """The room's phiên họp in the period: each scheduled meeting of the room that starts in it and has
    started by `now` (with the room's calls tied to it, or none: missed), and each unscheduled call of
    at least 10 minutes."""
    by_meeting: dict[str, list[dict]] = {}
    loose = []
    known = {m["meeting_id"]: m for m in meetings}
    for s in sessions:
        if s["room_id"] != room_id:
            continue
        if s.get("meeting_id") in known:
            by_meeting.setdefault(s["meeting_id"], []).append(s)
        else:
            loose.append(s)
    out = []
    for m in meetings:
        if room_id not in m["room_ids"] or not (period.start <= m["start_at"] < period.end):
            continue
        if now is not None and m["start_at"] > now:
            continue  # not held yet
        ss = by_meeting.get(m["meeting_id"], [])
        p = Phien(room_id, m["meeting_id"], m, ss, notes.get((room_id, m["meeting_id"]), {}), m["start_at"], m["end_at"])
        p.missed = not ss
        out.append(p)
    for s in loose:
        if not (period.start <= s["start_at"] < period.end):
            continue
        if s["end_at"] is not None and s["end_at"] - s["start_at"] < UNSCHEDULED_MIN_S:
            continue
        ref = "session:" + s["session_id"]
        out.append(Phien(room_id, ref, None, [s], notes.get((room_id, ref), {}), s["start_at"], s["end_at"]))
    for p in out:
        p.losses = _losses(p)
        p.quality = _weighted_quality(p.sessions)
        rate(p)
    return sorted(out, key=lambda p: p.start)


# -- Phụ lục II rows ---------------------------------------------------------------------------------
@dataclass
class QualityRow:
    room: dict
    place: str
    vcs: str
    vcs_entered: bool
    phien: list[Phien]

    @property
    def total(self) -> int:
        return len(self.phien)

    @property
    def n_total_loss(self) -> int:
        return sum(1 for p in self.phien if p.total_loss)

    @property
    def n_long_loss(self) -> int:
        return sum(1 for p in self.phien if p.long_loss)

    @property
    def n_good(self) -> int:
        return sum(1 for p in self.phien if p.good)

    def count(self, attr: str) -> int:
        return sum(1 for p in self.phien if getattr(p, attr))

    def reasons(self) -> str:
        counts: dict[str, int] = {}
        for p in self.phien:
            if p.missed:
                counts["missed"] = counts.get("missed", 0) + 1
            for x in p.signal_losses:
                counts[x.cause] = counts.get(x.cause, 0) + 1
        order = sorted(counts.items(), key=lambda kv: (-kv[1], CAUSE_VI.get(kv[0], kv[0])))
        return "; ".join(f"{CAUSE_VI.get(c, c)} ({n} lần)" for c, n in order)

    def fix_time(self) -> str:
        fixed = [x.fixed_s for p in self.phien for x in p.signal_losses if x.fixed_s is not None]
        unfixed = sum(1 for p in self.phien for x in p.signal_losses if x.fixed_s is None)
        parts = []
        if fixed:
            parts.append(f"tổng {duration_vi(sum(fixed))}, lâu nhất {duration_vi(max(fixed))}")
        if unfixed:
            parts.append(f"{unfixed} lần không khắc phục được trong phiên")
        return "; ".join(parts)

    def rating(self, attr: str, words: dict) -> str:
        if not self.phien:
            return ""
        good = self.count(attr)
        return f"{words[good >= ROOM_GOOD_SHARE * self.total]} ({good}/{self.total})"

    def source(self) -> str:
        entered = sum(1 for p in self.phien if p.audio_entered or p.picture_entered)
        parts = ["Mất tín hiệu, lí do, thời gian khắc phục, đường truyền: đo tự động"]
        if self.phien:
            parts.append(f"âm thanh/hình ảnh: {self.total - entered} phiên đo tự động, "
                         f"{entered} phiên do cán bộ kỹ thuật đánh giá")
        parts.append("VCS: " + ("nhập tay" if self.vcs_entered else "đo tự động"))
        return "; ".join(parts) + "."

    def cells(self) -> list[Any]:
        return [self.place, self.vcs, self.total, self.n_total_loss, self.n_long_loss, self.reasons(),
                self.fix_time(), self.rating("audio", RATING_VI), self.rating("link", LINK_VI),
                self.rating("picture", RATING_VI), self.n_good, self.source()]


def vcs_of(contacts: dict, report: Optional[dict]) -> tuple[str, bool]:
    if contacts.get("vcs_model"):
        return contacts["vcs_model"], True
    facts = (((report or {}).get("statuses") or {}).get("codec") or {}).get("facts") or {}
    words = [str(facts[k]) for k in ("vendor", "model") if facts.get(k)]
    return (" ".join(words), False) if words else ("", False)


def quality_rows(rooms: list[dict], meetings: list[dict], sessions: list[dict], notes: dict, contacts: dict,
                 reports: dict, period: Period, now: Optional[float] = None) -> list[QualityRow]:
    rows = []
    for room in rooms:
        c = contacts.get(room["room_id"], {})
        vcs, entered = vcs_of(c, reports.get(room["room_id"]))
        place = room["name"] + (f" — {c['address']}" if c.get("address") else "")
        rows.append(QualityRow(room, place, vcs, entered,
                               room_phien(room["room_id"], meetings, sessions, notes, period, now)))
    return rows


@dataclass
class Section:
    title: str
    rows: list[QualityRow]
    total_label: str


def rollup(rows: list[QualityRow]) -> list[Section]:
    """Điều 13 khoản 8: province-level rooms (to Sở TTTT); per district, its district-level rooms and its
    communes (the district People's Committee sums its communes'); other units."""
    sections = []
    province = [r for r in rows if r.room["level"] == "province"]
    if province:
        sections.append(Section("CÁC ĐIỂM CẦU CẤP TỈNH", province, "Cộng cấp tỉnh"))
    districts = sorted({r.room["district"] for r in rows if r.room["level"] in ("district", "commune")})
    for d in districts:
        members = [r for r in rows if r.room["level"] == "district" and r.room["district"] == d]
        members += [r for r in rows if r.room["level"] == "commune" and r.room["district"] == d]
        name = d or "(chưa ghi huyện)"
        sections.append(Section(f"{name.upper()} (cấp huyện và các xã)", members, f"Cộng {name}"))
    other = [r for r in rows if r.room["level"] not in ("province", "district", "commune")]
    if other:
        sections.append(Section("ĐƠN VỊ KHÁC", other, "Cộng đơn vị khác"))
    for s in sections:
        s.rows.sort(key=lambda r: (r.room["level"] != "district", r.room["name"], r.room["room_id"]))
    return sections


def total_cells(label: str, rows: list[QualityRow]) -> list[Any]:
    def rooms_good(attr, words):
        rated = [r for r in rows if r.phien]
        good = sum(1 for r in rated if r.count(attr) >= ROOM_GOOD_SHARE * r.total)
        return f"{words[True]}: {good}/{len(rated)} điểm cầu" if rated else ""
    return [label, "", sum(r.total for r in rows), sum(r.n_total_loss for r in rows),
            sum(r.n_long_loss for r in rows), "", "", rooms_good("audio", RATING_VI), rooms_good("link", LINK_VI),
            rooms_good("picture", RATING_VI), sum(r.n_good for r in rows), ""]


# -- writers -----------------------------------------------------------------------------------------
def _unit_lines(unit: dict) -> list[str]:
    return [f"1. Tên đơn vị: {unit.get('name', '')}", f"2. Địa chỉ: {unit.get('address', '')}",
            f"3. Điện thoại đơn vị: {unit.get('phone', '')}",
            f"4. E-mail (của đơn vị hoặc lãnh đạo phụ trách CNTT): {unit.get('email', '')}",
            f"5. Tên cán bộ liên hệ: {unit.get('contact', '')}    ĐT: {unit.get('contact_phone', '')}"]


def quality_title(period: Period) -> str:
    return (f"ĐÁNH GIÁ CHẤT LƯỢNG HỆ THỐNG HỘI NGHỊ TRUYỀN HÌNH TRỰC TUYẾN XUỐNG CẤP XÃ {period.label} "
            f"(TÍNH TỪ {period.first:%d/%m/%Y} ĐẾN {period.last:%d/%m/%Y})")


Q2_HEADER_ROW = 11  # first header row of the table; data from Q2_HEADER_ROW + 2


def quality_xlsx(rows: list[QualityRow], period: Period, unit: dict, generated_at: float) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục II"
    ncol = len(Q2_COLUMNS)
    last = chr(ord("A") + ncol - 1)
    bold, center = Font(bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    def line(row, text, font=None, align=None):
        ws.merge_cells(f"A{row}:{last}{row}")
        c = ws.cell(row, 1, text)
        c.font, c.alignment = font or Font(), align or Alignment(horizontal="left")

    line(1, "PHỤ LỤC II", bold, center)
    line(2, "MẪU PHIẾU", bold, center)
    line(3, quality_title(period), bold, center)
    line(4, DECISION_LINE, Font(italic=True), center)
    for i, text in enumerate(_unit_lines(unit)):
        line(5 + i, text)
    h = Q2_HEADER_ROW
    for col, name in enumerate(Q2_COLUMNS, start=1):
        if 4 <= col <= 7:
            ws.cell(h + 1, col, name)
        else:
            ws.merge_cells(start_row=h, start_column=col, end_row=h + 1, end_column=col)
            ws.cell(h, col, name)
    ws.merge_cells(start_row=h, start_column=4, end_row=h, end_column=7)
    ws.cell(h, 4, LOSS_GROUP)
    for r in (h, h + 1):
        for col in range(1, ncol + 1):
            ws.cell(r, col).font, ws.cell(r, col).alignment, ws.cell(r, col).border = bold, center, box
    row = h + 2
    for i, section in enumerate(rollup(rows)):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncol)
        ws.cell(row, 1, f"{ROMAN[i] if i < len(ROMAN) else i + 1}. {section.title}").font = bold
        row += 1
        for qr in section.rows:
            for col, value in enumerate(qr.cells(), start=1):
                c = ws.cell(row, col, value)
                c.alignment, c.border = wrap, box
            row += 1
        for col, value in enumerate(total_cells(section.total_label, section.rows), start=1):
            c = ws.cell(row, col, value)
            c.font, c.alignment, c.border = bold, wrap, box
        row += 1
    for col, value in enumerate(total_cells("TỔNG CỘNG", rows), start=1):
        c = ws.cell(row, col, value)
        c.font, c.alignment, c.border = bold, wrap, box
    row += 2
    ws.cell(row, 1, "Ghi chú: số liệu mất tín hiệu, lí do, thời gian khắc phục và chất lượng đường truyền do "
                    "hệ thống giám sát đo tự động; chất lượng âm thanh, hình ảnh theo đánh giá của cán bộ kỹ thuật "
                    "khi có, nếu không thì đo tự động (xem cột Nguồn số liệu).").font = Font(italic=True)
    ws.cell(row + 1, 1, f"Lập lúc {vn(generated_at)} (giờ Việt Nam).").font = Font(italic=True)
    widths = [34, 20, 10, 10, 12, 34, 26, 16, 22, 16, 14, 40]
    for i, w in enumerate(widths[:ncol]):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    _detail_sheet(wb, rows)
    return _save(wb)


def _detail_sheet(wb, rows: list[QualityRow]) -> None:
    ws = wb.create_sheet("Chi tiết phiên họp")
    ws.append(["Mã điểm cầu", "Điểm cầu", "Phiên họp", "Bắt đầu", "Kết thúc", "Mất hoàn toàn",
               "Mất từ 15 phút trở lên", "Sự cố", "Mất gói TB (%)", "Jitter TB (ms)", "Mất gói lớn nhất (%)",
               "Âm thanh", "Nguồn (âm thanh)", "Đường truyền", "Hình ảnh", "Nguồn (hình ảnh)", "Đạt chất lượng"])
    for qr in rows:
        for p in qr.phien:
            ws.append([qr.room["room_id"], qr.room["name"], p.title, vn(p.start), vn(p.end),
                       "Có" if p.total_loss else "Không", "Có" if p.long_loss else "Không", incidents_text(p),
                       p.quality.get("loss_percent_avg"), p.quality.get("jitter_ms_avg"),
                       p.quality.get("loss_percent_max"), RATING_VI[bool(p.audio)],
                       "cán bộ kỹ thuật" if p.audio_entered else "đo tự động", LINK_VI[p.link],
                       RATING_VI[bool(p.picture)], "cán bộ kỹ thuật" if p.picture_entered else "đo tự động",
                       "Có" if p.good else "Không"])


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def quality_csv(rows: list[QualityRow], period: Period) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Kỳ báo cáo", "Loại dòng", "Cấp", "Huyện/thị", "Mã điểm cầu"]
               + [f"{LOSS_GROUP} - {c}" if 3 <= i <= 6 else c for i, c in enumerate(Q2_COLUMNS)])
    label = f"{period.first:%d/%m/%Y}-{period.last:%d/%m/%Y}"
    for section in rollup(rows):
        for qr in section.rows:
            w.writerow([label, "điểm cầu", qr.room["level"], qr.room["district"], qr.room["room_id"]] + qr.cells())
        w.writerow([label, "cộng", "", "", ""] + total_cells(section.total_label, section.rows))
    w.writerow([label, "tổng cộng", "", "", ""] + total_cells("TỔNG CỘNG", rows))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: spreadsheet programs then read UTF-8


# -- Phụ lục I: the room's log book --------------------------------------------------------------------
def incidents_text(p: Phien) -> str:
    lines = []
    if p.missed:
        lines.append("Không kết nối vào phiên họp (không ghi nhận cuộc gọi nào của điểm cầu)")
    for x in p.losses:
        text = f"{vn(x.start, '%H:%M')} {KIND_VI.get(x.kind, x.kind)}"
        if x.duration_s is not None:
            text += f" {duration_vi(x.duration_s)}"
        text += f" — {CAUSE_VI.get(x.cause, x.cause)}"
        text += f"; khắc phục sau {duration_vi(x.fixed_s)}" if x.fixed_s is not None else "; không khắc phục được trong phiên"
        lines.append(text)
    if p.note.get("incidents"):
        lines.append("Cán bộ kỹ thuật ghi: " + p.note["incidents"])
    return "\n".join(lines)


def logbook_rows(phien: list[Phien]) -> list[list[str]]:
    out = []
    for p in phien:
        when = vn(p.start, "%d/%m/%Y %H:%M") + (f"–{vn(p.end, '%H:%M')}" if p.end else "")
        if p.sessions:
            first = min(s["start_at"] for s in p.sessions)
            ends = [s["end_at"] for s in p.sessions]
            last = None if any(e is None for e in ends) else max(ends)
            if p.meeting:
                when += f" (kết nối {vn(first, '%H:%M')}–{vn(last, '%H:%M') if last else '…'})"
        rec = p.note.get("recording_requested")
        techs = list(p.note.get("technicians") or [])[:2] + ["", ""]
        entered = [label for k, label in (("content", "nội dung"), ("recording_requested", "ghi lại"),
                                      ("technicians", "cán bộ kỹ thuật"), ("incidents", "ghi chú sự cố"))
                   if p.note.get(k) not in (None, "", [])]
        source = "Thời gian, sự cố: đo tự động" + (f"; nhập tay: {', '.join(entered)}" if entered else "")
        out.append([p.title, when, "" if rec is None else ("Có" if rec else "Không"), incidents_text(p),
                    techs[0], techs[1], source])
    return out


def room_unit(room: dict, contacts: dict) -> dict:
    main = contacts.get("main") or {}
    return {"name": room["name"], "address": contacts.get("address", ""), "phone": contacts.get("phone", ""),
            "email": contacts.get("email", ""), "contact": main.get("name", ""), "contact_phone": main.get("phone", "")}


def logbook_xlsx(room: dict, contacts: dict, phien: list[Phien], period: Period, generated_at: float) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục I"
    ncol = len(L1_COLUMNS)
    last = chr(ord("A") + ncol - 1)
    bold, center = Font(bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    def line(row, text, font=None, align=None):
        ws.merge_cells(f"A{row}:{last}{row}")
        c = ws.cell(row, 1, text)
        c.font, c.alignment = font or Font(), align or Alignment(horizontal="left")

    line(1, "PHỤ LỤC I", bold, center)
    line(2, "MẪU SỔ THEO DÕI, THỐNG KÊ HỘI NGHỊ TRUYỀN HÌNH TRỰC TUYẾN", bold, center)
    line(3, f"(TỪ {period.first:%d/%m/%Y} ĐẾN {period.last:%d/%m/%Y})", bold, center)
    line(4, DECISION_LINE, Font(italic=True), center)
    for i, text in enumerate(_unit_lines(room_unit(room, contacts))):
        line(5 + i, text)
    h = 11
    for col, name in enumerate(L1_COLUMNS, start=1):
        c = ws.cell(h, col, name)
        c.font, c.alignment, c.border = bold, center, box
    for r, values in enumerate(logbook_rows(phien), start=h + 1):
        for col, value in enumerate(values, start=1):
            c = ws.cell(r, col, value)
            c.alignment, c.border = Alignment(vertical="top", wrap_text=True), box
    _contacts_sheet(wb, room, contacts)
    ws.cell(h + len(phien) + 2, 1, f"Lập lúc {vn(generated_at)} (giờ Việt Nam).").font = Font(italic=True)
    for i, w in enumerate([40, 30, 14, 60, 22, 22, 36]):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    return _save(wb)


CONTACT_ROLES = (("leader", "1. Thông tin cán bộ lãnh đạo đơn vị"),
                 ("main", "2. Thông tin cán bộ kỹ thuật (phụ trách chính)"),
                 ("backup", "3. Thông tin cán bộ kỹ thuật (hỗ trợ)"))
CONTACT_FIELDS = (("name", "Họ tên"), ("title", "Chức vụ"), ("email", "Địa chỉ thư điện tử"),
                  ("phone", "Số điện thoại liên lạc"))


def _contacts_sheet(wb, room: dict, contacts: dict) -> None:
    ws = wb.create_sheet("Phụ lục III")
    ws.append(["MẪU THÔNG TIN CÁN BỘ ĐẦU MỐI QUẢN LÝ, VẬN HÀNH HỆ THỐNG HỘI NGHỊ TRUYỀN HÌNH TRỰC TUYẾN"])
    ws.append([room["name"]])
    for key, title in CONTACT_ROLES:
        ws.append([title])
        person = contacts.get(key) or {}
        for f, label in CONTACT_FIELDS:
            ws.append([f"- {label}:", person.get(f, "")])


def logbook_csv(room: dict, phien: list[Phien]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Mã điểm cầu"] + L1_COLUMNS[:4] + ["Cán bộ kỹ thuật 1", "Cán bộ kỹ thuật 2", L1_COLUMNS[6]])
    for values in logbook_rows(phien):
        w.writerow([room["room_id"]] + values)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- gathering from storage --------------------------------------------------------------------------
def collect(storage, period: Period, *, district: Optional[str] = None, room_ids: Optional[list[str]] = None):
    rooms = [r for r in storage.list_rooms_admin() if r["enabled"] or room_ids]
    if district:
        rooms = [r for r in rooms if r["district"] == district]
    if room_ids is not None:
        rooms = [r for r in rooms if r["room_id"] in room_ids]
    ids = [r["room_id"] for r in rooms]
    # Meetings overlapping the period, and sessions from a little before it (a call opened at T-90).
    meetings = storage.meetings_between(period.start - 86400, period.end)
    sessions = storage.sessions_between(period.start - 86400, period.end + 86400, ids)
    notes = storage.room_notes()
    contacts = storage.all_room_contacts()
    reports = storage.latest_reports_for(ids)
    return rooms, meetings, sessions, notes, contacts, reports


def quality_report(storage, period: Period, *, unit: dict, generated_at: float, fmt: str = "xlsx",
                   district: Optional[str] = None) -> bytes:
    rooms, meetings, sessions, notes, contacts, reports = collect(storage, period, district=district)
    rows = quality_rows(rooms, meetings, sessions, notes, contacts, reports, period, generated_at)
    return quality_xlsx(rows, period, unit, generated_at) if fmt == "xlsx" else quality_csv(rows, period)


def logbook_report(storage, room_id: str, period: Period, *, generated_at: float, fmt: str = "xlsx") -> bytes:
    rooms, meetings, sessions, notes, contacts, _ = collect(storage, period, room_ids=[room_id])
    if not rooms:
        from .errors import UnknownRoom
        raise UnknownRoom(f"no room {room_id!r}")
    room = rooms[0]
    phien = room_phien(room_id, meetings, sessions, notes, period, generated_at)
    if fmt == "xlsx":
        return logbook_xlsx(room, contacts.get(room_id, {}), phien, period, generated_at)
    return logbook_csv(room, phien)
