"""Message catalogue: one table, Vietnamese and English side by side.

Checks never build sentences themselves; they return ``Text(key, **params)``, and the
report is rendered in the reader's language at the very end.  Each area module adds
its own entries with :func:`register`, so the catalogue grows with the probes while
staying one lookup table.  Vietnamese wording follows the regulation's glossary
(shared/regulation/GLOSSARY.md): the terms technicians were trained on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_CATALOGUE: dict[str, dict[str, str]] = {}


def register(entries: dict[str, tuple[str, str]]) -> None:
    """Add ``key -> (vietnamese, english)`` entries. A key may be registered once."""
    for key, (vi, en) in entries.items():
        if key in _CATALOGUE and _CATALOGUE[key] != {"vi": vi, "en": en}:
            raise ValueError(f"message {key!r} registered twice with different text")
        _CATALOGUE[key] = {"vi": vi, "en": en}


def known(key: str) -> bool:
    return key in _CATALOGUE


@dataclass(frozen=True)
class Text:
    """A message to be rendered later in the reader's language."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, **params: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", params)

    def render(self, lang: str) -> str:
        return render(self, lang)


def _render_param(value: Any, lang: str) -> Any:
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, float):
        # Vietnamese writes decimals with a comma; keep one or two digits, no noise.
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"
        return text.replace(".", ",") if lang == "vi" else text
    return value


def render(text: Text | str | None, lang: str) -> str | None:
    if text is None:
        return None
    if isinstance(text, str):
        return text
    entry = _CATALOGUE.get(text.key)
    if entry is None:
        # A missing entry is a programming error, but the technician must still see something useful.
        return f"{text.key} {text.params}" if text.params else text.key
    template = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    params = {k: _render_param(v, lang) for k, v in text.params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def sentence(text: str | None) -> str | None:
    """Capitalise the first letter of a rendered message (which may start with a parameter)."""
    if not text:
        return text
    return text[0].upper() + text[1:]


def pick_language(cli: str | None = None, configured: str | None = None, environ: dict | None = None) -> str:
    """--lang wins, then the config's ``agent.language``, then $LANG, then Vietnamese."""
    for choice in (cli, configured):
        if choice in LANGUAGES:
            return choice  # type: ignore[return-value]
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


# Words used by every area.
register(
    {
        "status.pass": ("ĐẠT", "PASS"),
        "status.warn": ("CẢNH BÁO", "WARN"),
        "status.fail": ("KHÔNG ĐẠT", "FAIL"),
        "status.error": ("LỖI", "ERROR"),
        "status.skip": ("BỎ QUA", "SKIP"),
        "area.network": ("Đường truyền", "Network link"),
        "area.host": ("Máy tính của agent", "Agent host"),
        "area.codec": ("Thiết bị đầu cuối (VCS)", "VCS terminal (codec)"),
        "area.power": ("Nguồn điện và bộ lưu điện (UPS)", "Power and UPS"),
        "area.drift": ("Thay đổi so với phiên tổng duyệt", "Changes since the rehearsal"),
        "clause.5.2.1": ("QĐ 32/2019, Điều 5 khoản 2.1", "Decision 32/2019, Art. 5(2.1)"),
        "clause.5.2.2": ("QĐ 32/2019, Điều 5 khoản 2.2", "Decision 32/2019, Art. 5(2.2)"),
        "clause.5.3": ("QĐ 32/2019, Điều 5 khoản 3", "Decision 32/2019, Art. 5(3)"),
        "clause.6": ("QĐ 32/2019, Điều 6", "Decision 32/2019, Art. 6"),
        "clause.7.4": ("QĐ 32/2019, Điều 7 khoản 4", "Decision 32/2019, Art. 7(4)"),
        "clause.7.5": ("QĐ 32/2019, Điều 7 khoản 5", "Decision 32/2019, Art. 7(5)"),
        "clause.13.6": ("QĐ 32/2019, Điều 13 khoản 6", "Decision 32/2019, Art. 13(6)"),
        "clause.agent": ("Yêu cầu vận hành của agent", "Agent operating requirement"),
        "probe.timeout": (
            "Không có phản hồi trong {seconds} giây",
            "No answer within {seconds} s",
        ),
        "probe.timeout.remedy": (
            "Kiểm tra thiết bị đã bật nguồn và cắm cáp mạng; chạy lại kiểm tra. Nếu vẫn lỗi, báo cán bộ kỹ thuật của Sở TTTT hoặc VNPT.",
            "Check that the device is powered on and cabled, then run the check again. If it persists, call the Department's or VNPT's engineer.",
        ),
        "probe.internal_error": (
            "Lỗi nội bộ của agent khi đọc {what}: {error}",
            "Internal agent error while reading {what}: {error}",
        ),
        "probe.internal_error.remedy": (
            "Chạy lại kiểm tra; nếu vẫn lỗi, gửi kết quả `hntht-agent check --json` cho bộ phận hỗ trợ.",
            "Run the check again; if it persists, send the output of `hntht-agent check --json` to support.",
        ),
        "probe.permission": ("Hệ điều hành từ chối quyền: {error}", "The operating system refused: {error}"),
        "probe.failed": ("Không đọc được trạng thái: {error}", "Could not read the status: {error}"),
        "probe.failed.remedy": (
            "Kiểm tra thiết bị và cấu hình; chạy lại kiểm tra.",
            "Check the device and the configuration, then run the check again.",
        ),
        "report.overall": ("Kết luận chung", "Overall verdict"),
        "report.room": ("Phòng họp", "Room"),
        "report.remedies": ("Việc cần làm", "What to do"),
        "report.observed": ("thực tế", "observed"),
        "report.expected": ("yêu cầu", "expected"),
        "report.running": ("Đang kiểm tra", "Checking"),
        "report.duration": ("Thời gian kiểm tra", "Check duration"),
        "report.by_hand": (
            "Còn {count} hạng mục thiết bị không tự báo được: tự kiểm tra theo hướng dẫn ở các dòng BỎ QUA ({ids}).",
            "{count} item(s) the devices cannot report: check them by hand as the SKIP lines say ({ids}).",
        ),
        "report.verdict.pass": (
            "Phòng họp sẵn sàng: mọi hạng mục đều đạt.",
            "The room is ready: every item passed.",
        ),
        "report.verdict.warn": (
            "Phòng họp dùng được nhưng có hạng mục cần chú ý.",
            "The room is usable, but some items need attention.",
        ),
        "report.verdict.fail": (
            "Phòng họp CHƯA sẵn sàng: xử lý các hạng mục không đạt trước phiên tổng duyệt.",
            "The room is NOT ready: fix the failing items before the rehearsal.",
        ),
        "report.verdict.skip": (
            "Không có hạng mục nào được kiểm tra: xem cấu hình.",
            "Nothing was checked: see the configuration.",
        ),
        "report.verdict.error": (
            "Không kiểm tra được một số hạng mục: xem các dòng LỖI.",
            "Some items could not be checked: see the ERROR lines.",
        ),
    }
)
