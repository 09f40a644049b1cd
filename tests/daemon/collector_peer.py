"""A small collector that follows docs/collector-api.md, for the service's tests and benchmarks.

Faithful where the agent can tell: Bearer token per room, gzip bodies, Content-Type check,
body caps (413), envelope validation (422) and per-record validation (``rejected``) against the
JSON schemas of docs/collector-openapi.json, idempotent ids (a known id is accepted again and
not stored twice), ``server_time`` in the heartbeat answer, the error body shape.  On top, the
test controls faults: scripted answers (5xx storms, 401, 413, 429 with Retry-After), slow answers,
a closed door, and it counts every delivery so tests can prove "nothing lost, nothing duplicated".

Runs over HTTPS with a throwaway CA (:func:`make_pki`) or plain HTTP, on 127.0.0.1, port 0.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.helpers import REPO

OPENAPI = REPO / "docs" / "collector-openapi.json"
RECORDS_CAP = 256 * 1024
HEARTBEAT_CAP = 64 * 1024
KIND_SCHEMA = {"check_report": "Report", "status_sample": "StatusSample", "event": "Event", "session": "Session"}


def _validators() -> dict[str, Any]:
    import jsonschema

    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    registry_doc = {"components": doc["components"]}

    def validator(name: str) -> Any:
        schema = {"$ref": f"#/components/schemas/{name}", **registry_doc}
        return jsonschema.Draft202012Validator(schema)

    return {name: validator(name) for name in
            ("Heartbeat", "HeartbeatResponse", "RecordBatch", "Record", "Report", "StatusSample", "Event",
             "Session")}


@dataclass
class Fault:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None  # None = any endpoint


class CollectorPeer:
    def __init__(self, tokens: dict[str, str], *, tls: tuple[Path, Path] | None = None,
                 client_ca: Path | None = None, port: int = 0) -> None:
        self.tokens = dict(tokens)  # token -> room_id
        self.validators = _validators()
        self.lock = threading.RLock()
        self.stored: dict[str, dict[str, Any]] = {}  # id -> record (first copy wins)
        self.order: list[str] = []  # ids in the order they were first stored
        self.deliveries: list[str] = []  # every accepted id, duplicates included
        self.heartbeats: list[dict[str, Any]] = []
        self.requests: list[tuple[float, str, int]] = []  # (time, path, status)
        self.bodies: list[bytes] = []  # raw decoded bodies, for canary greps
        self.faults: list[Fault] = []
        self.always: Fault | None = None  # answer every request with this until cleared
        self.delay = 0.0
        # v1.1: the schedule handed to every room in the heartbeat answer (None = not sent)
        self.schedule: dict[str, Any] | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            if client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(str(client_ca))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{'localhost' if self.scheme == 'https' else host}:{port}"

    def start(self) -> "CollectorPeer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "CollectorPeer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- views for tests -------------------------------------------------------------------
    def kinds(self) -> list[str]:
        with self.lock:
            return [self.stored[i]["kind"] for i in self.order]

    def bodies_of(self, kind: str) -> list[dict[str, Any]]:
        """Stored record bodies of one kind, in arrival order."""
        with self.lock:
            return [self.stored[i]["body"] for i in self.order if self.stored[i]["kind"] == kind]

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False

    # -- the handler -----------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                with peer.lock:
                    peer.requests.append((time.time(), self.path, status))

            def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                       details: list[dict[str, str]] | None = None) -> None:
                err: dict[str, Any] = {"code": code, "message": message}
                if details:
                    err["details"] = details
                self._send(status, {"error": err}, headers)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if peer.delay:
                    time.sleep(peer.delay)
                fault = None
                with peer.lock:
                    if peer.always is not None and peer.always.endpoint in (None, self.path):
                        fault = peer.always
                    else:
                        for i, f in enumerate(peer.faults):
                            if f.endpoint in (None, self.path):
                                fault = peer.faults.pop(i)
                                break
                if fault is not None:
                    self._send(fault.status, fault.body or {"error": {"code": f"http_{fault.status}",
                                                                      "message": "scripted fault"}}, fault.headers)
                    return
                if self.path not in ("/api/v1/heartbeat", "/api/v1/records"):
                    self._error(404, "not_found", "no such endpoint")
                    return
                auth = self.headers.get("Authorization", "")
                token = auth[7:] if auth.startswith("Bearer ") else ""
                room = peer.tokens.get(token)
                if room is None:
                    self._error(401, "unauthorized", "missing or unknown room token")
                    return
                if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
                    self._error(400, "unsupported_media_type", "Content-Type must be application/json")
                    return
                cap = RECORDS_CAP if self.path == "/api/v1/records" else HEARTBEAT_CAP
                encoding = (self.headers.get("Content-Encoding") or "identity").lower()
                if len(raw) > cap:
                    self._error(413, "payload_too_large", f"body is {len(raw)} bytes; the limit is {cap}")
                    return
                if encoding == "gzip":
                    try:
                        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                        raw = d.decompress(raw, cap + 1)
                    except zlib.error:
                        self._error(400, "invalid_json", "corrupt gzip body")
                        return
                    if len(raw) > cap:
                        self._error(413, "payload_too_large", "decompressed body over the limit")
                        return
                elif encoding != "identity":
                    self._error(400, "unsupported_encoding", "Content-Encoding must be gzip or absent")
                    return
                with peer.lock:
                    peer.bodies.append(raw)
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    self._error(400, "invalid_json", f"body is not valid JSON: {exc}")
                    return
                if self.path == "/api/v1/heartbeat":
                    self._heartbeat(room, body)
                else:
                    self._records(room, body)

            def _heartbeat(self, room: str, body: Any) -> None:
                errors = sorted(peer.validators["Heartbeat"].iter_errors(body), key=str)
                if errors:
                    self._error(422, "validation_failed", "body does not match hntht.heartbeat/1",
                                details=[{"path": ".".join(map(str, e.path)), "message": e.message}
                                         for e in errors[:5]])
                    return
                if body["room_id"] != room:
                    self._error(403, "forbidden_room", "token belongs to another room")
                    return
                with peer.lock:
                    peer.heartbeats.append(body)
                now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                answer = {"server_time": now, "accepted": True, "heartbeat_interval_s": 30,
                          "some_future_instruction": {"ignored": True}}
                with peer.lock:
                    if peer.schedule is not None:
                        answer["schedule"] = peer.schedule
                errors = list(peer.validators["HeartbeatResponse"].iter_errors(answer))
                assert not errors, errors[0].message  # the test's own schedule must follow the protocol
                self._send(200, answer)

            def _records(self, room: str, body: Any) -> None:
                errors = sorted(peer.validators["RecordBatch"].iter_errors(body), key=str)
                if errors:
                    self._error(422, "validation_failed", "body does not match hntht.records/1",
                                details=[{"path": ".".join(map(str, e.path)), "message": e.message}
                                         for e in errors[:5]])
                    return
                if body["room_id"] != room:
                    self._error(403, "forbidden_room", "token belongs to another room")
                    return
                accepted, rejected = [], []
                for record in body["records"]:
                    rid = record["id"]
                    problem = self._check_record(room, record)
                    if problem:
                        rejected.append({"id": rid, **problem})
                        continue
                    accepted.append(rid)
                    with peer.lock:
                        peer.deliveries.append(rid)
                        if rid not in peer.stored:
                            peer.stored[rid] = record
                            peer.order.append(rid)
                self._send(200, {"accepted": accepted, "rejected": rejected})

            def _check_record(self, room: str, record: dict[str, Any]) -> dict[str, str] | None:
                errors = list(peer.validators["Record"].iter_errors(record))
                if errors:
                    return {"code": "invalid_record", "reason": errors[0].message[:300]}
                if record["id"].split("/", 1)[0] != room:
                    return {"code": "room_mismatch", "reason": "id's room part is not the batch's room_id"}
                schema = KIND_SCHEMA.get(record["kind"])
                if schema is None:
                    return {"code": "unknown_kind", "reason": record["kind"]}
                errors = list(peer.validators[schema].iter_errors(record["body"]))
                if errors:
                    e = errors[0]
                    return {"code": "invalid_body", "reason": f"body.{'.'.join(map(str, e.path))}: {e.message}"[:300]}
                return None

        return Handler


def make_pki(directory: Path, *, hostnames: tuple[str, ...] = ("localhost",)) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, plus a client certificate."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def write_key(k, path: Path) -> Path:
        path.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        path.chmod(0o600)
        return path

    def write_cert(c, path: Path) -> Path:
        path.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        return path

    def ca(name: str):
        k = key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(k.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
                .sign(k, hashes.SHA256()))
        return k, cert

    def leaf(ca_key, ca_cert, name: str, usage, sans):
        k = key()
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_cert.subject).public_key(k.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False))
        if sans:
            cert = cert.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return k, cert.sign(ca_key, hashes.SHA256())

    ca_key, ca_cert = ca("hntht test CA")
    other_key, other_cert = ca("some other CA")
    sans = [x509.DNSName(h) for h in hostnames] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    srv_key, srv_cert = leaf(ca_key, ca_cert, "localhost", ExtendedKeyUsageOID.SERVER_AUTH, sans)
    cli_key, cli_cert = leaf(ca_key, ca_cert, "room-agent", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return {
        "ca": write_cert(ca_cert, directory / "ca.pem"),
        "other_ca": write_cert(other_cert, directory / "other-ca.pem"),
        "server_cert": write_cert(srv_cert, directory / "server.pem"),
        "server_key": write_key(srv_key, directory / "server.key"),
        "client_cert": write_cert(cli_cert, directory / "client.pem"),
        "client_key": write_key(cli_key, directory / "client.key"),
    }
