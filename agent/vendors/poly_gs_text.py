"""The Poly Group Series / HDX text API, as text: lines, echoes, greetings and answers matched by prefix.

Pure functions and one small state machine (:class:`AnswerStream`), no sockets, so they can be fuzzed.

What the device does (codecs.md §3, groupseries-samples.txt):

- lines end with ``\\r\\r\\n`` (the echoed command with ``\\r\\n``); the prompt is ``-> ``;
- each command is echoed (``-> status`` or a bare ``status``);
- the greeting block (``Hi, my name is : ...`` … ``SNMP Enabled: ...``) is printed after login, by
  ``whoami``, and may reappear in the middle of a session;
- ``error: ...`` and ``info: ...`` lines are refusals of the command being answered;
- answers can lag or come out of order: each is recognised by its *prefix* (``gatekeeperip ...`` for
  ``gatekeeperip get``), or by its own end marker (``status end``, ``callinfo end``, ``...rcp:...``,
  ``...ccaps:...``), never by its position.

Everything the device sends is untrusted: malformed answers raise :class:`~agent.errors.ProtocolError`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from agent.errors import DeviceError, ProtocolError
from agent.i18n import register
from agent.vendors.base import localized

# What a malformed answer says in a check message (str(error) stays English for logs).
register(
    {
        "codec.gs.too_many_lines": (
            "thiết bị đầu cuối gửi hơn {count} dòng không thuộc lệnh nào: không phải API văn bản của Poly",
            "the codec sent more than {count} lines nobody asked for",
        ),
        "codec.gs.no_rule": ("agent không biết đọc câu trả lời cho lệnh {command}", "no answer rule for {command}"),
        "codec.gs.bad_callinfo": (
            "dòng thông tin cuộc gọi (callinfo) sai định dạng: {line}",
            "malformed callinfo line: {line}",
        ),
        "codec.gs.not_callinfo": (
            "câu trả lời cho callinfo có dòng lạ: {line}",
            "not a callinfo line: {line}",
        ),
        "codec.gs.bad_speed": (
            "tốc độ cuộc gọi trong callinfo không phải là số: {value}",
            "callinfo speed {value} is not a number",
        ),
        "codec.gs.bad_stats_token": (
            "thống kê mạng của cuộc gọi (netstats) có mục lạ {token}",
            "unexpected token {token} in network statistics",
        ),
        "codec.gs.stats_no_call": (
            "thống kê mạng (netstats) không ghi số cuộc gọi",
            "network statistics without a call number",
        ),
        "codec.gs.not_number": ("giá trị {name} là {value}, không phải là số", "{name} is {value}, not a number"),
        "codec.gs.no_answer_for": ("thiết bị đầu cuối không trả lời {prefix}", "no answer for {prefix}"),
        "codec.gs.bad_uptime": (
            "thời gian hoạt động {value} không phải là một khoảng thời gian",
            "uptime {value} is not a duration",
        ),
        "codec.gs.empty_display": (
            "câu trả lời cấu hình màn hình (configdisplay) rỗng",
            "empty configdisplay answer",
        ),
        "codec.gs.bad_display_format": (
            "định dạng cổng ra màn hình (configdisplay) {value} không có dạng rộng x cao",
            "configdisplay format {value} is not WxH",
        ),
    }
)

MAX_PENDING_LINES = 2000
MAX_LINE = 4096

GREETING_LABELS = (
    "Hi, my name is :", "Here is what I know about myself:", "Model:", "Software Version:", "Serial Number:",
    "Build Information:", "Time In Last Call:", "Total Time In Calls:", "Total Calls:", "SNTP Time Service:",
    "Local Time is:", "H323 Enabled:", "HTTP Enabled:", "SNMP Enabled:",
)
_DURATION = re.compile(r"(?i)^\d+ (?:day|hour|minute|second)s?(?:,? \d+ (?:day|hour|minute|second)s?)*$")
_STATUS_LINE = re.compile(r"^[a-z0-9_]+ [A-Za-z0-9/_.-]+$")
# Compiled once: a poll matches a few dozen chunks (bench/codec_poll, docs/codec.md "Poll cost").
_NETSTATS_N = re.compile(r"(?:adv)?netstats \d{1,2}")
_NUMBER = re.compile(r"(\d+)(?:\.\d+)?")
_VIDEO_WXH = re.compile(r"(\d{2,5})x(\d{2,5})[pi]?")
_DISPLAY_WXH = re.compile(r"(\d{3,4})x(\d{3,4})[pi]?")
_UPTIME_PART = re.compile(r"(?i)(\d+) (day|hour|minute|second)s?")
_UPTIME_UNITS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
_NAMED_FORMATS = {"sqcif": "128x96", "qcif": "176x144", "sif": "352x240", "cif": "352x288", "4sif": "704x480",
                  "4cif": "704x576", "720p": "1280x720", "1080p": "1920x1080", "w4cif": "1024x576"}
_CALL_EVENTS = ("cs: call[", "notification:callstatus:", "active: call[", "cleared: call[", "ended: call[")


class CommandRefused(DeviceError):
    """The codec answered ``error: ...`` or ``info: ...`` to a read (unknown command, feature off)."""

    def __init__(self, command: str, line: str) -> None:
        super().__init__(f"the codec refused {command!r}: {line[:120]}")
        localized(self, "codec.err.refused_command_reason", command=repr(command), reason=line[:120])
        self.command = command
        self.line = line


def split_lines(text: str) -> list[str]:
    """Device text → lines without line ends (\\r\\r\\n, \\r\\n, \\n, lone \\r), prompts and blanks dropped."""
    # Every \r and \n ends a line and blank lines are dropped, so splitting at each one gives the lines
    # of the pattern \r*\n|\r+(?!\n) (a regex tries it at every character: 10x slower on `status`).
    raws = text.replace("\r", "\n").split("\n")
    if "\x00" not in text and "->" not in text:
        return [line[:MAX_LINE] for line in map(str.strip, raws) if line]  # the usual text: strip() is all
    out = []
    for raw in raws:
        line = raw.strip("\r\x00")
        while line.startswith("->"):
            line = line[2:].lstrip(" ")
        line = line.strip()
        if line:
            out.append(line[:MAX_LINE])
    return out


def is_greeting_line(line: str) -> bool:
    return line.startswith(GREETING_LABELS)


def parse_greeting(lines: list[str]) -> dict[str, str]:
    """Greeting/whoami lines → {label: value} ("Model" → "Group 500")."""
    out: dict[str, str] = {}
    for line in lines:
        for label in GREETING_LABELS:
            if line.startswith(label):
                key = label.rstrip(":").rstrip()
                if key == "Hi, my name is":
                    key = "Name"
                out[key] = line[len(label):].strip()
    return out


@functools.lru_cache(maxsize=256)  # a poll asks for the same dozen prefixes every time
def answer_prefix(command: str) -> str | None:
    """The prefix of a ``get`` answer: ``volume get`` → ``volume``; ``systemsetting get model`` →
    ``systemsetting model``; ``configdisplay monitor1 get`` → ``configdisplay monitor1``."""
    words = command.split()
    if "get" not in words:
        return None
    words.remove("get")
    return " ".join(words)


@functools.lru_cache(maxsize=256)
def _get_prefix(command: str) -> str | None:
    """The prefix :meth:`AnswerStream.take` matches for a plain ``get`` read; None for the commands with
    their own rule (``uptime get`` answers without its prefix)."""
    if command in ("status", "callinfo all", "netstats", "advnetstats", "uptime get", "whoami", "getcallstate"):
        return None
    return None if _NETSTATS_N.fullmatch(command) else answer_prefix(command)


@functools.lru_cache(maxsize=256)
def _answered_from_pending(command: str) -> bool:
    """Whether :meth:`AnswerStream.take` finds ``command``'s answer (or a refusal) only among the pending
    lines: every rule but ``whoami``'s, which reads the greeting."""
    return command != "whoami" and (
        command in ("status", "callinfo all", "netstats", "advnetstats", "getcallstate")
        or _NETSTATS_N.fullmatch(command) is not None or answer_prefix(command) is not None)


