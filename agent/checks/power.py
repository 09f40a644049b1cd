"""Power checks (Điều 5 khoản 2.2 stable power, Điều 6 equipment fed through the UPS, Điều 13 khoản 6
backup power in every room).

Ids: power.ups_reachable, power.on_mains, power.battery_charge, power.runtime, power.load,
power.self_test, power.alarms, power.codec_on_ups.

Pure functions of a :class:`~agent.ups.model.UpsStatus`, the ``[ups.expect]`` table and, for
codec_on_ups, the optional :class:`~agent.ups.model.CodecPowerEvidence` the daemon gathers.
A value the UPS does not report is never treated as 0: its check says "unknown" (skip) and why.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from agent.i18n import Text, register
from agent.model import CheckResult, Status
from agent.ups.model import CodecPowerEvidence, UpsStatus

RUNTIME_WARN_RATIO = 1.25  # runtime within 25 % of the minimum warns
LOAD_WARN_RATIO = 0.9  # load above 90 % of the maximum warns
# Words in upsIdentAttachedDevices that name the VCS terminal (lower case, accents as typed by admins).
CODEC_WORDS = (
    "codec", "vcs", "hntht", "hội nghị", "hoi nghi", "truyền hình", "truyen hinh", "đầu cuối", "dau cuoi",
    "polycom", "poly ", "group", "studio", "cisco", "webex", "room kit", "sx20", "sx80", "huawei te", "box 300",
    "yealink", "avaya", "lifesize", "zoom",
)
SEVERE_ALARMS = {"battery_low", "battery_replace", "ups_fault", "overload", "shutdown_pending", "self_test_failed",
                 "output_bad", "output_off", "charger_failed", "communication_lost"}

register(
    {
        # ups_reachable
        "power.reach.ok": (
            "Đọc được bộ lưu điện (UPS) {model} qua {source}: điện vào {vin} V, điện ra {vout} V",
            "Read the UPS {model} via {source}: input {vin} V, output {vout} V",
        ),
        "power.unknown_model": ("(không rõ kiểu máy)", "(model unknown)"),
        "power.na": ("không rõ", "unknown"),
        # on_mains
        "power.mains.ok": ("UPS đang dùng điện lưới (điện vào {vin} V)", "The UPS runs on mains (input {vin} V)"),
        "power.mains.battery": (
            "UPS đang chạy bằng pin (mất điện lưới{since})",
            "The UPS is running on battery (mains lost{since})",
        ),
        "power.mains.since": (", đã {minutes} phút", ", for {minutes} min"),
        "power.mains.battery.remedy": (
            "UPS đang chạy bằng pin: kiểm tra nguồn điện lưới cấp cho UPS (aptomat, ổ cắm, dây nguồn); "
            "báo ngay cán bộ phụ trách điện của cơ quan. Không bắt đầu phiên họp khi chưa có điện lưới ổn định.",
            "The UPS is running on battery: check the mains feeding it (breaker, socket, cord) and tell the "
            "building's electrician at once. Do not start the meeting without stable mains.",
        ),
        "power.mains.test": (
            "UPS đang tự kiểm tra (self-test), tạm chạy bằng pin",
            "The UPS is running a self-test, briefly on battery",
        ),
        "power.mains.test.remedy": (
            "Chờ UPS tự kiểm tra xong (thường dưới 1 phút) rồi chạy lại kiểm tra.",
            "Wait for the self-test to finish (usually under a minute) and run the check again.",
        ),
        "power.mains.bypass": (
            "UPS đang ở chế độ bypass: tải nhận điện lưới trực tiếp, KHÔNG có nguồn dự phòng",
            "The UPS is in bypass: the load is fed straight from mains, with NO backup",
        ),
        "power.mains.bypass.remedy": (
            "Chuyển UPS về chế độ bình thường (online) theo hướng dẫn của hãng; nếu UPS tự chuyển bypass do "
            "quá tải hoặc lỗi, giảm tải và gọi đơn vị bảo hành UPS.",
            "Return the UPS to normal (online) mode per the vendor's manual; if it went to bypass by itself "
            "(overload or fault), reduce the load and call the UPS service company.",
        ),
        "power.mains.unknown": ("UPS không cho biết đang dùng điện lưới hay pin", "The UPS does not say whether it runs on mains or battery"),
        # battery_charge
        "power.charge.ok": ("Dung lượng pin: {charge}%{est}", "Battery charge: {charge}%{est}"),
        "power.charge.low": ("Dung lượng pin thấp: {charge}%{est} (yêu cầu ≥ {limit}%)", "Low battery charge: {charge}%{est} (required ≥ {limit}%)"),
        "power.charge.est": (" (ước tính từ điện áp ắc quy, không chính xác)", " (estimated from the battery voltage, not exact)"),
        "power.charge.low.remedy": (
            "Để UPS sạc pin đầy trước phiên họp (cắm điện lưới liên tục vài giờ). Nếu pin không lên đầy, "
            "ắc quy đã chai: đề nghị thay ắc quy.",
            "Let the UPS charge fully before the meeting (keep it on mains for a few hours). If it never gets "
            "full, the battery is worn out: ask for a replacement.",
        ),
        "power.charge.est.remedy": (
            "Giá trị chỉ là ước tính từ điện áp ắc quy; để UPS sạc đầy rồi kiểm tra lại.",
            "The value is only an estimate from the battery voltage; let the UPS charge and check again.",
        ),
        "power.unknown_value": ("UPS không báo {what}: {reason}", "The UPS does not report {what}: {reason}"),
        "power.what.charge": ("dung lượng pin", "the battery charge"),
        "power.what.runtime": ("thời gian lưu điện còn lại", "the remaining runtime"),
        "power.what.load": ("mức tải", "the load"),
        "power.what.self_test": ("kết quả tự kiểm tra", "the self-test result"),
        "power.reason.none": ("thiết bị không cung cấp thông tin này", "the device does not provide it"),
        # runtime
        "power.runtime.ok": ("Thời gian lưu điện còn lại: {minutes} phút", "Runtime left: {minutes} min"),
        "power.runtime.low": (
            "Thời gian lưu điện còn lại chỉ {minutes} phút (yêu cầu ≥ {limit} phút)",
            "Only {minutes} min of runtime left (required ≥ {limit} min)",
        ),
        "power.runtime.near": (
            "Thời gian lưu điện còn lại {minutes} phút, sát mức yêu cầu {limit} phút",
            "Runtime left {minutes} min, close to the required {limit} min",
        ),
        "power.runtime.remedy": (
            "Sạc đầy pin; giảm tải trên UPS (chỉ cắm thiết bị hội nghị: thiết bị đầu cuối, màn hình, âm thanh, "
            "thiết bị mạng). Nếu vẫn thấp, ắc quy đã chai hoặc UPS quá nhỏ: đề nghị thay/ bổ sung.",
            "Charge the battery; reduce the load (only conference gear: codec, screens, audio, network). "
            "If still low, the battery is worn or the UPS too small: ask for a replacement or a bigger unit.",
        ),
        # load
        "power.load.ok": ("Tải của UPS: {load}% công suất", "UPS load: {load}% of capacity"),
        "power.load.high": ("UPS quá tải: {load}% (cho phép tối đa {limit}%)", "UPS overloaded: {load}% (at most {limit}% allowed)"),
        "power.load.near": ("Tải của UPS cao: {load}% (giới hạn {limit}%)", "UPS load is high: {load}% (limit {limit}%)"),
        "power.load.overload": ("UPS báo quá tải (overload)", "The UPS reports an overload"),
        "power.load.remedy": (
            "Rút bớt thiết bị không cần thiết khỏi UPS (máy in, quạt, ấm điện, điều hòa...); chỉ giữ thiết bị "
            "hội nghị truyền hình. Nếu vẫn quá tải, cần UPS công suất lớn hơn.",
            "Unplug what does not need backup (printers, fans, kettles, air conditioning...); keep only the "
            "conference gear. If still overloaded, a bigger UPS is needed.",
        ),
        # self_test
        "power.test.ok": ("Lần tự kiểm tra gần nhất: đạt{when}", "Last self-test: passed{when}"),
        "power.test.when": (" ({days} ngày trước)", " ({days} days ago)"),
        "power.test.nodate": (
            "Lần tự kiểm tra gần nhất: đạt, nhưng UPS không cho biết ngày kiểm tra",
            "Last self-test: passed, but the UPS does not say when",
        ),
        "power.test.old": (
            "Lần tự kiểm tra gần nhất đạt nhưng đã {days} ngày (yêu cầu trong vòng {limit} ngày)",
            "The last self-test passed but is {days} days old (required within {limit} days)",
        ),
        "power.test.failed": ("UPS tự kiểm tra KHÔNG ĐẠT{detail}", "The UPS self-test FAILED{detail}"),
        "power.test.warning": ("UPS tự kiểm tra có cảnh báo{detail}", "The UPS self-test ended with a warning{detail}"),
        "power.test.aborted": ("Lần tự kiểm tra gần nhất bị hủy giữa chừng{detail}", "The last self-test was aborted{detail}"),
        "power.test.running": ("UPS đang tự kiểm tra", "The UPS is running a self-test"),
        "power.test.none": ("UPS chưa từng tự kiểm tra (hoặc không lưu kết quả)", "The UPS has no self-test on record"),
        "power.test.detail": (": {text}", ": {text}"),
        "power.test.remedy": (
            "Cho UPS tự kiểm tra (nút TEST trên UPS hoặc phần mềm của hãng) ngoài giờ họp và xem kết quả; "
            "nếu không đạt, ắc quy hoặc UPS cần bảo dưỡng: gọi đơn vị bảo hành.",
            "Run the UPS self-test (TEST button or the vendor's software) outside meeting hours and read the "
            "result; if it fails, the battery or the UPS needs service: call the service company.",
        ),
        # alarms
        "power.alarms.ok": ("UPS không báo lỗi nào", "The UPS reports no alarm"),
        "power.alarms.some": ("UPS đang báo: {alarms}", "The UPS reports: {alarms}"),
        "power.alarms.remedy": (
            "Xem đèn báo và màn hình của UPS, đối chiếu với hướng dẫn của hãng; với lỗi ắc quy, quá tải hoặc "
            "hỏng UPS, gọi đơn vị bảo hành trước phiên họp.",
            "Look at the UPS's lights and display and its manual; for battery, overload or UPS faults call the "
            "service company before the meeting.",
        ),
        "power.alarm.battery_low": ("pin yếu", "battery low"),
        "power.alarm.battery_replace": ("cần thay ắc quy", "battery needs replacing"),
        "power.alarm.ups_fault": ("UPS hỏng/lỗi", "UPS fault"),
        "power.alarm.overload": ("quá tải", "overload"),
        "power.alarm.shutdown_pending": ("UPS sắp tắt nguồn ra", "output shutdown pending"),
        "power.alarm.self_test_failed": ("tự kiểm tra không đạt", "self-test failed"),
        "power.alarm.temperature": ("nhiệt độ bất thường", "temperature out of range"),
        "power.alarm.input_bad": ("điện lưới vào bất thường", "input power out of range"),
        "power.alarm.output_bad": ("điện ra bất thường", "output power out of range"),
        "power.alarm.output_off": ("nguồn ra của UPS đang tắt", "UPS output is off"),
        "power.alarm.charger_failed": ("bộ sạc hỏng", "charger failed"),
        "power.alarm.fan_failure": ("quạt hỏng", "fan failure"),
        "power.alarm.fuse_failure": ("cầu chì hỏng", "fuse failure"),
        "power.alarm.on_bypass": ("đang chạy bypass", "on bypass"),
        "power.alarm.communication_lost": ("mất liên lạc bên trong UPS", "internal communication lost"),
        "power.alarm.other": ("cảnh báo khác", "other alarm"),
        # codec_on_ups
        "power.codec.event_ok": (
            "Thiết bị đầu cuối vẫn hoạt động khi UPS chạy bằng pin ({event} lúc {when}): thiết bị được cấp điện qua UPS",
            "The codec stayed reachable while the UPS ran on battery ({event} at {when}): it is fed by the UPS",
        ),
        "power.codec.event_bad": (
            "Thiết bị đầu cuối mất kết nối khi UPS chạy bằng pin ({event} lúc {when}): có thể KHÔNG được cấp điện qua UPS",
            "The codec went dark while the UPS ran on battery ({event} at {when}): it may NOT be fed by the UPS",
        ),
        "power.codec.event.self_test": ("UPS tự kiểm tra", "UPS self-test"),
        "power.codec.event.mains_loss": ("mất điện lưới", "mains loss"),
        "power.codec.declared": (
            "Quản trị viên khai báo thiết bị cắm vào UPS: \"{devices}\"",
            "The administrator declared the UPS feeds: \"{devices}\"",
        ),
        "power.codec.load": (
            "Có thiết bị đang dùng điện của UPS (tải {load}%); chưa xác nhận được đó là thiết bị đầu cuối",
            "Something draws power from the UPS (load {load}%); not yet confirmed that it is the codec",
        ),
        "power.codec.unknown": (
            "Chưa có bằng chứng thiết bị đầu cuối được cấp điện qua UPS (không rõ)",
            "No evidence yet that the codec is fed by the UPS (unknown)",
        ),
        "power.codec.noload": (
            "UPS báo tải 0%: chưa có bằng chứng thiết bị đầu cuối được cấp điện qua UPS (không rõ)",
            "The UPS reports 0% load: no evidence that the codec is fed by it (unknown)",
        ),
        "power.codec.remedy": (
            "VNPT kiểm tra thiết bị có được cấp điện qua UPS (Điều 6): cắm thiết bị đầu cuối, màn hình, âm thanh "
            "và thiết bị mạng vào ổ ra của UPS (không cắm thẳng ổ điện lưới); ghi tên thiết bị vào mục "
            "\"attached devices\" của card mạng UPS nếu có.",
            "VNPT checks that the equipment is fed through the UPS (Art. 6): plug the codec, screens, audio and "
            "network gear into the UPS outlets (not into wall sockets); name them in the UPS card's "
            "\"attached devices\" field if it has one.",
        ),
    }
)


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _reason(status: UpsStatus, name: str) -> Any:
    return status.unknown.get(name) or Text("power.reason.none")


def _unknown(check_id: str, status: UpsStatus, name: str, what: str, clause: str) -> CheckResult:
    return CheckResult(check_id, Status.SKIP, Text("power.unknown_value", what=Text(f"power.what.{what}"), reason=_reason(status, name)),
                       observed=None, clause=clause)


def reachable_result(s: UpsStatus) -> CheckResult:
    na = Text("power.na")
    model = " ".join(x for x in (s.manufacturer, s.model) if x) or Text("power.unknown_model")
    return CheckResult(
        "power.ups_reachable", Status.PASS,
        Text("power.reach.ok", model=model, source=s.source,
             vin=_r(s.input_voltage_v) if s.input_voltage_v is not None else na,
             vout=_r(s.output_voltage_v) if s.output_voltage_v is not None else na),
        observed={"source": s.source, "protocol": s.protocol, "model": s.model, "manufacturer": s.manufacturer,
                  "firmware": s.firmware},
        clause="13.6",
    )


def on_mains_result(s: UpsStatus) -> CheckResult:
    cid, clause = "power.on_mains", "5.2.2"
    observed = {"on_battery": s.on_battery, "bypass": s.bypass, "input_voltage_v": s.input_voltage_v}
    if s.on_battery is None:
        return CheckResult(cid, Status.WARN, Text("power.mains.unknown"), observed=observed, expected="on mains", clause=clause,
                           remedy=Text("power.mains.battery.remedy"))
    if s.on_battery:
        if s.test_in_progress:
            return CheckResult(cid, Status.WARN, Text("power.mains.test"), observed=observed, expected="on mains",
                               remedy=Text("power.mains.test.remedy"), clause=clause)
        since = Text("power.mains.since", minutes=round(s.seconds_on_battery / 60, 1)) if s.seconds_on_battery else ""
        return CheckResult(cid, Status.FAIL, Text("power.mains.battery", since=since), observed=observed, expected="on mains",
                           remedy=Text("power.mains.battery.remedy"), clause=clause)
    if s.bypass:
        return CheckResult(cid, Status.WARN, Text("power.mains.bypass"), observed=observed, expected="on mains, not bypass",
                           remedy=Text("power.mains.bypass.remedy"), clause=clause)
    vin = _r(s.input_voltage_v) if s.input_voltage_v is not None else Text("power.na")
    return CheckResult(cid, Status.PASS, Text("power.mains.ok", vin=vin), observed=observed, expected="on mains", clause=clause)


def charge_result(s: UpsStatus, expect: Any) -> CheckResult:
    cid, clause = "power.battery_charge", "13.6"
    if s.battery_charge_percent is None:
        return _unknown(cid, s, "battery_charge_percent", "charge", clause)
    charge, limit = _r(s.battery_charge_percent), expect.min_charge_percent
    est = Text("power.charge.est") if s.battery_charge_estimated else ""
    observed = {"percent": charge, "estimated": s.battery_charge_estimated}
    if charge >= limit:
        return CheckResult(cid, Status.PASS, Text("power.charge.ok", charge=charge, est=est), observed=observed,
                           expected=f">= {limit:g}", clause=clause)
    # A voltage-based guess is too rough to fail a room on: it warns.
    status = Status.WARN if s.battery_charge_estimated else Status.FAIL
    remedy = Text("power.charge.est.remedy") if s.battery_charge_estimated else Text("power.charge.low.remedy")
    return CheckResult(cid, status, Text("power.charge.low", charge=charge, est=est, limit=limit), observed=observed,
                       expected=f">= {limit:g}", remedy=remedy, clause=clause)


def runtime_result(s: UpsStatus, expect: Any) -> CheckResult:
    cid, clause = "power.runtime", "13.6"
    if s.runtime_s is None:
        return _unknown(cid, s, "runtime_s", "runtime", clause)
    minutes, limit = round(s.runtime_s / 60.0, 1), expect.min_runtime_minutes
    observed, expected = {"runtime_s": s.runtime_s, "minutes": minutes}, f">= {limit:g} min"
    if s.runtime_s < limit * 60:
        return CheckResult(cid, Status.FAIL, Text("power.runtime.low", minutes=minutes, limit=limit), observed=observed,
                           expected=expected, remedy=Text("power.runtime.remedy"), clause=clause)
    if s.runtime_s < limit * 60 * RUNTIME_WARN_RATIO:
        return CheckResult(cid, Status.WARN, Text("power.runtime.near", minutes=minutes, limit=limit), observed=observed,
                           expected=expected, remedy=Text("power.runtime.remedy"), clause=clause)
    return CheckResult(cid, Status.PASS, Text("power.runtime.ok", minutes=minutes), observed=observed, expected=expected, clause=clause)


def load_result(s: UpsStatus, expect: Any) -> CheckResult:
    cid, clause = "power.load", "5.2.2"
    limit = expect.max_load_percent
    expected = f"<= {limit:g}"
    if s.overload:
        return CheckResult(cid, Status.FAIL, Text("power.load.overload"), observed={"percent": _r(s.load_percent), "overload": True},
                           expected=expected, remedy=Text("power.load.remedy"), clause=clause)
    if s.load_percent is None:
        return _unknown(cid, s, "load_percent", "load", clause)
    load = _r(s.load_percent)
    if load > limit:
        return CheckResult(cid, Status.FAIL, Text("power.load.high", load=load, limit=limit), observed={"percent": load},
                           expected=expected, remedy=Text("power.load.remedy"), clause=clause)
    if load > LOAD_WARN_RATIO * limit:
        return CheckResult(cid, Status.WARN, Text("power.load.near", load=load, limit=limit), observed={"percent": load},
                           expected=expected, remedy=Text("power.load.remedy"), clause=clause)
    return CheckResult(cid, Status.PASS, Text("power.load.ok", load=load), observed={"percent": load}, expected=expected, clause=clause)


def self_test_result(s: UpsStatus, expect: Any, now: _dt.datetime | None = None) -> CheckResult:
    cid, clause = "power.self_test", "13.6"
    test = s.last_self_test
    limit = expect.self_test_max_age_days
    expected = f"passed within {limit} days" if limit else "passed"
    if s.test_in_progress or (test is not None and test.result == "in_progress"):
        return CheckResult(cid, Status.WARN, Text("power.test.running"), observed="in_progress", expected=expected,
                           remedy=Text("power.mains.test.remedy"), clause=clause)
    if test is None or test.result is None:
        return _unknown(cid, s, "last_self_test", "self_test", clause)
    detail = Text("power.test.detail", text=test.detail) if test.detail else ""
    observed = {"result": test.result, "when": test.when, "detail": test.detail}
    remedy = Text("power.test.remedy")
    if test.result == "failed":
        return CheckResult(cid, Status.FAIL, Text("power.test.failed", detail=detail), observed=observed, expected=expected,
                           remedy=remedy, clause=clause)
    if test.result in ("warning", "aborted"):
        return CheckResult(cid, Status.WARN, Text(f"power.test.{test.result}", detail=detail), observed=observed,
                           expected=expected, remedy=remedy, clause=clause)
    if test.result == "none":
        return CheckResult(cid, Status.WARN, Text("power.test.none"), observed=observed, expected=expected, remedy=remedy, clause=clause)
    # passed
    if not limit:
        return CheckResult(cid, Status.PASS, Text("power.test.ok", when=""), observed=observed, expected=expected, clause=clause)
    if test.when is None:
        return CheckResult(cid, Status.WARN, Text("power.test.nodate"), observed=observed, expected=expected, remedy=remedy, clause=clause)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    when = test.when if test.when.tzinfo else test.when.replace(tzinfo=_dt.timezone.utc)
    days = max(0, (now - when).days)
    if days > limit:
        return CheckResult(cid, Status.WARN, Text("power.test.old", days=days, limit=limit), observed=observed, expected=expected,
                           remedy=remedy, clause=clause)
    return CheckResult(cid, Status.PASS, Text("power.test.ok", when=Text("power.test.when", days=days)), observed=observed,
                       expected=expected, clause=clause)


def alarms_result(s: UpsStatus) -> CheckResult:
    cid, clause = "power.alarms", "5.2.2"
    codes = [a.code for a in s.alarms]
    if s.ups_fault and "ups_fault" not in codes:
        codes.append("ups_fault")
    if s.overload and "overload" not in codes:
        codes.append("overload")
    if s.low_battery and "battery_low" not in codes:
        codes.append("battery_low")
    observed = [{"code": a.code, "detail": a.detail} for a in s.alarms] + [
        {"code": c, "detail": None} for c in codes if c not in [a.code for a in s.alarms]]
    if not codes:
        return CheckResult(cid, Status.PASS, Text("power.alarms.ok"), observed=[], expected=[], clause=clause)
    names = Text(_joined_key(codes), **{f"a{i}": Text(f"power.alarm.{c}") for i, c in enumerate(codes)})
    status = Status.FAIL if any(c in SEVERE_ALARMS for c in codes) else Status.WARN
    return CheckResult(cid, status, Text("power.alarms.some", alarms=names), observed=observed, expected=[],
                       remedy=Text("power.alarms.remedy"), clause=clause)


def _joined_key(codes: list[str]) -> str:
    # One catalogue entry per list length: "{a0}, {a1}, {a2}" in both languages.
    key = f"power.alarm.list{len(codes)}"
    template = ", ".join(f"{{a{i}}}" for i in range(len(codes)))
    register({key: (template, template)})
    return key


def _event_time(when: _dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


def codec_on_ups_result(s: UpsStatus, expect: Any, evidence: CodecPowerEvidence | None = None) -> CheckResult:
    cid, clause = "power.codec_on_ups", "6"
    required = expect.codec_on_ups == "required"
    remedy = Text("power.codec.remedy")
    latest = evidence.latest() if evidence else None
    if latest is not None:
        observed = {"evidence": "event", "event": latest.kind, "started_at": latest.started_at,
                    "codec_reachable": latest.codec_reachable}
        params = {"event": Text(f"power.codec.event.{latest.kind}"), "when": _event_time(latest.started_at)}
        if latest.codec_reachable:
            return CheckResult(cid, Status.PASS, Text("power.codec.event_ok", **params), observed=observed,
                               expected="codec fed by the UPS", clause=clause)
        return CheckResult(cid, Status.FAIL if required else Status.WARN, Text("power.codec.event_bad", **params),
                           observed=observed, expected="codec fed by the UPS", remedy=remedy, clause=clause)
    devices = (s.attached_devices or "").strip()
    if devices and any(w in devices.lower() for w in CODEC_WORDS):
        return CheckResult(cid, Status.PASS, Text("power.codec.declared", devices=devices),
                           observed={"evidence": "declared", "attached_devices": devices, "load_percent": s.load_percent},
                           expected="codec fed by the UPS", clause=clause)
    if s.load_percent is not None and s.load_percent > 0:
        return CheckResult(cid, Status.PASS, Text("power.codec.load", load=_r(s.load_percent)),
                           observed={"evidence": "load", "load_percent": _r(s.load_percent), "attached_devices": devices or None},
                           expected="codec fed by the UPS", clause=clause)
    text = Text("power.codec.noload") if s.load_percent == 0 else Text("power.codec.unknown")
    return CheckResult(cid, Status.WARN if required else Status.SKIP, text,
                       observed={"evidence": "unknown", "load_percent": s.load_percent, "attached_devices": devices or None},
                       expected="codec fed by the UPS", remedy=remedy, clause=clause)


def evaluate(status: UpsStatus, expect: Any, evidence: CodecPowerEvidence | None = None,
             now: _dt.datetime | None = None) -> list[CheckResult]:
    return [
        reachable_result(status),
        on_mains_result(status),
        charge_result(status, expect),
        runtime_result(status, expect),
        load_result(status, expect),
        self_test_result(status, expect, now),
        alarms_result(status),
        codec_on_ups_result(status, expect, evidence),
    ]
