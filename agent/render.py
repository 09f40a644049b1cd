"""Printing a report for a person: grouped by area, verdict first-class, remedies at the end.

Colour only on a terminal (and never when NO_COLOR is set); the status word is always printed,
so nothing depends on colour alone.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import threading
import time
from typing import Any, TextIO

from agent.i18n import Text, render, sentence
from agent.model import Report, Status

AREA_ORDER = ["network", "host", "codec", "power", "drift"]
COLOURS = {
    Status.PASS: "\033[32m",
    Status.WARN: "\033[33m",
    Status.FAIL: "\033[31;1m",
    Status.ERROR: "\033[35;1m",
    Status.SKIP: "\033[2m",
}
RESET = "\033[0m"


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _word(status: Status, lang: str, colour: bool, width: int) -> str:
    word = render(Text(f"status.{status.value}"), lang) or status.value
    padded = word.ljust(width)
    return f"{COLOURS[status]}{padded}{RESET}" if colour else padded


def format_report(report: Report, lang: str, *, colour: bool = False, width: int | None = None) -> str:
    width = width or min(110, shutil.get_terminal_size((100, 24)).columns)
    word_width = max(len(render(Text(f"status.{s.value}"), lang) or "") for s in Status)
    lines: list[str] = []
    title = render(Text("report.room"), lang)
    lines.append(f"{title}: {report.room_name or report.room_id} ({report.room_id})")
    by_area: dict[str, list] = {}
    for result in report.results:
        by_area.setdefault(result.area, []).append(result)
    areas = sorted(by_area, key=lambda a: AREA_ORDER.index(a) if a in AREA_ORDER else len(AREA_ORDER))
    indent = " " * (word_width + 3)
    for area in areas:
        lines.append("")
        lines.append(f"== {render(Text(f'area.{area}'), lang)} ==")
        for result in by_area[area]:
            message = sentence(render(result.message, lang)) or ""
            head = f" {_word(result.status, lang, colour, word_width)} "
            body = textwrap.wrap(f"{message}  [{result.id}]", width=max(40, width - len(indent)))
            lines.append(head + " " + (body[0] if body else ""))
            lines.extend(indent + more for more in body[1:])
    lines.append("")
    verdict = render(Text(f"report.verdict.{report.overall.value}"), lang)
    lines.append(f"{render(Text('report.overall'), lang)}: {_word(report.overall, lang, colour, 0)} — {verdict}")
    # "Ready" must not hide what the devices cannot report: a skip whose message is an "<area>.by_hand"
    # text (codec: a model's API limit) is a check the technician does by hand.
    by_hand = [r.id for r in report.results
               if r.status is Status.SKIP and getattr(r.message, "key", "").endswith(".by_hand")]
    if by_hand:
        lines.append(render(Text("report.by_hand", count=len(by_hand), ids=", ".join(by_hand)), lang))
    todo = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN) and r.remedy is not None]
    if todo:
        lines.append("")
        lines.append(f"{render(Text('report.remedies'), lang)}:")
        for n, result in enumerate(sorted(todo, key=lambda r: -r.status.severity), 1):
            clause = render(Text(f"clause.{result.clause}"), lang)
            wrapped = textwrap.wrap(f"{render(result.remedy, lang)} ({result.id}; {clause})", width=max(40, width - 5))
            lines.append(f" {n:>2}. " + (wrapped[0] if wrapped else ""))
            lines.extend("     " + more for more in wrapped[1:])
    seconds = f"{report.duration_ms / 1000:.1f}"
    seconds = seconds.replace(".", ",") if lang == "vi" else seconds
    lines.append("")
    mode = "" if report.mode == "standalone" else f" ({report.mode})"
    lines.append(f"{render(Text('report.duration'), lang)}: {seconds} s{mode}")
    return "\n".join(lines)


class Progress:
    """A live line on a terminal: which probes are still running, refreshed a few times a second."""

    def __init__(self, stream: TextIO, lang: str) -> None:
        self.stream = stream
        self.lang = lang
        self.running: dict[str, float] = {}
        self.enabled = stream.isatty()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, name: str, event: str) -> None:
        with self._lock:
            if event == "start":
                self.running[name] = time.monotonic()
            else:
                self.running.pop(name, None)

    def _line(self) -> str:
        with self._lock:
            parts = [f"{render(Text(f'area.{n}'), self.lang)} {time.monotonic() - t:.0f}s" for n, t in self.running.items()]
        return f"{render(Text('report.running'), self.lang)}: " + ", ".join(parts) if parts else ""

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            line = self._line()
            self.stream.write("\r\033[K" + line)
            self.stream.flush()

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._thread:
            self._stop.set()
            self._thread.join(1)
            self.stream.write("\r\033[K")
            self.stream.flush()


def print_report(report: Report, lang: str, stream: TextIO = sys.stdout) -> None:
    stream.write(format_report(report, lang, colour=use_colour(stream)) + "\n")