# -- the stream of answers ----------------------------------------------------------------------
@dataclass
class AnswerStream:
    """Collects device lines and hands each command its own answer, wherever it is in the stream."""

    pending: list[str] = field(default_factory=list)
    greeting: dict[str, str] = field(default_factory=dict)
    greetings_seen: int = 0
    echoes: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # lines no command claimed (async notifications, ...)
    call_events: list[str] = field(default_factory=list)  # "cs: call[..] state[..]" / "notification:callstatus:..."
    call_events_seen: int = 0  # how many call events ever arrived (call_events keeps the last 20)
    partial: str = ""  # an unfinished line: answers arrive in arbitrary pieces
    echo_chunks: set[str] = field(default_factory=set, repr=False)  # "volume get\r\n": an echo read alone

    def feed(self, text: str) -> None:
        # Only the new text and the unfinished line before it are looked at; a chunk with no complete
        # line (half an answer, or the bare prompt) costs a find and nothing more.
        if not self.partial and text in self.echo_chunks and len(self.pending) <= MAX_PENDING_LINES:
            return  # the echo of a command on its own (the device echoes before it answers): nothing to keep
        if self.partial:
            text = self.partial + text
        cut = text.rfind("\n")
        text, partial = text[:cut + 1], text[cut + 1:]
        if (not partial or partial == "-> " or partial.strip().lstrip("-> ").strip() == ""
                or partial.rstrip().endswith("->")):
            partial = ""  # the prompt, which never ends with a line break
        elif len(partial) > MAX_LINE:
            text, partial = text + partial + "\n", ""
        self.partial = partial
        echoes, pending = self.echoes, self.pending
        for line in split_lines(text) if text else ():
            if line in echoes:
                continue  # the device echoing our command
            if line.startswith(GREETING_LABELS):
                self.greeting.update(parse_greeting([line]))
                if line.startswith("SNMP Enabled:"):
                    self.greetings_seen += 1
                continue
            if line.startswith(_CALL_EVENTS):
                self.call_events.append(line)
                self.call_events_seen += 1
                del self.call_events[:-20]
                # "cs: call[N] inactive" is also the answer to getcallstate: keep it claimable
                if not line.startswith("cs: "):
                    continue
            pending.append(line)
        if len(self.pending) > MAX_PENDING_LINES:
            raise localized(ProtocolError(f"the codec sent more than {MAX_PENDING_LINES} lines nobody asked for"),
                            "codec.gs.too_many_lines", count=MAX_PENDING_LINES)

    def expect(self, command: str) -> None:
        """Note a command about to be sent (its echo will be dropped)."""
        if command in self.echoes:
            return  # a poll sends the same commands every time
        self.echoes.add(command)
        if command == command.strip() and command.isprintable() and not command.startswith("->") \
                and len(command) <= MAX_LINE:  # feed would split "<command>\r\n" into this one line
            self.echo_chunks.add(command + "\r\n")

    # Each taker returns the answer lines (removing them from pending) or None if not complete yet.
    def take(self, command: str) -> list[str] | None:
        pending = self.pending
        if not pending and _answered_from_pending(command):
            return None  # nothing to look at: the echo alone, or the answer not here yet
        refusal = self._refusal()
        prefix = _get_prefix(command)
        if prefix is not None:  # most reads: the first line that is the prefix or starts with it and a space
            spaced = prefix + " "
            got = None
            for i, line in enumerate(pending):
                if line == prefix or line.startswith(spaced):
                    del pending[i]
                    got = [line]
                    break
        elif command == "status":
            got = self._block(_STATUS_LINE.match, "status end")
        elif command == "callinfo all":
            got = self._callinfo()
        elif command in ("netstats", "advnetstats") or _NETSTATS_N.fullmatch(command):
            got = self._stats("ccaps:" if command.startswith("adv") else "rcp:",
                              "tar:" if command.startswith("adv") else "txrate:")
        elif command == "uptime get":
            got = self._first(lambda ln: bool(_DURATION.match(ln)))
        elif command == "whoami":
            got = [f"{k}: {v}" for k, v in self.greeting.items()] if self.greetings_seen else None
        elif command == "getcallstate":
            got = self._first(lambda ln: ln.startswith("cs: call["), all_matching=True)
        else:
            prefix = answer_prefix(command)
            if prefix is None:
                raise localized(ProtocolError(f"no answer rule for {command!r}"), "codec.gs.no_rule", command=repr(command))
            spaced = prefix + " "
            got = self._first(lambda ln: ln == prefix or ln.startswith(spaced))
        if got is not None:
            return got
        if refusal is not None:
            raise CommandRefused(command, refusal)
        return None

    def _refusal(self) -> str | None:
        for i, line in enumerate(self.pending):
            if line.startswith(("error:", "info:")):
                del self.pending[i]
                return line
        return None

    def _first(self, match, all_matching: bool = False) -> list[str] | None:
        if not all_matching:  # the usual case: stop at the first hit
            for i, ln in enumerate(self.pending):
                if match(ln):
                    del self.pending[i]
                    return [ln]
            return None
        hits = [i for i, ln in enumerate(self.pending) if match(ln)]
        if not hits:
            return None
        if not all_matching:
            hits = hits[:1]
        lines = [self.pending[i] for i in hits]
        for i in reversed(hits):
            del self.pending[i]
        return lines

    def _block(self, match, end: str) -> list[str] | None:
        if end not in self.pending:
            return None
        stop = self.pending.index(end)
        keep, got = [], []
        for line in self.pending[:stop]:
            (got if match(line) else keep).append(line)
        self.pending[: stop + 1] = keep
        return got

    def _callinfo(self) -> list[str] | None:
        if "system is not in a call" in self.pending:
            self.pending.remove("system is not in a call")
            return []
        if "callinfo end" not in self.pending:
            return None
        stop = self.pending.index("callinfo end")
        start = self.pending.index("callinfo begin") if "callinfo begin" in self.pending[:stop] else -1
        got = [ln for ln in self.pending[start + 1:stop] if ln.startswith("callinfo:")]
        keep = [ln for ln in self.pending[start + 1:stop] if not ln.startswith("callinfo:")]
        self.pending[max(start, 0): stop + 1] = keep
        return got

    def _stats(self, last: str, first: str) -> list[str] | None:
        for i, line in enumerate(self.pending):
            if line.startswith("call:") and f" {first}" in line:
                for j in range(i, len(self.pending)):
                    if last in self.pending[j]:
                        got = self.pending[i:j + 1]
                        del self.pending[i:j + 1]
                        return got
                return None
        if any(ln.startswith("connection ") and ln.endswith("is not active") for ln in self.pending):
            line = next(ln for ln in self.pending if ln.startswith("connection ") and ln.endswith("is not active"))
            self.pending.remove(line)
            raise CommandRefused("netstats", line)
        return None


