"""A Poly VideoOS REST peer (HTTPS, or plain HTTP with ``tls=False``, on 127.0.0.1) serving the real
Studio X30 captures.

Bodies come verbatim from ``studiox30-videoos3.12-rest.json`` (AVISPL WireMock stubs, MIT): every
``"METHOD path"`` key is served as recorded, including the non-JSON ``CONTENT_IDLE``.  What the
capture lacks is added in the shapes codecs.md §4 gives: the session login ``POST
/rest/current/session`` → ``{"success":true,"session":{"sessionId":...}}`` with a ``session_id``
cookie, the logout ``DELETE /rest/current/session``, and in a call ``/rest/conferences`` entries with
``connections`` and ``/rest/conferences/{id}/mediastats`` (field names from the AVISPL adapter).

Every route but the login needs a live session.  Fault states (attributes of :class:`RestState`):
``muted``, ``unregistered``, ``standby`` (None = as captured), ``in_call``, ``call_setup``,
``call_dropped`` (the conference is listed as connected, then ends when its mediastats is asked: 404, and
the conference list is empty until the next login), ``no_mediastats`` (in a call, on software without
``/rest/conferences/{id}/mediastats``: 404 while the conference stays connected), ``video_720p``, ``delay``, ``silent`` (accepts TCP, never completes TLS), ``garbage``,
``max_sessions`` (VideoOS lock-up: once that many sessions are open and not logged out, every request
hangs), ``fail_route`` (answer 500 to one route), ``expire_at_request`` (the device drops every open
session when its N-th request arrives, so that request and later ones with the old cookie get 403:
a session timed out mid-poll), ``forbid_reads`` (the session is valid but every read is answered 403,
as for an account without API rights), ``group_series_6`` (RealPresence Group Series 6.x REST, codecs.md
§4.2: no ``/rest/current/session`` — 404 — login and logout by ``POST /rest/session`` with
``{"action": "Login"|"Logout", ...}``, and ``/rest/system/status`` lines carry ``state`` instead of
``stateList``).  A wrong password is 401; a new certificate is :meth:`PolyRestSim.change_certificate`.
Counters: ``sessions_opened``, ``sessions_open``, ``logouts``, ``sessions_expired``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def make_certificate(directory: Path, name: str = "poly-sim") -> tuple[Path, Path, bytes]:
    """A self-signed certificate for 127.0.0.1 (like a codec's own): (cert.pem, key.pem, DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


def load_routes(capture: str | Path) -> dict[str, str]:
    """{"METHOD path": body} from the extracted capture or straight from the WireMock mappings file."""
    data = json.loads(Path(capture).read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("mappings"), list):
        routes = {}
        for mapping in data["mappings"]:
            request, response = mapping.get("request", {}), mapping.get("response", {})
            url = request.get("url") or request.get("urlPath")
            if url and "body" in response:
                routes[f"{request.get('method', 'GET')} {url}"] = response["body"]
        return routes
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass
class RestState:
    muted: bool | None = None  # None = as captured (the X30 capture is muted)
    standby: bool | None = None  # None = as captured (ASLEEP)
    unregistered: bool = False
    in_call: bool = False
    call_setup: bool = False
    call_dropped: bool = False
    no_mediastats: bool = False
    video_720p: bool = False
    content: bool = False
    delay: float = 0.0
    silent: bool = False
    garbage: bool = False
    max_sessions: int = 0  # 0 = no lock-up
    fail_route: str = ""
    expire_at_request: int = 0  # 0 = sessions never expire
    forbid_reads: bool = False
    group_series_6: bool = False


class PolyRestSim:
    def __init__(self, capture: str | Path, *, password: str = "1234", username: str = "admin",
                 state: RestState | None = None, host: str = "127.0.0.1", tls: bool = True,
                 cookie_secure: bool | None = None) -> None:
        self.routes = load_routes(capture)
        self.username, self.password = username, password
        self.state = state or RestState()
        self.requests: list[str] = []
        self.sessions: dict[str, float] = {}
        self.sessions_opened = 0
        self.call_ended = False  # call_dropped: set by the mediastats read, cleared by the next login
        self.logouts = 0
        self.sessions_expired = 0
        self.tls = tls
        # the session cookie's Secure flag: None = only over TLS; True = also over plain HTTP (a client that
        # honours the flag then never sends the cookie back)
        self.cookie_secure = tls if cookie_secure is None else cookie_secure
        self.certificate_der: bytes | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="poly-rest-sim-"))
        self._lock = threading.Lock()
        self.host = host
        self._server = _Server((host, 0), _Handler)
        self._server.sim = self
        self.port = self._server.server_address[1]
        self._server.context = None
        if tls:
            self.change_certificate()
        self._thread: threading.Thread | None = None
        self._locked_up = threading.Event()

    @property
    def sessions_open(self) -> int:
        with self._lock:
            return len(self.sessions)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def expire_sessions(self) -> None:
        """The device forgets every open session (its idle timeout, a web server restart)."""
        with self._lock:
            self.sessions_expired += len(self.sessions)
            self.sessions.clear()

    def change_certificate(self) -> None:
        cert, key, self.certificate_der = make_certificate(self._dir, f"poly-sim-{secrets.token_hex(3)}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.cert_path = cert
        self._server.context = context

    def start(self) -> "PolyRestSim":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="poly-rest-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._locked_up.set()  # release hung handlers
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "PolyRestSim":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- answers -------------------------------------------------------------------------------------
    def body(self, method: str, path: str) -> tuple[int, str]:
        s = self.state
        key = f"{method} {path}"
        if s.forbid_reads:
            return 403, '{"success":false,"reason":"FORBIDDEN"}'
        if s.fail_route and key == s.fail_route:
            return 500, '{"error":"internal"}'
        if key == "GET /rest/conferences":
            return 200, json.dumps(self._conferences())
        if method == "GET" and path.startswith("/rest/conferences/") and path.endswith("/mediastats"):
            if s.call_dropped:
                self.call_ended = True  # the call ends while the poll reads it
            if s.no_mediastats:
                return 404, '{"error":"not found"}'  # software without the resource
            if not (s.in_call or s.video_720p) or s.call_dropped or s.call_setup:
                return 404, '{"error":"no such conference"}'
            fmt = "720p" if s.video_720p else "1080p"
            stats = [
                {"mediaDirection": "TX", "mediaType": "VIDEO", "actualBitRate": 1664, "actualFrameRate": 30,
                 "jitter": 2, "packetLoss": 0, "percentPacketLoss": 0.0, "mediaAlgorithm": "H.264", "mediaFormat": fmt},
                {"mediaDirection": "RX", "mediaType": "VIDEO", "actualBitRate": 1650, "actualFrameRate": 30,
                 "jitter": 5, "packetLoss": 3, "percentPacketLoss": 0.1, "mediaAlgorithm": "H.264", "mediaFormat": "1080p"},
                {"mediaDirection": "TX", "mediaType": "AUDIO", "actualBitRate": 64, "jitter": 1, "packetLoss": 0,
                 "percentPacketLoss": 0.0, "mediaAlgorithm": "G.722.1C", "mediaFormat": ""},
            ]
            if s.content:
                stats.append({"mediaDirection": "TX", "mediaType": "CONTENT", "actualBitRate": 512, "jitter": 1,
                              "percentPacketLoss": 0.0, "mediaAlgorithm": "H.264", "mediaFormat": "1080p"})
            return 200, json.dumps(stats)
        if key not in self.routes:
            return 404, '{"error":"not found"}'
        text = self.routes[key]
        if key == "GET /rest/system":
            obj = json.loads(text)
            if s.standby is not None:
                obj["state"] = "ASLEEP" if s.standby else "AWAKE"
            text = json.dumps(obj)
        elif key == "GET /rest/audio" and s.muted is not None:
            obj = json.loads(text)
            obj["muted"] = s.muted
            text = json.dumps(obj)
        elif key == "GET /rest/system/status" and (s.unregistered or s.group_series_6):
            obj = json.loads(text)
            for item in obj:
                if s.unregistered and item.get("name") in ("system.status.gatekeeper", "system.status.sipserver"):
                    item["stateList"] = ["down"]
                if s.group_series_6 and "stateList" in item:
                    item["state"] = item.pop("stateList")  # Group Series 6.x (codecs.md §4.2)
            text = json.dumps(obj)
        elif key in ("GET /rest/system/sipservers", "GET /rest/system/h323gatekeepers") and s.unregistered:
            text = text.replace('"UP"', '"DOWN"')
        if s.garbage:
            text = "<html><body>\x00\x01 Service Unavailable" + text[:7]
        return 200, text

    def _conferences(self) -> list:
        s = self.state
        if not (s.in_call or s.call_setup or s.call_dropped or s.video_720p or s.no_mediastats) or self.call_ended:
            return json.loads(self.routes.get("GET /rest/conferences", "[]"))
        state = "CONNECTING" if s.call_setup else "CONNECTED"
        return [{"id": 0, "isActive": True, "connections": [
            {"id": 0, "address": "172.31.254.64", "callType": "H323", "incoming": False, "rate": 2048,
             "state": state}]}]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sim: PolyRestSim
    context: ssl.SSLContext | None

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = self.socket.accept()
        if self.sim.state.silent:
            threading.Thread(target=_hold, args=(conn,), daemon=True).start()
            raise OSError("silent: connection held, never answered")
        conn.settimeout(10)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is None:  # plain HTTP
            return conn, addr
        return self.context.wrap_socket(conn, server_side=True), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections (deadline tests) are expected


def _hold(conn: socket.socket) -> None:
    try:
        conn.settimeout(30)
        while conn.recv(4096):
            pass
    except OSError:
        pass
    finally:
        conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _session(self) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "session_id":
                return value
        return None

    def _send(self, code: int, text: str, cookie: str | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        with sim._lock:
            sim.requests.append(f"{method} {path}")
            locked = sim.state.max_sessions and len(sim.sessions) >= sim.state.max_sessions
            expire = len(sim.requests) == sim.state.expire_at_request
        if expire:
            sim.expire_sessions()
        if locked:
            sim._locked_up.wait(60)  # VideoOS lock-up: nothing answers any more
            return
        if sim.state.delay:
            time.sleep(sim.state.delay)
        gs6 = sim.state.group_series_6
        if gs6 and path == "/rest/current/session":
            self._send(404, '{"error":"not found"}')  # Group Series 6.x has only /rest/session
            return
        if method == "POST" and path in ("/rest/current/session", "/rest/session"):
            try:
                creds = json.loads(body or b"{}")
            except ValueError:
                creds = {}
            if not isinstance(creds, dict):
                creds = {}
            if path == "/rest/session" and creds.get("action") not in ("Login", "Logout"):
                self._send(400, '{"success":false,"reason":"BAD_ACTION"}')
                return
            if creds.get("action") == "Logout":
                self._logout()
                return
            if creds.get("user") != sim.username or creds.get("password") != sim.password:
                self._send(401, '{"success":false,"reason":"LOGIN_FAILED"}')
                return
            sid = "PS" + secrets.token_urlsafe(36)
            with sim._lock:
                sim.sessions[sid] = time.time()
                sim.sessions_opened += 1
                sim.call_ended = False  # call_dropped: every poll (one login each) sees the call end again
            self._send(200, json.dumps({"success": True, "session": {"sessionId": sid, "role": "ADMIN"}}),
                       cookie=f"session_id={sid}; Path=/; HttpOnly" + ("; Secure" if sim.cookie_secure else ""))
            return
        if method == "DELETE" and path == "/rest/current/session":
            self._logout()
            return
        sid = self._session()
        with sim._lock:
            valid = sid in sim.sessions
        if not valid:
            self._send(403, '{"success":false,"reason":"SESSION_INVALID"}')
            return
        code, text = sim.body(method, path)
        self._send(code, text)

    def _logout(self) -> None:
        sim = self.server.sim
        sid = self._session()
        with sim._lock:
            if sid in sim.sessions:
                del sim.sessions[sid]
                sim.logouts += 1
        self._send(200, '{"success":true}')

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")
