"""``vendor = "auto"``: identify the codec once, remember it, then use that vendor's driver.

Identification uses only what the connection itself reveals (codecs.md §0.3), over the configured
transport, and sends no command:

- ``snmp``: sysObjectID (enterprise 2684/13885 Poly, 2011 Huawei, 5596 Cisco) → the ``snmp`` driver;
- ``ssh``: log in (host key pinned first) and read the banner: ``Hi, my name is`` → ``poly-gs``,
  ``Cisco Codec Release`` / the TSH ``OK`` → ``cisco``;
- ``telnet``: ``Password:`` then the ``Hi, my name is`` greeting → ``poly-gs``;
- ``https``/``http``: the VideoOS session login answers → ``poly-rest``; otherwise ``cisco`` (XMLAPI).

The first driver whose session opens is kept (its session is reused for the poll) and the result is
written to ``<state_dir>/codec-identity.json`` ({host, port, transport, vendor, evidence}); later runs
read it and go straight to that driver.  Delete the file (or change host/port) to identify again.
"""

from __future__ import annotations

import json
import os
from typing import Any

from agent.errors import DeviceAuthError, HostKeyMismatch, ProtocolError, shown
from agent.i18n import Text, register
from agent.vendors import get_driver_class
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, HostKeyUnknown, localized

register(
    {
        "codec.auto.unidentified": (
            "không nhận ra loại thiết bị đầu cuối qua {transport}: {attempts}. Đặt [codec] vendor đúng loại thiết bị "
            "(cisco, poly-gs, poly-rest hoặc snmp)",
            "could not identify the codec on {transport}: {attempts}",
        ),
        "codec.auto.attempt": ("{vendor}: {error}", "{vendor}: {error}"),
    }
)

IDENTITY_FILE = "codec-identity.json"
CANDIDATES = {"ssh": ("poly-gs", "cisco"), "telnet": ("poly-gs",), "https": ("poly-rest", "cisco"),
              "http": ("poly-rest", "cisco"), "snmp": ("snmp",)}


class AutoDriver(CodecDriver):
    name = "auto"
    vendor = "auto"
    ALLOWED = AllowList("auto")  # sends nothing itself: the chosen driver has its own allow-list
    transports = ("ssh", "https", "telnet", "http", "snmp")

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.inner: CodecDriver | None = None
        self.identity: dict[str, Any] | None = self._load()
        self.evidence: str = ""

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
                and data.get("transport") == c.transport and data.get("vendor") in sum(CANDIDATES.values(), ())):
            return data
        return None

    def _save(self, vendor: str, evidence: str) -> None:
        c = self.connection
        data = {"host": c.host, "port": c.port, "transport": c.transport, "vendor": vendor, "evidence": evidence}
        try:
            c.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(IDENTITY_FILE + ".tmp")
            tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # identification is repeated next time; not worth failing the poll
        self.identity = data

    @property
    def is_open(self) -> bool:
        return self.inner is not None and self.inner.is_open

    def _identify(self) -> CodecDriver:
        if self.identity is not None:
            return get_driver_class(self.identity["vendor"])(self.connection)
        if self.connection.transport == "snmp":
            return self._identify_snmp()
        errors: list[tuple[str, BaseException]] = []
        for vendor in CANDIDATES[self.connection.transport]:
            driver = get_driver_class(vendor)(self.connection)
            if hasattr(driver, "command_gap"):
                driver.command_gap = getattr(self, "command_gap", driver.command_gap)
            try:
                driver.open()
            except (DeviceAuthError, HostKeyMismatch, HostKeyUnknown):
                raise  # the right port, the wrong credentials or key: no other vendor would do better
            except ProtocolError as exc:
                errors.append((vendor, exc))
                continue
            self._save(vendor, f"{self.connection.transport} session of the {vendor} driver opened")
            return driver
        transport = self.connection.transport
        raise localized(ProtocolError(f"could not identify the codec on {transport}: "
                                      + "; ".join(f"{vendor}: {exc}" for vendor, exc in errors)),
                        "codec.auto.unidentified", transport=transport, attempts=_Attempts(errors))

    def _identify_snmp(self) -> CodecDriver:
        from agent.vendors.snmp import SYS_OBJECT_ID, SnmpDriver, vendor_of

        driver = SnmpDriver(self.connection)
        driver.open()
        values = driver.send(f"GET {SYS_OBJECT_ID}")
        from agent.snmp import to_oid

        from agent.i18n import render

        oid, why = to_oid(values.get(SYS_OBJECT_ID))
        self._save("snmp", f"sysObjectID {oid} ({vendor_of(oid) or render(why, 'en')})")  # a note in the state file
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

    def read_status(self) -> m.CodecStatus:
        if self.inner is None:
            self.open()
        assert self.inner is not None
        status = self.inner.read_status()
        status.raw["_identified_as"] = (self.identity or {}).get("vendor")
        return status

    def poll(self) -> m.CodecStatus:
        if self.inner is None:
            try:
                self.open()
            except BaseException:
                self.close()
                raise
        assert self.inner is not None
        status = self.inner.poll()
        status.raw["_identified_as"] = (self.identity or {}).get("vendor")
        self.sessions_opened = self.inner.sessions_opened
        return status

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