# -- parsers of single answers ------------------------------------------------------------------
@dataclass
class CallInfo:
    id: str
    name: str
    number: str
    speed_kbps: int | None
    state: str
    mute: str
    direction: str
    call_type: str


def parse_callinfo(lines: list[str]) -> list[CallInfo]:
    """``callinfo:<id>:<name>:<number>:<speed>:<state>:<mute>:<direction>:<type>`` lines.

    Split from both ends: the id first, then the last five fields; the rest is ``name:number`` (the name
    may be empty, as on a Group 700: ``callinfo:1::1330378709@vc.poscodx.com:384:...``).
    """
    calls = []
    for line in lines:
        if not line.startswith("callinfo:"):
            raise localized(ProtocolError(f"not a callinfo line: {line[:80]!r}"), "codec.gs.not_callinfo",
                            line=repr(line[:80]))
        body = line[len("callinfo:"):]
        ident, sep, rest = body.partition(":")
        parts = rest.rsplit(":", 5)
        if not sep or not ident.isdigit() or len(parts) != 6:
            raise localized(ProtocolError(f"malformed callinfo line: {line[:80]!r}"), "codec.gs.bad_callinfo",
                            line=repr(line[:80]))
        head, speed, state, mute, direction, kind = parts
        # The far-site name has no ':' (ICD's callinfo regex); the number may (sip:, IPv6).
        name, number = head.split(":", 1) if ":" in head else ("", head)
        if speed and not speed.isdigit():
            raise localized(ProtocolError(f"callinfo speed {speed[:20]!r} is not a number"), "codec.gs.bad_speed",
                            value=repr(speed[:20]))
        calls.append(CallInfo(ident, name, number, int(speed) if speed else None, state.lower(), mute.lower(),
                              direction.lower(), kind.lower()))
    return calls


