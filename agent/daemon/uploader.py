"""Pushing to the collector (docs/collector-api.md): heartbeat first, then the backlog in batches.

One daemon thread owns the HTTPS session, so the asyncio loop (and the watchdog ping) never waits
on the network.  Each cycle sends the latest heartbeat, then outbox batches (events and reports
before samples, oldest first) until the outbox is empty or the collector stops answering 2xx.

Answers are classified as the protocol says (§4):

====================  ==========================================================================
2xx                   ack: accepted ids are deleted; ids rejected one by one are quarantined
408, 429, 5xx, net    keep; exponential backoff with full jitter (cap ``backoff_max``), never
                      sooner than ``Retry-After``
401, 403              keep everything; auth alarm in status, heartbeat and logs; retry slowly
400, 413, 422         split the batch and retry the halves; a single record is quarantined (kept,
                      counted, reported), so one bad record never blocks the rest
====================  ==========================================================================
"""

from __future__ import annotations

import datetime as _dt
import gzip
import http.client
import json
import random
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import structlog

from agent import __version__
from agent.daemon.outbox import Outbox, Pending, rfc3339
from agent.secrets import scrub

log = structlog.get_logger("agent.uploader")

RETRY = "retry"
AUTH = "auth"
REJECT = "reject"
OK = "ok"


@dataclass
class Answer:
    """The collector's last answer, as shown by `status` (never a body that could echo a secret)."""

    at: str
    endpoint: str
    status: int | None  # HTTP status, None for a network/TLS error
    outcome: str  # ok | retry | auth | reject
    code: str | None = None  # the error body's code, or the exception class
    message: str | None = None


@dataclass
class PushState:
    last_push_at: str | None = None  # last 2xx
    last_answer: Answer | None = None
    auth_alarm: str | None = None  # why the collector refuses our token
    tls_alarm: str | None = None
    failures: int = 0  # consecutive failed attempts (drives the backoff)
    next_attempt_in: float = 0.0
    clock_offset_ms: float | None = None
    heartbeats_sent: int = 0
    records_acked: int = 0
    records_quarantined: int = 0
    requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["next_attempt_in"] = round(self.next_attempt_in, 1)
        return data


