"""SNMP fall-back for any codec with an SNMP agent (Huawei TE/BOX, older Poly, Poly Studio X / G7500).

MIB-II ``system`` (sysDescr, sysObjectID, sysUpTime, sysName) and ``ipAddrTable`` on every device;
on Poly/Polycom (sysObjectID under 2684, or POLYCOM-ENDPOINT-MIB 13885.101 answering) also the
identity (software, model, serial), H.323 / SIP registration, microphone and camera status and the
active-conference count.  Enumerations of POLYCOM-ENDPOINT-MIB: 1 disabled, 2 ok, 3 failed.

Client: agent/snmp.py (pysnmp 7 asyncio, numeric OIDs, ``lookupMib=False``), one
:class:`~agent.snmp.SnmpSession` — so one SnmpEngine — kept between polls, on a private event loop in
a daemon thread (the driver is called from the probe's worker threads).  GET and GETNEXT are reads
by protocol; the allow-list further limits them to the ``system``/``ip`` groups and the Polycom
subtree, and SET is never built.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from agent.errors import ConfigError, ProtocolError
from agent.i18n import Text, register
from agent.vendors import model as m
from agent.vendors.base import AllowList, CodecDriver, Connection, NotExposed, Wire

SYS = "1.3.6.1.2.1.1"
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME = f"{SYS}.1.0", f"{SYS}.2.0", f"{SYS}.3.0", f"{SYS}.5.0"
IP_ADDR_TABLE = "1.3.6.1.2.1.4.20.1"
PLCM = "1.3.6.1.4.1.13885.101.1"
ID_SOFTWARE, ID_MODEL, ID_SERIAL = f"{PLCM}.1.1.0", f"{PLCM}.1.4.0", f"{PLCM}.1.5.0"
H323_STATUS, H323_REG = f"{PLCM}.2.7.1.0", f"{PLCM}.2.7.2.0"
SIP_STATUS, SIP_REG_TABLE = f"{PLCM}.2.8.1.0", f"{PLCM}.2.8.3.1"
MIC_STATUS, MIC_TABLE = f"{PLCM}.3.5.1.0", f"{PLCM}.3.5.2.1"
CAM_STATUS, CAM_TABLE = f"{PLCM}.3.6.1.0", f"{PLCM}.3.6.2.1"
NIC_TABLE = f"{PLCM}.3.10.2.1"
ACTIVE_CONFERENCES = f"{PLCM}.5.1.0"

SCALARS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, ID_SOFTWARE, ID_MODEL, ID_SERIAL, H323_STATUS, H323_REG,
           SIP_STATUS, MIC_STATUS, CAM_STATUS, ACTIVE_CONFERENCES)
TABLES = (SIP_REG_TABLE, MIC_TABLE, CAM_TABLE, NIC_TABLE, IP_ADDR_TABLE)

register(
    {
        "codec.snmp.no_object": ("không có {obj} ({why})", "no {obj} ({why})"),
        "codec.snmp.missing": ("không có {obj}", "no {obj}"),
        "codec.snmp.negative": ("{obj} = {value} là số âm, không phải TimeTicks", "{obj} = {value} is negative, not TimeTicks"),
        "codec.snmp.no_model": ("không có identityDeviceModel và sysDescr ({why})", "no identityDeviceModel and no sysDescr ({why})"),
        "codec.snmp.no_software": (
            "không có identitySoftwareInfo của POLYCOM-ENDPOINT-MIB ({why}); sysDescr: {descr}",
            "no POLYCOM-ENDPOINT-MIB identitySoftwareInfo ({why}); sysDescr: {descr}",
        ),
        "codec.snmp.no_ip": (
            "thiết bị không có địa chỉ nào trong ipAddrTable ngoài loopback",
            "the agent has no ipAddrTable entry besides loopback",
        ),
        "codec.snmp.no_ip_rows": (
            "thiết bị không trả về dòng nào của ipAddrTable (MIB-II)",
            "the agent returned no ipAddrTable (MIB-II) rows",
        ),
        "codec.snmp.no_software_mib": (
            "thiết bị không có POLYCOM-ENDPOINT-MIB, MIB-II không có phiên bản phần mềm; sysDescr: {descr}",
            "this agent has no POLYCOM-ENDPOINT-MIB and MIB-II has no software version; sysDescr: {descr}",
        ),
        "codec.snmp.no_video_mib": (
            "thiết bị không có POLYCOM-ENDPOINT-MIB, MIB-II không có camera hay định dạng hình ảnh",
            "this agent has no POLYCOM-ENDPOINT-MIB and MIB-II has no camera or video format",
        ),
        "codec.snmp.no_call_mib": (
            "thiết bị không có POLYCOM-ENDPOINT-MIB, MIB-II không có số cuộc gọi đang diễn ra",
            "this agent has no POLYCOM-ENDPOINT-MIB and MIB-II has no active-call count",
        ),
        "codec.snmp.no_nic_table": ("không có bảng NIC của POLYCOM-ENDPOINT-MIB", "no POLYCOM-ENDPOINT-MIB NIC table"),
        "codec.snmp.not_read": ("không đọc qua SNMP", "not read over SNMP"),
        "codec.snmp.no_standby": ("SNMP không báo trạng thái chờ (sleep)", "SNMP reports no sleep state"),
        "codec.snmp.no_registration_mib": (
            "thiết bị không có POLYCOM-ENDPOINT-MIB; chưa biết MIB riêng của hãng cho trạng thái đăng ký "
            "(Huawei TE: đề nghị Huawei/VNPT cung cấp TE MIB)",
            "this agent has no POLYCOM-ENDPOINT-MIB; its vendor MIB for registration is not known "
            "(Huawei TE: ask Huawei/VNPT for the TE MIB)",
        ),
        "codec.snmp.no_sip_rows": ("bảng serviceSipRegistrationStatus không có dòng nào", "no serviceSipRegistrationStatus rows"),
        "codec.snmp.not_in_mib": (
            "không có trong các đối tượng trạng thái của POLYCOM-ENDPOINT-MIB",
            "not in POLYCOM-ENDPOINT-MIB's status objects",
        ),
        "codec.snmp.not_reported": ("không được báo", "not reported"),
        "codec.snmp.no_call_count": (
            "SNMP không báo số cuộc gọi đang diễn ra ({why})",
            "no active-conference count over SNMP ({why})",
        ),
        "codec.snmp.call_details": (
            "thiết bị đầu cuối báo {active} cuộc gọi đang diễn ra, nhưng SNMP không cho chi tiết cuộc gọi",
            "the codec reports {active} active conference(s), but SNMP gives no call details",
        ),
        "codec.snmp.no_call_rate": ("SNMP không báo cài đặt băng thông kết nối", "SNMP reports no call rate setting"),
        "codec.snmp.no_signal": (
            "không có tín hiệu hình ảnh: thiết bị đầu cuối báo camera bị lỗi (POLYCOM-ENDPOINT-MIB hardwareCameraStatus)",
            "no signal: the codec reports its camera as failed (POLYCOM-ENDPOINT-MIB hardwareCameraStatus)",
        ),
        "codec.snmp.no_format": (
            "trạng thái camera là {state}; SNMP không báo định dạng hình ảnh",
            "the camera status is {state}; SNMP does not report the video format",
        ),
        "codec.snmp.no_camera_status": ("SNMP không báo trạng thái camera ({why})", "no camera status over SNMP ({why})"),
        "codec.snmp.no_camera_table": ("không có bảng camera", "no camera table"),
        "codec.snmp.not_over_snmp": ("SNMP không báo giá trị này", "not reported over SNMP"),
        "codec.snmp.no_screens": ("SNMP không báo trạng thái màn hình", "SNMP does not report the screens"),
        "codec.snmp.no_mic_objects": (
            "thiết bị không có các đối tượng micro của POLYCOM-ENDPOINT-MIB",
            "this agent has no POLYCOM-ENDPOINT-MIB microphone objects",
        ),
        "codec.snmp.mic_overall": (
            "chỉ có trạng thái chung của micro ({state})",
            "only the overall microphone status ({state})",
        ),
        "codec.snmp.no_mic_table": ("không có bảng micro", "no microphone table"),
        "codec.snmp.no_mic_status": ("không có trạng thái của micro này", "no status for this microphone"),
        "codec.snmp.no_presets": ("SNMP không báo danh sách preset camera", "SNMP does not report camera presets"),
        "codec.snmp.no_identity": (
            "thiết bị SNMP có trả lời nhưng không có sysDescr lẫn sysObjectID",
            "the SNMP agent answered but gave neither sysDescr nor sysObjectID",
        ),
        "codec.snmp.no_answer": ("không có trả lời SNMP trong {seconds} giây", "no SNMP answer within {seconds} s"),
    }
)

_OID = r"(?:\.[0-9]{1,10}){0,12}"
ALLOWED = AllowList(
    "snmp",
    r"GET(?: 1\.3\.6\.1\.(?:2\.1\.1|2\.1\.4\.20|4\.1\.13885\.101)" + _OID + r"){1,32}",
    r"WALK 1\.3\.6\.1\.(?:2\.1\.4\.20\.1|4\.1\.13885\.101\.1)" + _OID,
)

ENTERPRISES = {"2684": "poly", "13885": "poly", "2011": "huawei", "5596": "cisco", "903": "avaya"}
_ENUM = {1: "disabled", 2: "ok", 3: "failed"}
_REG = {1: m.INACTIVE, 2: m.REGISTERED, 3: m.FAILED}


def vendor_of(sys_object_id: str | None) -> str | None:
    """Enterprise number of sysObjectID → vendor word (codecs.md §0/§8)."""
    if not sys_object_id:
        return None
    parts = sys_object_id.strip(".").split(".")
    if parts[:6] == ["1", "3", "6", "1", "4", "1"] and len(parts) > 6:
        return ENTERPRISES.get(parts[6], f"enterprise {parts[6]}")
    return None


class SnmpDriver(CodecDriver):
    name = "snmp"
    vendor = "snmp"
    ALLOWED = ALLOWED
    transports = ("snmp",)

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        if connection.snmp_version not in ("1", "2c"):
            raise ConfigError("the codec SNMP fall-back speaks SNMP v1/v2c (set [codec.snmp] version = \"2c\")",
                              key="codec.snmp.version")
        if connection.snmp_community is None:
            raise ConfigError("SNMP needs community_file (or the systemd credential 'codec-snmp-community')",
                              key="codec.snmp.community_file")
        self._values: dict[str, Any] = {}
        self._tables: dict[str, list[tuple[str, Any]]] = {}
        self._runner: _LoopRunner | None = None
        self._session: Any = None

    # -- the session: one SnmpEngine between polls ----------------------------------------------
    def _open_wire(self) -> Wire:
        from agent.snmp import SnmpCredentials, SnmpSession

        if self._runner is None:
            self._runner = _LoopRunner()
        if self._session is None:
            creds = SnmpCredentials(version=self.connection.snmp_version, community=self.connection.snmp_community)
            self._session = SnmpSession(self.connection.host, self.connection.port, creds,
                                        timeout=min(self.connection.timeout, 2.0), retries=1)
        return _SnmpWire(self._session, self._runner, self.connection.timeout)

    def close(self) -> None:
        """End the session and its engine (the probe's close, or a failed poll: the next poll starts clean)."""
        super().close()
        session, self._session = self._session, None
        runner, self._runner = self._runner, None
        if runner is not None:
            if session is not None:
                runner.run_nowait(session.aclose())
            runner.stop()

    # -- reads --------------------------------------------------------------------------------------
    def _begin_poll(self) -> None:
        self._values, self._tables = {}, {}
        self._values = self.send("GET " + " ".join(SCALARS))
        if self._is_poly() or self._scalar_text(ID_SOFTWARE)[0]:
            for table in TABLES:
                self._tables[table] = self.send(f"WALK {table}")
        else:
            self._tables[IP_ADDR_TABLE] = self.send(f"WALK {IP_ADDR_TABLE}")
        if self._scalar_text(SYS_DESCR)[0] is None and self._scalar_oid(SYS_OBJECT_ID)[0] is None:
            error = ProtocolError("the SNMP agent answered but gave neither sysDescr nor sysObjectID")
            error.text = Text("codec.snmp.no_identity")
            raise error

    def _end_poll(self) -> None:
        pass

    def raw(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for oid, value in self._values.items():
            if type(value).__name__ not in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
                out[oid] = _plain(value)
        for rows in self._tables.values():
            for oid, value in rows:
                out[oid] = _plain(value)
        return out

    def _scalar_text(self, oid: str) -> tuple[str | None, Text | None]:
        from agent.snmp import to_text

        return to_text(self._values.get(oid))

    def _scalar_oid(self, oid: str) -> tuple[str | None, Text | None]:
        from agent.snmp import to_oid

        return to_oid(self._values.get(oid))

    def _scalar_int(self, oid: str) -> tuple[int | None, Text | None]:
        from agent.snmp import to_int

        return to_int(self._values.get(oid), sentinels=())

    def _rows(self, table: str, column: int) -> dict[str, Any]:
        prefix = f"{table}.{column}."
        return {oid[len(prefix):]: value for oid, value in self._tables.get(table, []) if oid.startswith(prefix)}

    def _is_poly(self) -> bool:
        return vendor_of(self._scalar_oid(SYS_OBJECT_ID)[0]) == "poly" or self._scalar_text(ID_MODEL)[0] is not None

    # -- getters ------------------------------------------------------------------------------------
    def get_facts(self) -> m.Facts:
        descr, why_descr = self._scalar_text(SYS_DESCR)
        object_id, _ = self._scalar_oid(SYS_OBJECT_ID)
        model, why_model = self._scalar_text(ID_MODEL)
        software, why_sw = self._scalar_text(ID_SOFTWARE)
        serial, why_serial = self._scalar_text(ID_SERIAL)
        ticks, why_up = self._scalar_int(SYS_UPTIME)
        if ticks is not None and ticks < 0:  # TimeTicks are unsigned: a negative number is the wrong type
            ticks, why_up = None, Text("codec.snmp.negative", obj="sysUpTime", value=ticks)
        name, why_name = self._scalar_text(SYS_NAME)
        vendor = vendor_of(object_id) or "unknown"
        facts = m.Facts(vendor=vendor, model=model or descr, software_version=software, serial=serial,
                        uptime_s=ticks // 100 if ticks is not None else None, name=name)
        if facts.model is None:
            self.not_exposed("facts.model", Text("codec.snmp.no_model", why=why_descr))
        if software is None:
            # No vendor MIB: MIB-II has no version object (an API limit); a Poly agent that does not answer
            # identitySoftwareInfo of its own MIB was not read this time.
            self.not_exposed("facts.software_version",
                             Text("codec.snmp.no_software", why=why_sw, descr=descr or "-") if self._is_poly()
                             else Text("codec.snmp.no_software_mib", descr=descr or "-"))
        if serial is None:
            self.not_exposed("facts.serial", Text("codec.snmp.no_object", obj="identityDeviceSerialNumber", why=why_serial))
        if facts.uptime_s is None:
            self.not_exposed("facts.uptime_s", Text("codec.snmp.no_object", obj="sysUpTime", why=why_up))
        if name is None:
            self.not_exposed("facts.name", Text("codec.snmp.no_object", obj="sysName", why=why_name))
        return facts

    def get_network(self) -> m.NetworkInfo:
        from agent.snmp import to_text

        info = m.NetworkInfo()
        # The row index IS ipAdEntAddr (RFC 1213: INDEX { ipAdEntAddr }), so any column gives the address:
        # the real X50 walk has only ipAdEntIfIndex (.2) and ipAdEntNetMask (.3) rows, no .1 column.
        prefix = IP_ADDR_TABLE + "."
        indexes = [oid[len(prefix):].partition(".")[2] for oid, _ in self._tables.get(IP_ADDR_TABLE, [])
                   if oid.startswith(prefix)]
        addresses = [i for i in dict.fromkeys(indexes) if re.fullmatch(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}", i)]
        masks = self._rows(IP_ADDR_TABLE, 3)
        for index in addresses:
            if not index.startswith("127."):
                info.ip = index
                mask = masks.get(index)
                info.netmask = str(mask.prettyPrint()) if mask is not None and hasattr(mask, "prettyPrint") else None
                break
        for mac_value in self._rows(NIC_TABLE, 3).values():
            text, _ = to_text(mac_value)
            if text:
                info.mac = text.upper()
                break
        if info.ip is None:
            # Not an API limit: ipAddrTable is MIB-II, which this agent implements (it answered sysDescr); an
            # agent without rows was not read (or recorded) in full: an error, never a by-hand skip.
            self.not_exposed("network.ip", Text("codec.snmp.no_ip") if addresses else Text("codec.snmp.no_ip_rows"))
        if info.netmask is None:
            self.not_exposed("network.netmask", Text("codec.snmp.missing", obj="ipAdEntNetMask"))
        if info.mac is None:
            self.not_exposed("network.mac", Text("codec.snmp.no_nic_table"))
        self.not_exposed("network.gateway", Text("codec.snmp.not_read"))
        return info

    def get_standby(self) -> m.StandbyInfo:
        raise NotExposed(Text("codec.snmp.no_standby"))

    def get_registration(self) -> m.Registration:
        if not self._is_poly():
            raise NotExposed(Text("codec.snmp.no_registration_mib"))
        reg = m.Registration()
        h323_service, _ = self._scalar_int(H323_STATUS)
        h323, why = self._scalar_int(H323_REG)
        reg.h323.raw = _ENUM.get(h323, str(h323)) if h323 is not None else None
        reg.h323.status = _REG.get(h323) if h323 is not None else None
        if h323_service == 1:
            reg.h323.status, reg.h323.raw = m.INACTIVE, "service disabled"
        if reg.h323.status is None:
            self.not_exposed("registration.h323.status", Text("codec.snmp.no_object", obj="serviceH323RegistrationStatus", why=why))
        sip_service, _ = self._scalar_int(SIP_STATUS)
        rows = self._rows(SIP_REG_TABLE, 2)
        from agent.snmp import to_int

        sip_values = [to_int(v, sentinels=())[0] for v in rows.values()]
        sip_values = [v for v in sip_values if v is not None]
        if sip_values:
            best = 2 if 2 in sip_values else sip_values[0]
            reg.sip.raw, reg.sip.status = _ENUM.get(best, str(best)), _REG.get(best)
        if sip_service == 1:
            reg.sip.status, reg.sip.raw = m.INACTIVE, "service disabled"
        if reg.sip.status is None:
            self.not_exposed("registration.sip.status", Text("codec.snmp.no_sip_rows"))
        for proto in ("h323", "sip"):
            for name in ("server", "configured_server", "reason"):
                self.not_exposed(f"registration.{proto}.{name}", Text("codec.snmp.not_in_mib"))
            if getattr(reg, proto).raw is None:
                self.not_exposed(f"registration.{proto}.raw", Text("codec.snmp.not_reported"))
        return reg

    def get_calls(self) -> list[m.Call]:
        active, why = self._scalar_int(ACTIVE_CONFERENCES)
        if active is None:
            # A Poly agent without activeConferences (an object of its own MIB) was not read this time;
            # MIB-II alone has no call count at all (an API limit: by hand).
            raise NotExposed(Text("codec.snmp.no_call_count", why=why) if self._is_poly() else Text("codec.snmp.no_call_mib"))
        if active > 0:
            raise NotExposed(Text("codec.snmp.call_details", active=active))
        return []

    def get_call_rate(self) -> m.CallRate:
        raise NotExposed(Text("codec.snmp.no_call_rate"))

    def get_video(self) -> m.Video:
        from agent.snmp import to_text

        video = m.Video()
        names = {idx: to_text(v)[0] for idx, v in self._rows(CAM_TABLE, 2).items()}
        video.main_source = next((n for n in names.values() if n), None)
        camera, why = self._scalar_int(CAM_STATUS)
        if camera == 3:
            self.not_exposed("video.main_source_format", Text("codec.snmp.no_signal"))
        elif camera is not None:
            self.not_exposed("video.main_source_format", Text("codec.snmp.no_format", state=_ENUM.get(camera, camera)))
        elif self._is_poly():  # hardwareCameraStatus of its own MIB not answered: a camera failure is possible
            self.not_exposed("video.main_source_format", Text("codec.snmp.no_camera_status", why=why))
        else:
            self.not_exposed("video.main_source_format", Text("codec.snmp.no_video_mib"))
        if video.main_source is None:
            self.not_exposed("video.main_source", Text("codec.snmp.no_camera_table"))
        for path in ("monitors_configured", "presentation_source", "layout"):
            self.not_exposed(f"video.{path}", Text("codec.snmp.not_over_snmp"))
        self.not_exposed("video.monitors", Text("codec.snmp.no_screens"))
        return video

    def get_audio(self) -> m.Audio:
        from agent.snmp import to_int, to_text

        if not self._is_poly():
            raise NotExposed(Text("codec.snmp.no_mic_objects"))
        audio = m.Audio()
        names = self._rows(MIC_TABLE, 2)
        states = self._rows(MIC_TABLE, 3)
        for index in sorted(set(names) | set(states), key=lambda s: [int(p) for p in s.split(".") if p.isdigit()]):
            state = to_int(states.get(index), sentinels=())[0]
            name = to_text(names.get(index))[0]
            # The mic's name is its id in paths such as audio.mics[<id>].connected: a name with a bracket would
            # break the path (the report schema refuses it), so the row index stands in (found by the fuzz).
            usable = name and not any(c in name for c in "[]")
            audio.mics.append(m.Mic(id=name if usable else index, connected=None if state is None else state == 2))
        overall, why = self._scalar_int(MIC_STATUS)
        if audio.mics:
            audio.mics_total = len(audio.mics)
            audio.mics_connected = sum(1 for mic in audio.mics if mic.connected)
        elif overall is not None:
            # Only the overall state: "ok" means the microphones work, at least one of them.
            audio.mics_connected = 1 if overall == 2 else 0
            self.not_exposed("audio.mics_total", Text("codec.snmp.mic_overall", state=_ENUM.get(overall, overall)))
        else:
            self.not_exposed("audio.mics_connected", Text("codec.snmp.no_object", obj="hardwareMicrophoneStatus", why=why))
            self.not_exposed("audio.mics_total", Text("codec.snmp.no_mic_table"))
        for mic in audio.mics:
            self.not_exposed(f"audio.mics[{mic.id}].echo_control", Text("codec.snmp.not_over_snmp"))
            if mic.connected is None:
                self.not_exposed(f"audio.mics[{mic.id}].connected", Text("codec.snmp.no_mic_status"))
        for path in ("muted", "volume", "volume_muted"):
            self.not_exposed(f"audio.{path}", Text("codec.snmp.not_over_snmp"))
        self.not_exposed("audio.echo_control", Text("codec.snmp.not_over_snmp"))
        return audio

    def get_presets(self) -> list[m.Preset]:
        raise NotExposed(Text("codec.snmp.no_presets"))


def _plain(value: Any) -> Any:
    name = type(value).__name__
    if name in ("ObjectIdentifier", "ObjectName"):
        return ".".join(str(int(x)) for x in value.asTuple())
    if hasattr(value, "asOctets") and name not in ("IpAddress",):
        from agent.snmp import to_text

        return to_text(value)[0]
    if hasattr(value, "prettyPrint"):
        return value.prettyPrint()
    return str(value)


class _LoopRunner:
    """A private asyncio loop in a daemon thread: the SnmpEngine lives on it between polls."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="codec-snmp-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            from agent.snmp import SnmpTimeout

            error = SnmpTimeout(f"no SNMP answer within {timeout:g} s")
            error.text = Text("codec.snmp.no_answer", seconds=timeout)
            raise error from None

    def run_nowait(self, coro: Any) -> None:
        try:
            asyncio.run_coroutine_threadsafe(coro, self.loop).result(2)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class _SnmpWire:
    """``GET oid oid ...`` → {oid: value}; ``WALK oid`` → [(oid, value)], each under a deadline."""

    def __init__(self, session: Any, runner: _LoopRunner, timeout: float) -> None:
        self.session, self.runner, self.timeout = session, runner, timeout

    def exchange(self, command: str) -> Any:
        import time

        verb, *oids = command.split()
        deadline = time.monotonic() + self.timeout * 2
        if verb == "GET":
            return self.runner.run(self.session.get(oids, deadline), self.timeout * 2 + 0.5)
        return self.runner.run(self.session.walk(oids[0], deadline), self.timeout * 2 + 0.5)

    def close(self) -> None:
        pass  # the engine stays for the next poll; the driver's close() ends it
