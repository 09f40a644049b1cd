"""``vendor = "auto"``: identify the codec once, remember it, then use that vendor's driver.

Identification first looks at what the codec shows *before* any login (codecs.md §0.3 and the
transport sections), over the configured transport, and sends no password and no command:

- ``snmp``: sysObjectID (enterprise 2684/13885 Poly, 2011 Huawei, 5596 Cisco) → the ``snmp`` driver;
- ``ssh``: one connection that stops before the login.  The server's identification line and
  negotiated host-key algorithm are read during the key exchange; the host key is then checked against
  the pin (``pinning.verify_ssh_key``) and a ``none`` authentication request (the user name only, what
  every OpenSSH client sends first) returns the login methods the server allows.  A server allowing
  keyboard-interactive and not password is a Cisco (§2.1: "the server uses keyboard-interactive");
  one whose only host key algorithm is ``ssh-rsa`` (§3.1 pitfalls) or allowing password and not
  keyboard-interactive (§3.1: "SSH uses normal password auth") is a Group Series;
- ``https``/``http``: two GETs without credentials (pinned TLS): ``/status.xml`` and ``/rest/system``.
  ``<Status product="Cisco Codec"`` or a Basic-auth challenge on ``/status.xml`` (§2.1: the XMLAPI
  uses Basic auth) while ``/rest/system`` gives no JSON → Cisco; ``/rest/system`` answering its JSON
  (§0.3: ``{"model":...}``) or refusing in JSON (§4.1: a request without a session gets 403) while
  ``/status.xml`` asks for no Basic auth → Poly VideoOS;
- ``telnet``: ``poly-gs`` is the only candidate.

Evidence that points to one vendor *identifies* it: only that driver's session is opened, and its
refused login is the real ``codec.login`` failure.  When the evidence is missing or contradicts
itself, the candidates are tried in turn and a refused login only means "not this vendor": the next
is tried, and only if every candidate refused is it reported as a refused login.

The first driver whose session opens is kept (its session is reused for the poll) and the result is
written to ``<state_dir>/codec-identity.json`` ({host, port, transport, vendor, identified_by,
evidence, seen}); later runs read it and go straight to that driver.  Delete the file (or change
host/port) to identify again.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from agent.errors import DeviceAuthError, DeviceUnreachable, ProtocolError, shown
from agent.i18n import Text, register
from agent.vendors import get_driver_class, pinning, sshlib
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, HostKeyUnknown, localized

register(
    {
        "codec.auto.unidentified": (
            "không nhận ra loại thiết bị đầu cuối qua {transport}: {attempts}. Đặt [codec] vendor đúng loại thiết bị "
            "(cisco, poly-gs, poly-rest hoặc snmp)",
            "could not identify the codec on {transport}: {attempts}",
        ),
        "codec.auto.refused": (
            "chưa nhận ra loại thiết bị đầu cuối qua {transport} và thiết bị từ chối đăng nhập: {attempts}",
            "the codec on {transport} was not identified and refused the login: {attempts}",
        ),
        "codec.auto.attempt": ("{vendor}: {error}", "{vendor}: {error}"),
    }
)

IDENTITY_FILE = "codec-identity.json"
CANDIDATES = {"ssh": ("poly-gs", "cisco"), "telnet": ("poly-gs",), "https": ("poly-rest", "cisco"),
              "http": ("poly-rest", "cisco"), "snmp": ("snmp",)}
# What identification sends over HTTP(S), without credentials: one read of each candidate's own
# allow-list (cisco's xStatus is GET /status.xml; poly-rest reads GET /rest/system).
PROBES = AllowList("auto", r"GET /status\.xml", r"GET /rest/system")
HTTP_PROBES = ("/status.xml", "/rest/system")
MAX_PROBE_BODY = 64 * 1024


@dataclass
class Evidence:
    """What the codec showed before any login, and which vendor (if exactly one) it points to."""

    seen: dict[str, Any] = field(default_factory=dict)
    vendor: str | None = None
    why: list[str] = field(default_factory=list)  # the codecs.md rules that matched (English, for the record)
    lean: str | None = None  # not identified: the candidate to try first (a weaker sign), else the default order


# -- SSH: identification line, host key algorithm and login methods, before any password -------------
def ssh_evidence(connection: Connection) -> Evidence:
    from agent.vendors.legacy_ssh import allow_ssh_rsa

    paramiko = sshlib.load()
    c = connection
    sock = pinning._connect(c.host, c.port, c.timeout)  # its refusals/timeouts say "unreachable" as the drivers do
    transport = paramiko.Transport(sock)
    allow_ssh_rsa(transport)  # last resort only: a server offering anything better negotiates that
    transport.banner_timeout = c.timeout
    transport.auth_timeout = c.timeout
    seen: dict[str, Any] = {}
    try:
        try:
            transport.start_client(timeout=c.timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise localized(ProtocolError(f"{c.host}:{c.port} SSH handshake failed: {exc}"), "codec.pin.handshake",
                            where=f"{c.host}:{c.port}", protocol="SSH", error=str(exc)) from None
        key = transport.get_remote_server_key()
        seen["server_version"] = transport.remote_version
        seen["host_key_algorithm"] = transport.host_key_type
        pinning.verify_ssh_key(connection, key)  # the pin first: an unknown or changed key ends it here
        try:
            transport.auth_none(c.username)  # the user name only; accepted = a codec with no login at all
            seen["auth_methods"] = []
        except paramiko.BadAuthenticationType as exc:
            seen["auth_methods"] = sorted(exc.allowed_types)
        except (paramiko.SSHException, EOFError, OSError):
            seen["auth_methods"] = None  # closed before saying: no evidence from the login methods
    finally:
        sshlib.close(transport)
    return Evidence(seen, *_ssh_verdict(seen), lean=_ssh_lean(seen))


def _ssh_verdict(seen: dict[str, Any]) -> tuple[str | None, list[str]]:
    methods = set(seen.get("auth_methods") or ())
    rules: list[tuple[str, str]] = []
    if "keyboard-interactive" in methods and "password" not in methods:
        rules.append(("cisco", "login by keyboard-interactive only (codecs.md 2.1: the Cisco SSH server uses it)"))
    if seen.get("host_key_algorithm") == "ssh-rsa":
        rules.append(("poly-gs", "only the ssh-rsa host key algorithm (codecs.md 3.1: Group Series offers nothing else)"))
    if "password" in methods and "keyboard-interactive" not in methods:
        rules.append(("poly-gs", "login by password only (codecs.md 3.1: Group Series SSH uses password login)"))
    return _one_vendor(rules)


def _ssh_lean(seen: dict[str, Any]) -> str | None:
    """Not enough to identify, enough to choose whom to try first: a Group Series signs with ssh-rsa only
    (codecs.md 3.1), so a server that negotiated anything else is more likely the Cisco.  Trying the
    Group Series driver first on a Cisco costs a session and a greeting timeout."""
    algorithm = seen.get("host_key_algorithm")
    if not algorithm:
        return None
    return "poly-gs" if algorithm == "ssh-rsa" else "cisco"


# -- HTTP(S): the unauthenticated answers of each candidate's first read ------------------------------
def http_evidence(connection: Connection) -> Evidence:
    session, base = pinning.https_session(connection)
    seen: dict[str, Any] = {}
    try:
        for path in HTTP_PROBES:
            PROBES.check(f"GET {path}")
            seen[path] = _probe_get(connection, session, base, path)
    finally:
        session.close()
    return Evidence(seen, *_http_verdict(seen), lean=_http_lean(seen))


def _probe_get(connection: Connection, session: Any, base: str, path: str) -> dict[str, Any]:
    """GET ``path`` without credentials: status, the headers that tell, and what the body says."""
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error, ReadTimeoutError

    c = connection
    where = f"{c.host}:{c.port}"
    try:
        response = session.get(base + path, timeout=(c.timeout, c.timeout), allow_redirects=False, stream=True)
        try:
            body = response.raw.read(MAX_PROBE_BODY, decode_content=True) or b""
        finally:
            response.close()
    except requests.exceptions.SSLError as exc:
        raise pinning.tls_refusal(exc, c) from None
    except requests.exceptions.ConnectTimeout:
        raise localized(DeviceUnreachable(f"{where} did not accept a connection within {c.timeout:g} s"),
                        "codec.err.no_connect", host=where, seconds=f"{c.timeout:g}") from None
    except (requests.exceptions.ReadTimeout, ReadTimeoutError):  # the latter: the body, read below requests
        raise localized(ProtocolError(f"the codec did not answer GET {path} within {c.timeout:g} s"),
                        "codec.err.timeout", what=f"GET {path}", seconds=f"{c.timeout:g}") from None
    except Urllib3Error as exc:  # the body cut short, a bad chunk or gzip: requests never saw it to translate
        raise localized(ProtocolError(f"HTTP error talking to the codec: {str(exc)[:160]}"),
                        "codec.err.http", error=str(exc)[:160]) from None
    except requests.exceptions.ConnectionError as exc:
        raise pinning.connection_error(exc, c) from None
    except (requests.exceptions.RequestException, OSError) as exc:
        raise localized(ProtocolError(f"HTTP error talking to the codec: {str(exc)[:160]}"),
                        "codec.err.http", error=str(exc)[:160]) from None
    out: dict[str, Any] = {"status": response.status_code}
    for header in ("WWW-Authenticate", "Content-Type", "Server"):
        if response.headers.get(header):
            out[header.lower()] = response.headers[header][:120]
    text = body.decode("utf-8", "replace")
    if "<Status" in text:
        product = re.search(r"<Status\b[^>]*\bproduct=\"([^\"]{0,60})\"", text)
        version = re.search(r"<Status\b[^>]*\bversion=\"([^\"]{0,60})\"", text)
        if product:
            out["product"] = product.group(1)
        if version:
            out["version"] = version.group(1)
    try:
        parsed = json.loads(text) if text.strip() else None
        out["json"] = parsed is not None
        if isinstance(parsed, dict) and isinstance(parsed.get("model"), str):
            out["model"] = parsed["model"][:60]
    except ValueError:
        out["json"] = False
    return out


def _http_verdict(seen: dict[str, Any]) -> tuple[str | None, list[str]]:
    status_xml, system = seen.get("/status.xml", {}), seen.get("/rest/system", {})
    basic = str(status_xml.get("www-authenticate", "")).lower().startswith("basic")
    rules: list[tuple[str, str]] = []
    if status_xml.get("status") == 200 and str(status_xml.get("product", "")).startswith("Cisco Codec"):
        rules.append(("cisco", "GET /status.xml answered <Status product=\"Cisco Codec\"> (codecs.md 0.3)"))
    if status_xml.get("status") == 401 and basic and not system.get("json"):
        rules.append(("cisco", "GET /status.xml asks for Basic auth (codecs.md 2.1: the XMLAPI) and /rest/system "
                               "gives no JSON"))
    if system.get("status") == 200 and system.get("model"):
        rules.append(("poly-rest", f"GET /rest/system answered its JSON with model {system['model']!r} (codecs.md 0.3)"))
    if system.get("status") in (401, 403) and system.get("json") and not basic:
        rules.append(("poly-rest", f"GET /rest/system refused in JSON without a session (HTTP {system['status']}; "
                                   "codecs.md 4.1) and /status.xml asks for no Basic auth"))
    return _one_vendor(rules)


def _http_lean(seen: dict[str, Any]) -> str | None:
    """Not identified: a Basic challenge or XML on /status.xml leans to Cisco, JSON on /rest/system to VideoOS."""
    status_xml, system = seen.get("/status.xml", {}), seen.get("/rest/system", {})
    cisco = str(status_xml.get("www-authenticate", "")).lower().startswith("basic") or "product" in status_xml
    videoos = bool(system.get("json"))
    if cisco != videoos:
        return "cisco" if cisco else "poly-rest"
    return None


def _one_vendor(rules: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """The vendor every matched rule agrees on, with the rules; None when none or several matched."""
    vendors = {vendor for vendor, _ in rules}
    return (vendors.pop() if len(vendors) == 1 else None), [why for _, why in rules]


class AutoDriver(CodecDriver):
    name = "auto"
    vendor = "auto"
    ALLOWED = PROBES  # it sends only these unauthenticated reads; the chosen driver has its own allow-list
    transports = ("ssh", "https", "telnet", "http", "snmp")

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.inner: CodecDriver | None = None
        self.identity: dict[str, Any] | None = self._load()
        self.evidence: Evidence | None = None

    @property
    def path(self) -> Any:
        return self.connection.state_dir / IDENTITY_FILE

    def _load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        c = self.connection
        if (isinstance(data, dict) and data.get("host") == c.host and data.get("port") == c.port
                and data.get("transport") == c.transport and data.get("vendor") in CANDIDATES.get(c.transport, ())):
            return data
        return None

    def _save(self, vendor: str, identified_by: str, evidence: str, seen: dict[str, Any]) -> None:
        c = self.connection
        data = {"host": c.host, "port": c.port, "transport": c.transport, "vendor": vendor,
                "identified_by": identified_by, "evidence": evidence, "seen": seen}
        try:
            c.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(IDENTITY_FILE + ".tmp")
            tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # identification is repeated next time; not worth failing the poll
        self.identity = data

    @property
    def is_open(self) -> bool:
        return self.inner is not None and self.inner.is_open

    def _driver(self, vendor: str) -> CodecDriver:
        driver = get_driver_class(vendor)(self.connection)
        if hasattr(driver, "command_gap"):
            driver.command_gap = getattr(self, "command_gap", driver.command_gap)
        return driver

    def _identify(self) -> CodecDriver:
        if self.identity is not None:
            return self._driver(self.identity["vendor"])
        transport = self.connection.transport
        if transport == "snmp":
            return self._identify_snmp()
        if transport == "ssh":
            evidence = ssh_evidence(self.connection)
        elif transport in ("https", "http"):
            evidence = http_evidence(self.connection)
        else:
            evidence = Evidence()
        self.evidence = evidence
        candidates = CANDIDATES[transport]
        first = evidence.vendor or evidence.lean
        order = ([first] if first in candidates else []) + [v for v in candidates if v != first]
        attempts: list[tuple[str, BaseException]] = []
        for vendor in order:
            # Identified before the login: this driver's answer is the answer.  The only candidate of a
            # transport (Telnet) that refuses the login is that vendor too; one that answers something
            # else may be no codec of ours at all ("could not identify").
            identified = vendor == evidence.vendor
            driver = self._driver(vendor)
            try:
                driver.open()
            except (DeviceAuthError, ProtocolError) as exc:
                if identified or (len(candidates) == 1 and isinstance(exc, DeviceAuthError)):
                    raise
                attempts.append((vendor, exc))  # a refusal or a foreign answer: not this vendor, try the next
                continue
            if identified and evidence.vendor:
                by, why = "before login", "; ".join(evidence.why)
            elif len(candidates) == 1:
                by, why = "only candidate", f"the only {transport} candidate; its session opened"
            else:
                tried = "; ".join(f"{v}: {exc}" for v, exc in attempts)
                by = "login"
                why = f"the {vendor} session opened" + (f" after {tried}" if tried else "") + \
                      (f" (before login: {'; '.join(evidence.why)})" if evidence.why else " (nothing told before login)") + \
                      (f"; {evidence.lean} tried first from a weaker sign before login" if evidence.lean else "")
            self._save(vendor, by, why, evidence.seen)
            return driver
        if any(isinstance(exc, DeviceAuthError) for _, exc in attempts):
            raise localized(DeviceAuthError(f"the codec on {transport} was not identified and refused the login: "
                                            + "; ".join(f"{vendor}: {exc}" for vendor, exc in attempts)),
                            "codec.auto.refused", transport=transport, attempts=_Attempts(attempts))
        raise localized(ProtocolError(f"could not identify the codec on {transport}: "
                                      + "; ".join(f"{vendor}: {exc}" for vendor, exc in attempts)),
                        "codec.auto.unidentified", transport=transport, attempts=_Attempts(attempts))

    def _identify_snmp(self) -> CodecDriver:
        from agent.i18n import render
        from agent.snmp import to_oid
        from agent.vendors.snmp import SYS_OBJECT_ID, SnmpDriver, vendor_of

        driver = SnmpDriver(self.connection)
        driver.open()
        values = driver.send(f"GET {SYS_OBJECT_ID}")
        oid, why = to_oid(values.get(SYS_OBJECT_ID))
        self._save("snmp", "before login", f"sysObjectID {oid} ({vendor_of(oid) or render(why, 'en')})",
                   {"sysObjectID": oid})
        return driver

    def open(self) -> None:
        with self._lock:
            if self.inner is None:
                self.inner = self._identify()
            self.inner.open()
            self.sessions_opened = self.inner.sessions_opened

    def close(self) -> None:
        inner = self.inner
        if inner is not None:
            inner.close()

    def _mark(self, status: m.CodecStatus) -> m.CodecStatus:
        identity = self.identity or {}
        status.raw["_identified_as"] = identity.get("vendor")
        status.raw["_identified_by"] = identity.get("identified_by")
        status.raw["_identity_evidence"] = identity.get("evidence")
        return status

    def read_status(self) -> m.CodecStatus:
        if self.inner is None:
            self.open()
        assert self.inner is not None
        return self._mark(self.inner.read_status())

    def poll(self) -> m.CodecStatus:
        if self.inner is None:
            try:
                self.open()
            except BaseException:
                self.close()
                raise
        assert self.inner is not None
        status = self.inner.poll()
        self.sessions_opened = self.inner.sessions_opened
        return self._mark(status)

    @property
    def sent(self) -> list[str]:
        return self.inner.sent if self.inner else []


class _Attempts(Text):
    """'poly-gs: <why>; cisco: <why>', each driver's error in the reader's language."""

    def __init__(self, errors: list[tuple[str, BaseException]]) -> None:
        super().__init__("codec.auto.attempt")
        object.__setattr__(self, "params", {"items": [Text("codec.auto.attempt", vendor=vendor, error=shown(exc))
                                                      for vendor, exc in errors]})

    def render(self, lang: str) -> str:
        return "; ".join(t.render(lang) for t in self.params["items"])