class CollectorAnswer(Exception):
    def __init__(self, outcome: str, status: int | None, code: str | None, message: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.status = status
        self.code = code
        self.retry_after = retry_after


def classify(status: int) -> str:
    if 200 <= status < 300:
        return OK
    if status in (401, 403):
        return AUTH
    if status in (400, 413, 422):
        return REJECT
    return RETRY  # 408, 429, 5xx, and unexpected codes (404 from a wrong URL path): keep and retry


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter (AWS architecture blog): uniform(0, min(cap, base * 2**n))."""
    return rng.uniform(0.0, min(cap, base * (2 ** min(failures, 30))))


class Uploader(threading.Thread):
    def __init__(self, config: Any, outbox: Outbox, heartbeat: Callable[[], dict[str, Any]] | None = None,
                 *, rng: random.Random | None = None,
                 on_heartbeat_answer: Callable[[dict[str, Any]], None] | None = None) -> None:
        super().__init__(name="hntht-uploader", daemon=True)
        self.outbox = outbox
        self.heartbeat_factory = heartbeat
        # Called (in this thread) with every 2xx heartbeat answer: instructions such as `schedule`.
        self.on_heartbeat_answer = on_heartbeat_answer
        self.state = PushState(last_push_at=outbox.get_meta("last_push_at"))
        self.rng = rng or random.Random()
        self._wake = threading.Event()
        self._stop_at: float | None = None
        self._heartbeat_due = False
        self._not_before = 0.0  # monotonic time before which nothing is sent (backoff)
        self._session = None
        self._settings_lock = threading.Lock()
        self.alive_at = time.monotonic()
        self.apply(config)

    # -- control from the loop thread ------------------------------------------------------
    def apply(self, config: Any) -> None:
        """(Re)load settings; the next request uses them (SIGHUP)."""
        with self._settings_lock:
            self.config = config
            self.settings = config.collector
            self.room_id = config.agent.room_id
            if self._session is not None:
                self._session.close()
                self._session = None

    def heartbeat_due(self) -> None:
        self._heartbeat_due = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, flush_timeout: float) -> None:
        """Push what can be pushed within ``flush_timeout`` s, then end the thread."""
        self._stop_at = time.monotonic() + flush_timeout
        self._wake.set()
        self.join(flush_timeout + 1.0)

    # -- the thread ------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            self.alive_at = time.monotonic()
            stopping = self._stop_at is not None
            wait = self._not_before - time.monotonic()
            if stopping and (time.monotonic() >= self._stop_at or wait > 0):
                return  # in backoff or out of time: what is left stays in the outbox
            if wait > 0:
                self.state.next_attempt_in = wait
                self._wake.wait(min(wait, 5.0))
                self._wake.clear()
                continue
            self.state.next_attempt_in = 0.0
            if not self.settings.url:
                self._heartbeat_due = False
                if stopping:
                    return
                self._wake.wait(5.0)
                self._wake.clear()
                continue
            try:
                self.cycle()
            except Exception as exc:  # noqa: BLE001 - the thread must survive any bug in one cycle
                log.error("uploader_cycle_crashed", error=scrub(f"{type(exc).__name__}: {exc}"), exc_info=True)
                self._fail(RETRY, None)
            if stopping:
                return
            if self._not_before <= time.monotonic() and not self._heartbeat_due:
                self._wake.wait(5.0)
                self._wake.clear()

    def cycle(self) -> None:
        """Heartbeat first (if due), then batches until empty or a failure."""
        if self._heartbeat_due and self.heartbeat_factory is not None:
            self._heartbeat_due = False
            body = self.heartbeat_factory()
            if not self._send_heartbeat(body):
                self._heartbeat_due = True  # the next attempt starts with a fresh heartbeat again
                return
        while True:
            if self._stop_at is not None and time.monotonic() >= self._stop_at:
                return
            if self._heartbeat_due:
                return  # the loop comes back at once: heartbeat first again
            batch = self.outbox.next_batch(self.settings.batch_max_records, self.settings.batch_max_bytes)
            if not batch:
                return
            if not self._send_batch(batch):
                return

    # -- requests --------------------------------------------------------------------------
    def _transport(self) -> "Transport":
        if self._session is None:
            self._session = Transport(self.settings)
        return self._session

    def _post(self, endpoint: str, payload: bytes) -> tuple[int, dict[str, Any], Any]:
        settings = self.settings
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"hntht-agent/{__version__}"}
        if settings.gzip:
            payload = gzip.compress(payload, compresslevel=5, mtime=0)
            headers["Content-Encoding"] = "gzip"
        timeout = (float(settings.connect_timeout), float(settings.timeout))
        if self._stop_at is not None:
            left = max(0.5, self._stop_at - time.monotonic())
            timeout = (min(timeout[0], left), min(timeout[1], left))
        self.state.requests += 1
        token = settings.token_file.reveal() if settings.token_file is not None else ""
        try:
            status, body, response_headers = self._transport().post(
                endpoint, payload, {**headers, "Authorization": f"Bearer {token}"}, timeout)
        except ssl.SSLError as exc:
            self.state.tls_alarm = _short(exc)
            raise CollectorAnswer(RETRY, None, "tls_error", _short(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise CollectorAnswer(RETRY, None, type(exc).__name__, _short(exc) or type(exc).__name__) from None
        self.state.tls_alarm = None
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        return status, data, response_headers

    def _answer(self, endpoint: str, status: int | None, outcome: str, code: str | None = None,
                message: str | None = None) -> None:
        self.state.last_answer = Answer(rfc3339(), endpoint, status, outcome, code,
                                        scrub(message)[:300] if message else None)

    def _error(self, endpoint: str, status: int, data: dict[str, Any], headers: Any) -> CollectorAnswer:
        err = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = str(err.get("code") or f"http_{status}")
        message = str(err.get("message") or f"HTTP {status}")
        details = err.get("details")
        if isinstance(details, list) and details:
            message += "; " + "; ".join(f"{d.get('path', '')}: {d.get('message', '')}" for d in details[:3]
                                        if isinstance(d, dict))
        return CollectorAnswer(classify(status), status, code, message,
                               parse_retry_after(headers.get("Retry-After") if headers else None))

    def _succeeded(self) -> None:
        now = rfc3339()
        self.state.last_push_at = now
        self.state.failures = 0
        self._not_before = 0.0
        if self.state.auth_alarm:
            log.warning("collector_auth_ok", hint="the collector accepts the room token again")
        self.state.auth_alarm = None
        self.outbox.set_meta("last_push_at", now)

    def _fail(self, outcome: str, answer: CollectorAnswer | None) -> None:
        settings = self.settings
        self.state.failures += 1
        cap = float(settings.backoff_max)
        if outcome == AUTH:
            # Nothing changes until someone fixes the token: retry slowly, still jittered.
            delay = self.rng.uniform(cap / 2, cap)
        else:
            delay = backoff_delay(self.state.failures - 1, float(settings.backoff_base), cap, self.rng)
        if answer is not None and answer.retry_after is not None:
            # Never sooner than asked; a little jitter so rooms told the same value do not return together.
            delay = max(delay, answer.retry_after + self.rng.uniform(0, min(answer.retry_after * 0.2, 10.0)))
        self._not_before = time.monotonic() + delay
        self.state.next_attempt_in = delay

    def _send_heartbeat(self, body: dict[str, Any]) -> bool:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        sent = time.time()
        try:
            status, data, headers = self._post("/api/v1/heartbeat", payload)
        except CollectorAnswer as answer:
            return self._failed("heartbeat", answer)
        received = time.time()
        if classify(status) != OK:
            answer = self._error("heartbeat", status, data, headers)
            if answer.outcome == REJECT:
                # A heartbeat is never retried (the next one replaces it) and never blocks the records.
                self._answer("heartbeat", status, REJECT, answer.code, str(answer))
                log.error("heartbeat_rejected", status=status, code=answer.code, reason=scrub(str(answer))[:300])
                return True
            return self._failed("heartbeat", answer)
        self.state.heartbeats_sent += 1
        self._answer("heartbeat", status, OK)
        self._succeeded()
        if self.on_heartbeat_answer is not None:
            try:
                self.on_heartbeat_answer(data)
            except Exception as exc:  # noqa: BLE001 - a bad instruction must not stop the pushes
                log.error("heartbeat_answer_failed", error=scrub(f"{type(exc).__name__}: {exc}")[:300])
        server_time = data.get("server_time")
        if isinstance(server_time, str):
            try:
                server = _dt.datetime.fromisoformat(server_time.replace("Z", "+00:00")).timestamp()
                self.state.clock_offset_ms = round(((sent + received) / 2 - server) * 1000.0, 1)
            except ValueError:
                pass
        return True

    def _failed(self, endpoint: str, answer: CollectorAnswer) -> bool:
        self._answer(endpoint, answer.status, answer.outcome, answer.code, str(answer))
        if answer.outcome == AUTH:
            alarm = f"HTTP {answer.status} {answer.code}: {scrub(str(answer))[:200]}"
            if self.state.auth_alarm != alarm:
                log.error("collector_auth_refused", status=answer.status, code=answer.code,
                          hint="the collector refuses the room token: check [collector] token_file or the "
                               "'collector-token' credential, and that the token belongs to this room_id; "
                               "records are kept")
            self.state.auth_alarm = alarm
        else:
            level = log.warning if self.state.failures < 3 else log.info
            level("collector_unavailable", endpoint=endpoint, status=answer.status, code=answer.code,
                  reason=scrub(str(answer))[:200], failures=self.state.failures + 1)
        self._fail(answer.outcome, answer)
        return False

    def _send_batch(self, batch: list[Pending]) -> bool:
        """Send one batch; on 400/413/422 bisect until the bad record is alone. False = stop for now."""
        pending = [batch]
        while pending:
            part = pending.pop(0)
            payload = ('{"schema":"hntht.records/1","room_id":' + json.dumps(self.room_id) + ',"records":['
                       + ",".join(p.data for p in part) + "]}").encode("utf-8")
            try:
                status, data, headers = self._post("/api/v1/records", payload)
            except CollectorAnswer as answer:
                return self._failed("records", answer)
            if classify(status) == OK:
                self._answer("records", status, OK)
                self._succeeded()
                try:
                    self._settle(part, data)
                except _Stop:
                    return False
                continue
            answer = self._error("records", status, data, headers)
            if answer.outcome != REJECT:
                return self._failed("records", answer)
            self._answer("records", status, REJECT, answer.code, str(answer))
            if len(part) > 1:
                half = len(part) // 2
                pending[:0] = [part[:half], part[half:]]
                log.warning("batch_refused_splitting", status=status, code=answer.code, records=len(part))
                continue
            reason = f"HTTP {status} {answer.code}: {scrub(str(answer))[:500]}"
            self.state.records_quarantined += self.outbox.quarantine({part[0].id: reason})
        return True

    def _settle(self, part: list[Pending], data: dict[str, Any]) -> None:
        sent = {p.id for p in part}
        accepted = [i for i in data.get("accepted", []) if isinstance(i, str) and i in sent]
        rejected = {}
        for item in data.get("rejected", []) or []:
            if isinstance(item, dict) and item.get("id") in sent:
                rejected[item["id"]] = f"{item.get('code', 'rejected')}: {str(item.get('reason', ''))[:500]}"
        self.state.records_acked += self.outbox.ack(accepted)
        self.state.records_quarantined += self.outbox.quarantine(rejected)
        missing = sent - set(accepted) - set(rejected)
        if missing:
            # The collector must answer for every id; if it did not, retry them later, not in a hot loop.
            log.warning("collector_answer_incomplete", missing=len(missing))
            self._fail(RETRY, None)
            raise _Stop()


class _Stop(Exception):
    pass


class Transport:
    """One kept-alive HTTP(S) connection to the collector (stdlib http.client + ssl).

    The standard library instead of requests: the service runs for months in 250 rooms and every
    imported megabyte counts (requests + urllib3 + idna + charset_normalizer cost about 6 MB RSS).
    Verification is never off: system store or ``ca_file``, hostname checked; optional client cert.
    Environment proxies are ignored, so no proxy ever sees the token.
    """

    MAX_BODY = 1 << 20

    def __init__(self, settings: Any) -> None:
        url = urlsplit(settings.url)
        self.https = url.scheme == "https"
        self.host = url.hostname or ""
        self.port = url.port or (443 if self.https else 80)
        self.base = url.path.rstrip("/")
        self.context: ssl.SSLContext | None = None
        if self.https:
            self.context = ssl.create_default_context(cafile=settings.ca_file or None)
            if settings.client_cert_file:
                self.context.load_cert_chain(settings.client_cert_file, settings.client_key_file)
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connect(self, timeout: tuple[float, float]) -> http.client.HTTPConnection:
        if self.https:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout[0], context=self.context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout[0])
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(timeout[1])  # the connect deadline is over; now the read deadline
        return conn

    def post(self, path: str, body: bytes, headers: dict[str, str],
             timeout: tuple[float, float]) -> tuple[int, bytes, Any]:
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = self._connect(timeout)
            else:
                assert self.conn.sock is not None
                self.conn.sock.settimeout(timeout[1])
            try:
                self.conn.request("POST", self.base + path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read(self.MAX_BODY)
                if response.will_close:
                    self.close()
                return response.status, data, response.headers
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused or attempt == 2:
                    raise
                # The collector closed an idle kept-alive connection: once more on a fresh one
                # (harmless even if it had processed the request: record ids are idempotent).
            except BaseException:
                self.close()
                raise
        raise http.client.HTTPException("unreachable")


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate verification failed (CERTIFICATE_VERIFY_FAILED): check [collector] ca_file"
    return scrub(text)[-300:]
