"""Drift checks: what changed since the rehearsal baseline (Điều 5 khoản 2.2: equipment "not changed since
the rehearsal"; Điều 7 khoản 5: no configuration change outside VNPT's guidance).

Ids: ``drift.<setting>`` for each setting that changed, appeared, disappeared or could not be compared
(``drift.codec.call_rate``, ``drift.codec.preset.4``, ``drift.power.model``...), and one ``drift.baseline``
line when nothing changed (pass) or there is no baseline to compare with (skip).

The rule (docs/baseline.md):

- a setting whose value differs from the baseline is ``warn``; it is ``fail`` when ``[baseline] strict``
  is true or when the caller says the meeting window is open (the service, before an official meeting);
- an item of a readable list (a camera preset, a screen, a microphone) that is new or gone counts as a change;
- a value unreadable now, or unreadable at the rehearsal, is *not* a change: ``skip``, "could not compare";
- areas that did not run this time are not compared at all (the ``drift.baseline`` line names them).

Pure functions of two :class:`Snapshot` records; reading and writing the baseline file is agent/baseline.py.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

import agent.checks.network  # noqa: F401 - registers net.target.* (the plain names of the gateway and the MCU)
from agent.i18n import Text, register
from agent.model import CheckResult, Status

# Areas that hold settings, in report order.
AREAS = ("network", "codec", "power")


@dataclass
class Snapshot:
    """The settings that matter, flat: ``{"codec.call_rate": 6000, "codec.preset.1": "Chủ tọa", ...}``.

    ``areas``: the areas that were read (only those are compared).  ``unreadable``: key prefixes of
    lists the device did not give (``"codec.preset."``): their items missing now are not "removed".
    A value ``None`` means the device did not give that value.
    """

    areas: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


# Lists whose items are settings of their own: an item missing from a readable list was removed.
COLLECTIONS = ("codec.monitor.", "codec.mic.", "codec.echo_control.", "codec.preset.", "network.target.")

# kinds of remedy (and the clause each cites)
SETTING, EQUIPMENT, NETWORK = "setting", "equipment", "network"
CLAUSE = {SETTING: "7.5", EQUIPMENT: "5.2.2", NETWORK: "5.2.2"}


@dataclass(frozen=True)
class Spec:
    pattern: str  # regex over the setting key; named groups become parameters of the name
    name: str  # catalogue key of the setting's plain name
    kind: str = "text"  # how values are shown: text | kbps | onoff | connected | monitor | registration
    remedy: str = SETTING


SPECS: tuple[Spec, ...] = (
    Spec(r"codec\.model", "drift.name.codec.model", remedy=EQUIPMENT),
    Spec(r"codec\.serial", "drift.name.codec.serial", remedy=EQUIPMENT),
    Spec(r"codec\.software_version", "drift.name.codec.software_version"),
    Spec(r"codec\.system_name", "drift.name.codec.system_name"),
    Spec(r"codec\.ip", "drift.name.codec.ip"),
    Spec(r"codec\.netmask", "drift.name.codec.netmask"),
    Spec(r"codec\.gateway", "drift.name.codec.gateway"),
    Spec(r"codec\.call_rate", "drift.name.codec.call_rate", "kbps"),
    Spec(r"codec\.call_rate_max_tx", "drift.name.codec.call_rate_max_tx", "kbps"),
    Spec(r"codec\.call_rate_max_rx", "drift.name.codec.call_rate_max_rx", "kbps"),
    Spec(r"codec\.video_format", "drift.name.codec.video_format"),
    Spec(r"codec\.display_mode", "drift.name.codec.display_mode"),
    Spec(r"codec\.main_source", "drift.name.codec.main_source"),
    Spec(r"codec\.presentation_source", "drift.name.codec.presentation_source"),
    Spec(r"codec\.layout", "drift.name.codec.layout"),
    Spec(r"codec\.monitor\.(?P<id>[^.]+)", "drift.name.codec.monitor", "monitor", EQUIPMENT),
    Spec(r"codec\.mic\.(?P<id>[^.]+)", "drift.name.codec.mic", "connected", EQUIPMENT),
    Spec(r"codec\.mics_total", "drift.name.codec.mics_total", remedy=EQUIPMENT),
    Spec(r"codec\.volume", "drift.name.codec.volume"),
    Spec(r"codec\.echo_control\.(?P<id>[^.]+)", "drift.name.codec.echo_control", "onoff"),
    Spec(r"codec\.preset\.(?P<id>[^.]+)", "drift.name.codec.preset"),
    Spec(r"codec\.registration", "drift.name.codec.registration", "registration"),
    Spec(r"codec\.h323\.gatekeeper", "drift.name.codec.gatekeeper"),
    Spec(r"codec\.sip\.registrar", "drift.name.codec.registrar"),
    Spec(r"power\.driver", "drift.name.power.driver", remedy=EQUIPMENT),
    Spec(r"power\.protocol", "drift.name.power.protocol", remedy=EQUIPMENT),
    Spec(r"power\.model", "drift.name.power.model", remedy=EQUIPMENT),
    Spec(r"power\.manufacturer", "drift.name.power.manufacturer", remedy=EQUIPMENT),
    Spec(r"power\.firmware", "drift.name.power.firmware", remedy=EQUIPMENT),
    Spec(r"power\.ups_type", "drift.name.power.ups_type", remedy=EQUIPMENT),
    Spec(r"power\.attached_devices", "drift.name.power.attached_devices", remedy=EQUIPMENT),
    Spec(r"network\.interface", "drift.name.network.interface", remedy=NETWORK),
    Spec(r"network\.ipv4", "drift.name.network.ipv4", remedy=NETWORK),
    Spec(r"network\.netmask", "drift.name.network.netmask", remedy=NETWORK),
    Spec(r"network\.default_gateway", "drift.name.network.default_gateway", remedy=NETWORK),
    Spec(r"network\.target\.(?P<target>[^.]+)\.address", "drift.name.network.target", remedy=NETWORK),
)
_COMPILED = [(re.compile(spec.pattern), spec) for spec in SPECS]

register(
    {
        # -- plain names of the settings (glossary terms) -----------------------------------------
        "drift.name.codec.model": ("kiểu thiết bị đầu cuối (VCS)", "the codec model"),
        "drift.name.codec.serial": ("số sê-ri của thiết bị đầu cuối", "the codec serial number"),
        "drift.name.codec.software_version": ("phiên bản phần mềm của thiết bị đầu cuối",
                                              "the codec software version"),
        "drift.name.codec.system_name": ("tên hệ thống đặt trên thiết bị đầu cuối", "the codec system name"),
        "drift.name.codec.ip": ("địa chỉ IP của thiết bị đầu cuối", "the codec IP address"),
        "drift.name.codec.netmask": ("mặt nạ mạng của thiết bị đầu cuối", "the codec netmask"),
        "drift.name.codec.gateway": ("thiết bị cổng kết nối (gateway) khai báo trên thiết bị đầu cuối",
                                     "the gateway set on the codec"),
        "drift.name.codec.call_rate": ("băng thông kết nối", "the call bandwidth"),
        "drift.name.codec.call_rate_max_tx": ("băng thông kết nối tối đa chiều gửi",
                                              "the maximum transmit call bandwidth"),
        "drift.name.codec.call_rate_max_rx": ("băng thông kết nối tối đa chiều nhận",
                                              "the maximum receive call bandwidth"),
        "drift.name.codec.video_format": ("định dạng hình ảnh của nguồn hình ảnh chính",
                                          "the video format of the main video source"),
        "drift.name.codec.display_mode": ("chế độ hiển thị hình ảnh", "the display mode"),
        "drift.name.codec.main_source": ("nguồn hình ảnh chính", "the main video source"),
        "drift.name.codec.presentation_source": ("nguồn trình chiếu dữ liệu mặc định",
                                                 "the default presentation source"),
        "drift.name.codec.layout": ("bố cục hiển thị (layout)", "the layout"),
        "drift.name.codec.monitor": ("màn hình {id}", "screen {id}"),
        "drift.name.codec.mic": ("micro {id}", "microphone {id}"),
        "drift.name.codec.mics_total": ("số cổng micro của thiết bị đầu cuối",
                                        "the number of codec microphone inputs"),
        "drift.name.codec.volume": ("âm lượng loa của thiết bị đầu cuối", "the codec loudspeaker volume"),
        "drift.name.codec.echo_control": ("chế độ triệt vọng của micro {id}", "echo cancellation of microphone {id}"),
        "drift.name.codec.preset": ("vị trí quay camera (preset) số {id}", "camera preset {id}"),
        "drift.name.codec.registration": ("kiểu đăng ký với MCU (H.323/SIP)",
                                          "the MCU registration type (H.323/SIP)"),
        "drift.name.codec.gatekeeper": ("địa chỉ gatekeeper H.323", "the H.323 gatekeeper address"),
        "drift.name.codec.registrar": ("địa chỉ SIP registrar", "the SIP registrar address"),
        "drift.name.power.driver": ("cách agent đọc bộ lưu điện (UPS)", "how the agent reads the UPS"),
        "drift.name.power.protocol": ("giao thức của bộ lưu điện (UPS)", "the UPS protocol"),
        "drift.name.power.model": ("kiểu bộ lưu điện (UPS)", "the UPS model"),
        "drift.name.power.manufacturer": ("hãng sản xuất bộ lưu điện (UPS)", "the UPS manufacturer"),
        "drift.name.power.firmware": ("phần mềm (firmware) của bộ lưu điện (UPS)", "the UPS firmware"),
        "drift.name.power.ups_type": ("loại bộ lưu điện (UPS)", "the UPS type"),
        "drift.name.power.attached_devices": ("danh sách thiết bị cắm vào bộ lưu điện (khai báo trên UPS)",
                                              "the devices listed as attached to the UPS"),
        "drift.name.network.interface": ("cổng mạng của máy agent", "the agent PC's network interface"),
        "drift.name.network.ipv4": ("địa chỉ IP của máy agent", "the agent PC's IP address"),
        "drift.name.network.netmask": ("mặt nạ mạng của máy agent", "the agent PC's netmask"),
        "drift.name.network.default_gateway": ("thiết bị cổng kết nối (default gateway) của máy agent",
                                               "the agent PC's default gateway"),
        "drift.name.network.target": ("địa chỉ của {target}", "the address of {target}"),
        "drift.name.other": ("thông số {key}", "setting {key}"),
        # -- values ------------------------------------------------------------------------------
        "drift.value.kbps": ("{value} kbps", "{value} kbps"),
        "drift.value.on": ("bật", "on"),
        "drift.value.off": ("tắt", "off"),
        "drift.value.connected": ("đã kết nối", "connected"),
        "drift.value.disconnected": ("không kết nối", "not connected"),
        "drift.value.none": ("không có", "none"),
        "drift.value.monitor": ("{device}, {resolution}, vai trò {role}", "{device}, {resolution}, role {role}"),
        # -- results -----------------------------------------------------------------------------
        "drift.changed": (
            "{name} đã thay đổi từ {old} (phiên tổng duyệt {when}) thành {new}",
            "{name} changed from {old} (rehearsal of {when}) to {new}",
        ),
        "drift.added": (
            "{name} mới xuất hiện: {new} (không có ở phiên tổng duyệt {when})",
            "{name} is new: {new} (not there at the rehearsal of {when})",
        ),
        "drift.removed": (
            "{name} ({old} ở phiên tổng duyệt {when}) không còn nữa",
            "{name} ({old} at the rehearsal of {when}) is gone",
        ),
        "drift.unreadable_now": (
            "Không so sánh được {name}: lần kiểm tra này thiết bị không cung cấp giá trị (phiên tổng duyệt {when}: {old})",
            "Could not compare {name}: the device did not give it this time (rehearsal of {when}: {old})",
        ),
        "drift.unreadable_then": (
            "Không so sánh được {name}: phiên tổng duyệt {when} không đọc được giá trị (hiện tại: {new})",
            "Could not compare {name}: it was not readable at the rehearsal of {when} (now: {new})",
        ),
        "drift.remedy.setting": (
            "Đặt lại {name} về {old} như lúc phiên tổng duyệt: không tự ý thay đổi tham số cấu hình ngoài hướng dẫn "
            "của VNPT. Nếu VNPT đã hướng dẫn thay đổi này, kiểm tra lại rồi chạy `hntht-agent baseline save` để lưu "
            "mốc mới.",
            "Set {name} back to {old} as at the rehearsal: configuration is not changed outside VNPT's guidance. If "
            "VNPT asked for this change, check again and run `hntht-agent baseline save` to store a new baseline.",
        ),
        "drift.remedy.equipment": (
            "Thiết bị đã khác lúc phiên tổng duyệt: kiểm tra xem có ai thay, tháo hoặc cắm lại thiết bị và đưa về "
            "như lúc phiên tổng duyệt. Nếu việc thay thế đã được VNPT hoặc Sở TTTT đồng ý, kiểm tra lại rồi chạy "
            "`hntht-agent baseline save`.",
            "The equipment differs from the rehearsal: check whether someone replaced, unplugged or re-plugged it "
            "and put it back as at the rehearsal. If VNPT or the Department approved the replacement, check again "
            "and run `hntht-agent baseline save`.",
        ),
        "drift.remedy.network": (
            "Mạng của phòng họp đã khác lúc phiên tổng duyệt: kiểm tra cáp mạng và cấu hình địa chỉ IP theo hướng "
            "dẫn của VNPT (mạng truyền số liệu chuyên dùng). Nếu thay đổi theo hướng dẫn, kiểm tra lại rồi chạy "
            "`hntht-agent baseline save`.",
            "The room's network differs from the rehearsal: check the cables and the IP configuration against "
            "VNPT's instructions (dedicated data network). If the change was instructed, check again and run "
            "`hntht-agent baseline save`.",
        ),
        "drift.baseline.ok": (
            "Không có thay đổi so với phiên tổng duyệt {when}: đã so sánh {count} thông số ({areas}){partial}",
            "No change since the rehearsal of {when}: {count} settings compared ({areas}){partial}",
        ),
        "drift.baseline.partial": ("; không so sánh được: {areas}", "; not compared: {areas}"),
        "drift.baseline.none": (
            "Chưa có mốc cấu hình của phiên tổng duyệt, nên chưa phát hiện được thay đổi: sau khi phiên tổng duyệt "
            "thành công, chạy `hntht-agent baseline save`",
            "No rehearsal baseline yet, so changes cannot be detected: after a successful rehearsal, run "
            "`hntht-agent baseline save`",
        ),
        "drift.baseline.unreadable": (
            "Không đọc được mốc cấu hình của phiên tổng duyệt: {error}",
            "Cannot read the rehearsal baseline: {error}",
        ),
        "drift.baseline.unreadable.remedy": (
            "Sau một lần kiểm tra đạt, chạy `hntht-agent baseline save` để tạo lại mốc (tệp hỏng được giữ lại bên "
            "cạnh với đuôi .corrupt để gửi bộ phận hỗ trợ).",
            "After a check that passes, run `hntht-agent baseline save` to create the baseline again (the broken "
            "file is kept beside it with a .corrupt suffix for support).",
        ),
        "drift.baseline.other_room": (
            "Mốc cấu hình đã lưu là của phòng {room}, không phải phòng này ({expected}): không so sánh",
            "The stored baseline belongs to room {room}, not to this room ({expected}): not compared",
        ),
        "drift.baseline.none.remedy": (
            "Sau khi phiên tổng duyệt thành công (mọi hạng mục đạt), chạy `hntht-agent baseline save`.",
            "After a successful rehearsal (every item passed), run `hntht-agent baseline save`.",
        ),
    }
)


def describe(key: str) -> tuple[Spec, dict[str, Any]]:
    """The spec of a setting key and the parameters of its plain name."""
    for regex, spec in _COMPILED:
        match = regex.fullmatch(key)
        if match:
            params: dict[str, Any] = dict(match.groupdict())
            if "target" in params:
                target = params["target"]
                params["target"] = Text(f"net.target.{target}") if target in ("gateway", "mcu") else target
            return spec, params
    return Spec(re.escape(key), "drift.name.other"), {"key": key}


def setting_name(key: str) -> Text:
    spec, params = describe(key)
    return Text(spec.name, **params)


def show_value(key: str, value: Any) -> Any:
    """A value as the technician reads it (a Text or a plain string)."""
    if value is None:
        return Text("drift.value.none")
    kind = describe(key)[0].kind
    if kind == "kbps" and isinstance(value, (int, float)):
        return Text("drift.value.kbps", value=value)
    if kind == "onoff" and isinstance(value, bool):
        return Text("drift.value.on" if value else "drift.value.off")
    if kind == "connected" and isinstance(value, bool):
        return Text("drift.value.connected" if value else "drift.value.disconnected")
    if kind == "monitor" and isinstance(value, dict):
        if value.get("connected") is False:
            return Text("drift.value.disconnected")
        return Text("drift.value.monitor", device=value.get("device") or "?", resolution=value.get("resolution") or "?",
                    role=value.get("role") or "?")
    if kind == "registration" and isinstance(value, str):
        if value == "none":
            return Text("drift.value.none")
        return " + ".join({"h323": "H.323", "sip": "SIP"}.get(p, p) for p in value.split("+"))
    if isinstance(value, bool):
        return Text("drift.value.on" if value else "drift.value.off")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def format_when(saved_at: str) -> str:
    """'2026-11-29T07:05:00Z' -> '29/11/2026 14:05' in the machine's local time (as technicians read it)."""
    try:
        moment = _dt.datetime.fromisoformat(saved_at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return str(saved_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone().strftime("%d/%m/%Y %H:%M")


def ignored(key: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        pattern = pattern[len("drift."):] if pattern.startswith("drift.") else pattern
        if fnmatch.fnmatchcase(key, pattern):
            return True
    return False


def _natural(key: str) -> tuple:
    area = key.split(".", 1)[0]
    order = AREAS.index(area) if area in AREAS else len(AREAS)
    return (order, [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key)])


def _collection(key: str) -> str | None:
    return next((prefix for prefix in COLLECTIONS if key.startswith(prefix)), None)


def _area_names(areas: list[str]) -> Any:
    return _Joined([Text(f"area.{a}") for a in areas]) if areas else Text("drift.value.none")


class _Joined(Text):
    """Several texts joined by commas, each rendered in the reader's language."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__("drift.joined")
        object.__setattr__(self, "params", {"items": items})

    def render(self, lang: str) -> str:
        return ", ".join(i.render(lang) if isinstance(i, Text) else str(i) for i in self.params["items"])


def evaluate(
    baseline: Snapshot | None,
    current: Snapshot,
    *,
    saved_at: str = "",
    strict: bool = False,
    meeting_window: bool = False,
    ignore: list[str] | None = None,
) -> list[CheckResult]:
    """Drift results of ``current`` against ``baseline`` (None: there is no baseline yet)."""
    compared_areas = [a for a in AREAS if a in current.areas]
    if not compared_areas:
        return []  # nothing that holds settings ran: nothing to compare, nothing to say
    if baseline is None:
        return [CheckResult("drift.baseline", Status.SKIP, Text("drift.baseline.none"),
                            remedy=Text("drift.baseline.none.remedy"), clause="5.2.2")]
    ignore = ignore or []
    when = format_when(saved_at)
    changed_status = Status.FAIL if (strict or meeting_window) else Status.WARN
    areas = [a for a in compared_areas if a in baseline.areas]
    keys = {k for k in (*baseline.settings, *current.settings) if k.split(".", 1)[0] in areas}
    results: list[CheckResult] = []
    compared = 0
    for key in sorted(keys, key=_natural):
        if ignored(key, ignore):
            continue
        spec, params = describe(key)
        name = Text(spec.name, **params)
        in_old, in_new = key in baseline.settings, key in current.settings
        old, new = baseline.settings.get(key), current.settings.get(key)
        collection = _collection(key)

        def result(status: Status, message: str, *, remedy: bool) -> CheckResult:
            return CheckResult(
                f"drift.{key}", status,
                Text(message, name=name, old=show_value(key, old), new=show_value(key, new), when=when),
                observed=new, expected=old, clause=CLAUSE[spec.remedy],
                remedy=Text(f"drift.remedy.{spec.remedy}", name=name, old=show_value(key, old)) if remedy else None)

        if in_old and not in_new:
            if collection is None or collection in current.unreadable:
                # Not read this time (or no longer read by this agent version): cannot say it changed.
                if old is not None:
                    results.append(result(Status.SKIP, "drift.unreadable_now", remedy=False))
                continue
            compared += 1
            results.append(result(changed_status, "drift.removed", remedy=True))
            continue
        if in_new and not in_old:
            if collection is None or collection in baseline.unreadable:
                if new is not None:
                    results.append(result(Status.SKIP, "drift.unreadable_then", remedy=False))
                continue
            compared += 1
            results.append(result(changed_status, "drift.added", remedy=True))
            continue
        if old is None and new is None:
            continue
        if new is None:
            results.append(result(Status.SKIP, "drift.unreadable_now", remedy=False))
            continue
        if old is None:
            results.append(result(Status.SKIP, "drift.unreadable_then", remedy=False))
            continue
        compared += 1
        if old != new:
            results.append(result(changed_status, "drift.changed", remedy=True))
    if any(r.status is not Status.SKIP for r in results):
        return results
    missing = [a for a in baseline.areas if a in AREAS and a not in compared_areas]
    missing += [a for a in compared_areas if a not in baseline.areas]
    partial: Any = Text("drift.baseline.partial", areas=_area_names(missing)) if missing else ""
    # Nothing compared at all (e.g. the baseline holds other areas than this run read): not a pass.
    summary = CheckResult("drift.baseline", Status.PASS if compared else Status.SKIP,
                          Text("drift.baseline.ok", when=when, count=compared, areas=_area_names(areas), partial=partial),
                          observed={"compared": compared, "areas": areas, "not_compared": missing},
                          expected={"saved_at": saved_at}, clause="5.2.2")
    return [summary, *results]