def parse_stats(lines: list[str]) -> dict[str, str]:
    """``netstats`` / ``advnetstats`` text → {code: value}; units ("K", "ms", "%") are their own tokens."""
    out: dict[str, str] = {}
    key: str | None = None
    for token in " ".join(lines).split():
        if ":" in token and not token.startswith(":"):
            name, _, value = token.partition(":")
            key = name
            out[name] = value
        elif key is not None and token in ("K", "M", "ms", "%", "kbps"):
            continue
        elif key is not None:
            out[key] = (out[key] + " " + token).strip()
        else:
            raise localized(ProtocolError(f"unexpected token {token[:30]!r} in network statistics"),
                            "codec.gs.bad_stats_token", token=repr(token[:30]))
    if "call" not in out:
        raise localized(ProtocolError("network statistics without a call number"), "codec.gs.stats_no_call")
    return out


def stats_int(stats: dict[str, str], key: str) -> int | None:
    value = stats.get(key)
    if value in (None, "", "---", "n/a"):
        return None
    match = _NUMBER.fullmatch(value.strip())
    if not match:
        raise localized(ProtocolError(f"{key} is {value[:20]!r}, not a number"), "codec.gs.not_number",
                        name=key, value=repr(value[:20]))
    return int(match.group(1))


def stats_float(stats: dict[str, str], key: str) -> float | None:
    value = stats.get(key)
    if value in (None, "", "---", "n/a"):
        return None
    try:
        return float(value.strip().rstrip("%"))
    except ValueError:
        raise localized(ProtocolError(f"{key} is {value[:20]!r}, not a number"), "codec.gs.not_number",
                        name=key, value=repr(value[:20])) from None


def video_format(value: str | None) -> str | None:
    """``tvf`` values: ``1280x720``/``1920x1080`` kept, named formats mapped (SIF = 352x240, CIF = 352x288 ...)."""
    if not value:
        return None
    value = value.strip().lower()
    match = _VIDEO_WXH.fullmatch(value)
    if match:
        return f"{match.group(1)}x{match.group(2)}"
    return _NAMED_FORMATS.get(value)


def get_value(lines: list[str], prefix: str) -> str:
    """The value of a ``get`` answer (``volume 39`` → ``39``; quotes around strings removed)."""
    if not lines:
        raise localized(ProtocolError(f"no answer for {prefix!r}"), "codec.gs.no_answer_for", prefix=repr(prefix))
    value = lines[0][len(prefix):].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def parse_status(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        name, _, value = line.partition(" ")
        out[name] = value
    return out


def parse_uptime(text: str) -> int:
    """``1 Hour, 10 Minutes`` / ``2 Days, 3 Hours, 4 Minutes`` → seconds."""
    total, found = 0, False
    for number, unit in _UPTIME_PART.findall(text):
        total += int(number) * _UPTIME_UNITS[unit.lower()]
        found = True
    if not found:
        raise localized(ProtocolError(f"uptime {text[:40]!r} is not a duration"), "codec.gs.bad_uptime",
                        value=repr(text[:40]))
    return total


def parse_display(value: str) -> tuple[bool | None, str | None, str | None]:
    """``configdisplay monitorN`` value → (enabled, connector, "WxH@Hz")."""
    tokens = value.split()
    if not tokens:
        raise localized(ProtocolError("empty configdisplay answer"), "codec.gs.empty_display")
    if tokens[0].lower() in ("off", "disable", "disabled", "none"):
        return False, None, None
    connector = tokens[0]
    resolution = None
    if len(tokens) >= 2:
        match = _DISPLAY_WXH.fullmatch(tokens[1].lower())
        if not match:
            raise localized(ProtocolError(f"configdisplay format {tokens[1][:20]!r} is not WxH"),
                            "codec.gs.bad_display_format", value=repr(tokens[1][:20]))
        resolution = f"{match.group(1)}x{match.group(2)}"
        if len(tokens) >= 3 and tokens[2].isdigit():
            resolution += f"@{tokens[2]}"
    return True, connector, resolution
