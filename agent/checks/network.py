"""Network checks (Điều 5 khoản 2.1: the link to the gateway and to the MCU).

Ids: network.link, network.address, network.route, and per target T:
network.T.dns, network.T.reachable, network.T.loss, network.T.rtt, network.T.jitter,
network.T.quality, network.T.tcp.PORT.

Bands: a measured value above its limit fails; above 80 % of the limit it warns (close to the
edge a day before the meeting is worth knowing).  Loss fails above the limit and warns for any
loss at or below it.  The estimated MOS never fails on its own: it is an estimate for voice.
"""

from __future__ import annotations

from typing import Any

from agent.checks import band
from agent.i18n import Text, register
from agent.model import CheckResult, Status

CALL_PORTS = {1720: "H.323", 5060: "SIP", 5061: "SIP-TLS", 1719: "H.323 RAS", 443: "HTTPS"}

register(
    {
        "net.target.gateway": ("thiết bị cổng kết nối (gateway)", "the gateway"),
        "net.target.mcu": ("MCU ở điểm cầu trung tâm", "the MCU at the central point"),
        "net.target.other": ("{name}", "{name}"),
        "net.link.ok": (
            "Cổng mạng {iface} đang hoạt động{speed}",
            "Interface {iface} is up{speed}",
        ),
        "net.link.speed": (", tốc độ {speed} Mbit/s, song công {duplex}", ", {speed} Mbit/s, {duplex} duplex"),
        "net.link.missing": ("Không có cổng mạng {iface} trên máy", "There is no interface {iface} on this machine"),
        "net.link.missing.remedy": (
            "Sửa khóa [network] interface trong tệp cấu hình cho đúng tên cổng mạng (xem lệnh `ip link`), hoặc đặt \"auto\".",
            "Fix [network] interface in the config to the right interface name (see `ip link`), or set \"auto\".",
        ),
        "net.link.noroute": (
            "Không xác định được cổng mạng: máy chưa có tuyến mặc định (default route)",
            "Cannot pick the interface: the machine has no default route",
        ),
        "net.link.down": (
            "Cổng mạng {iface} không có tín hiệu (trạng thái: {state})",
            "Interface {iface} has no link (state: {state})",
        ),
        "net.link.down.remedy": (
            "Kiểm tra cáp mạng cắm vào máy agent và vào switch; đèn cổng mạng phải sáng. Nếu cáp tốt, gọi nhà cung cấp đường truyền.",
            "Check the network cable at the agent PC and at the switch; the port light must be on. If the cable is fine, call the line provider.",
        ),
        "net.link.half": (
            "Cổng mạng {iface} chạy chế độ bán song công (half duplex) hoặc tốc độ thấp ({speed} Mbit/s)",
            "Interface {iface} runs half duplex or at a low speed ({speed} Mbit/s)",
        ),
        "net.link.half.remedy": (
            "Thay cáp mạng hoặc cổng switch; cấu hình cổng switch ở chế độ tự động (auto-negotiation).",
            "Replace the cable or switch port; set the switch port to auto-negotiation.",
        ),
        "net.address.ok": ("Địa chỉ IP của máy agent: {ip}/{mask}", "Agent IP address: {ip}/{mask}"),
        "net.address.none": ("Cổng mạng {iface} chưa có địa chỉ IP", "Interface {iface} has no IPv4 address"),
        "net.address.none.remedy": (
            "Kiểm tra cấu hình địa chỉ IP (tĩnh hoặc DHCP) của máy agent theo hướng dẫn của VNPT.",
            "Check the agent PC's IP configuration (static or DHCP) against VNPT's instructions.",
        ),
        "net.route.ok": ("Tuyến mặc định qua {gateway}", "Default route via {gateway}"),
        "net.route.none": ("Máy agent chưa có tuyến mặc định (default gateway)", "The agent PC has no default gateway"),
        "net.route.none.remedy": (
            "Khai báo default gateway cho máy agent theo thông số của mạng truyền số liệu chuyên dùng.",
            "Configure the agent PC's default gateway as the dedicated data network requires.",
        ),
        "net.dns.ok": ("Phân giải tên {host} → {address}", "Resolved {host} → {address}"),
        "net.dns.fail": ("Không phân giải được tên {host}: {error}", "Cannot resolve {host}: {error}"),
        "net.dns.fail.remedy": (
            "Kiểm tra máy chủ DNS của máy agent, hoặc dùng địa chỉ IP của {target} trong tệp cấu hình.",
            "Check the agent PC's DNS server, or use {target}'s IP address in the config.",
        ),
        "net.nogateway": (
            "Không kiểm tra được {target}: máy chưa có default gateway",
            "Cannot check {target}: the machine has no default gateway",
        ),
        "net.reach.ok": ("{target} ({address}) trả lời {received}/{sent} gói ping", "{target} ({address}) answered {received}/{sent} pings"),
        "net.reach.fail": ("{target} ({address}) không trả lời ping ({sent} gói){icmp}", "{target} ({address}) did not answer any of {sent} pings{icmp}"),
        "net.reach.fail.remedy.gateway": (
            "Kiểm tra cáp mạng và thiết bị cổng kết nối (gateway/router) đã bật nguồn; khởi động lại thiết bị nếu cần và gọi nhà cung cấp đường truyền.",
            "Check the cabling and that the gateway/router is powered; restart it if needed and call the line provider.",
        ),
        "net.reach.fail.remedy.mcu": (
            "Mất kết nối tới MCU: kiểm tra đường truyền mạng truyền số liệu chuyên dùng và báo ngay cho VNPT Quảng Ninh (điểm cầu trung tâm).",
            "No link to the MCU: check the dedicated data network line and tell VNPT Quảng Ninh (central point) at once.",
        ),
        "net.reach.fail.remedy.other": (
            "Kiểm tra đường truyền tới {target} và gọi nhà cung cấp đường truyền.",
            "Check the link to {target} and call the line provider.",
        ),
        "net.reach.denied": (
            "Không đo được ping tới {target}: hệ điều hành không cho agent gửi gói ICMP",
            "Cannot ping {target}: the operating system does not let the agent send ICMP",
        ),
        "net.reach.error": ("Không đo được ping tới {target}: {error}", "Cannot ping {target}: {error}"),
        "net.icmp": (" (nhận được thông báo lỗi ICMP: {error})", " (an ICMP error came back: {error})"),
        "net.loss.ok": ("Tỷ lệ mất gói tới {target}: {loss}%", "Packet loss to {target}: {loss}%"),
        "net.loss.fail": (
            "Mất gói tới {target}: {loss}% (cho phép tối đa {limit}%)",
            "Packet loss to {target}: {loss}% (at most {limit}% allowed)",
        ),
        "net.loss.warn": (
            "Có mất gói tới {target}: {loss}% (trong giới hạn {limit}%)",
            "Some packet loss to {target}: {loss}% (within the {limit}% limit)",
        ),
        "net.loss.remedy": (
            "Đường truyền chập chờn: kiểm tra cáp, switch; nếu vẫn mất gói, báo nhà cung cấp đường truyền kèm kết quả này.",
            "The link is unstable: check cables and switch; if loss persists, report it to the line provider with this result.",
        ),
        "net.rtt.ok": ("Độ trễ tới {target}: trung bình {avg} ms (tối đa {max} ms)", "Round trip to {target}: {avg} ms average ({max} ms max)"),
        "net.rtt.bad": (
            "Độ trễ tới {target} cao: trung bình {avg} ms (giới hạn {limit} ms)",
            "High round trip to {target}: {avg} ms average (limit {limit} ms)",
        ),
        "net.rtt.remedy": (
            "Kiểm tra xem có máy nào đang tải dữ liệu lớn trên cùng đường truyền không; nếu độ trễ vẫn cao, báo nhà cung cấp đường truyền.",
            "Check for large downloads on the same line; if the delay stays high, report it to the line provider.",
        ),
        "net.jitter.ok": (
            "Độ biến thiên trễ (jitter, RFC 3550) tới {target}: {jitter} ms",
            "Jitter (RFC 3550) to {target}: {jitter} ms",
        ),
        "net.jitter.bad": (
            "Độ biến thiên trễ (jitter, RFC 3550) tới {target} cao: {jitter} ms (giới hạn {limit} ms)",
            "High jitter (RFC 3550) to {target}: {jitter} ms (limit {limit} ms)",
        ),
        "net.jitter.remedy": (
            "Jitter cao làm hình và tiếng bị giật: kiểm tra tải trên đường truyền và báo nhà cung cấp đường truyền.",
            "High jitter makes picture and sound stutter: check the load on the line and report it to the line provider.",
        ),
        "net.quality.ok": (
            "Chất lượng cuộc gọi ước tính (MOS) tới {target}: {mos} (R = {r})",
            "Estimated call quality (MOS) to {target}: {mos} (R = {r})",
        ),
        "net.quality.low": (
            "Chất lượng cuộc gọi ước tính (MOS) tới {target} thấp: {mos} (mong muốn ≥ {limit})",
            "Low estimated call quality (MOS) to {target}: {mos} (want ≥ {limit})",
        ),
        "net.quality.remedy": (
            "MOS là ước tính từ độ trễ, jitter và mất gói; xử lý các hạng mục đó trước.",
            "MOS is estimated from delay, jitter and loss; fix those items first.",
        ),
        "net.noping": ("Không có số liệu ping", "No ping data"),
        "net.tcp.open": ("Cổng {proto} {port} trên {target} mở ({ms} ms)", "{proto} port {port} on {target} is open ({ms} ms)"),
        "net.tcp.refused": (
            "Cổng {proto} {port} trên {target} từ chối kết nối",
            "{proto} port {port} on {target} refused the connection",
        ),
        "net.tcp.timeout": (
            "Cổng {proto} {port} trên {target} không phản hồi trong {seconds} giây (có thể bị tường lửa chặn)",
            "{proto} port {port} on {target} did not answer within {seconds} s (perhaps blocked by a firewall)",
        ),
        "net.tcp.unreachable": (
            "Không tới được cổng {proto} {port} trên {target}: {error}",
            "Cannot reach {proto} port {port} on {target}: {error}",
        ),
        "net.tcp.remedy": (
            "Thiết bị đầu cuối cần cổng này để gọi vào MCU: báo VNPT kiểm tra tường lửa và dịch vụ trên MCU.",
            "The codec needs this port to call the MCU: ask VNPT to check the firewall and the MCU service.",
        ),
    }
)


def target_label(name: str) -> Text:
    if name in ("gateway", "mcu"):
        return Text(f"net.target.{name}")
    return Text("net.target.other", name=name)


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def link_results(status: Any) -> list[CheckResult]:
    iface = status.interface
    if iface is None:
        return [CheckResult("network.link", Status.ERROR, Text("net.link.noroute"), remedy=Text("net.route.none.remedy"))]
    if not iface.exists:
        return [
            CheckResult(
                "network.link", Status.FAIL, Text("net.link.missing", iface=iface.name),
                observed="missing", expected="present", remedy=Text("net.link.missing.remedy"),
            )
        ]
    results = []
    observed = {"operstate": iface.operstate, "carrier": iface.carrier, "speed_mbps": iface.speed_mbps, "duplex": iface.duplex}
    # Virtual and loopback links report "unknown": carrier then decides.
    up = iface.operstate == "up" or (iface.operstate == "unknown" and iface.carrier is not False)
    if not up or iface.carrier is False:
        results.append(
            CheckResult(
                "network.link", Status.FAIL, Text("net.link.down", iface=iface.name, state=iface.operstate),
                observed=observed, expected={"operstate": "up", "carrier": True}, remedy=Text("net.link.down.remedy"),
            )
        )
    elif iface.duplex == "half" or (iface.speed_mbps is not None and iface.speed_mbps < 100):
        results.append(
            CheckResult(
                "network.link", Status.WARN, Text("net.link.half", iface=iface.name, speed=iface.speed_mbps),
                observed=observed, expected={"duplex": "full", "speed_mbps": ">= 100"}, remedy=Text("net.link.half.remedy"),
            )
        )
    else:
        speed = Text("net.link.speed", speed=iface.speed_mbps, duplex=iface.duplex) if iface.speed_mbps else ""
        results.append(CheckResult("network.link", Status.PASS, Text("net.link.ok", iface=iface.name, speed=speed), observed=observed))
    if iface.ipv4:
        results.append(
            CheckResult("network.address", Status.PASS, Text("net.address.ok", ip=iface.ipv4, mask=iface.netmask), observed=iface.ipv4)
        )
    else:
        results.append(
            CheckResult(
                "network.address", Status.FAIL, Text("net.address.none", iface=iface.name),
                observed=None, expected="IPv4", remedy=Text("net.address.none.remedy"),
            )
        )
    return results


def route_result(status: Any) -> CheckResult:
    if status.default_gateway:
        return CheckResult("network.route", Status.PASS, Text("net.route.ok", gateway=status.default_gateway), observed=status.default_gateway)
    return CheckResult(
        "network.route", Status.FAIL, Text("net.route.none"), observed=None, expected="default gateway",
        remedy=Text("net.route.none.remedy"),
    )


def _reach_remedy(name: str, label: Text) -> Text:
    if name in ("gateway", "mcu"):
        return Text(f"net.reach.fail.remedy.{name}")
    return Text("net.reach.fail.remedy.other", target=label)


def ping_results(target: Any, spec: Any, label: Text) -> list[CheckResult]:
    prefix = f"network.{target.name}"
    ids = [f"{prefix}.{k}" for k in ("loss", "rtt", "jitter", "quality")]
    skipped = [CheckResult(i, Status.SKIP, Text("net.noping")) for i in ids]
    if target.ping_error == "icmp-denied":
        return [
            CheckResult(
                f"{prefix}.reachable", Status.ERROR, Text("net.reach.denied", target=label),
                remedy=Text("ping.denied.remedy"), clause="agent",
            )
        ] + skipped
    if target.ping_error:
        return [CheckResult(f"{prefix}.reachable", Status.ERROR, Text("net.reach.error", target=label, error=target.ping_error))] + skipped
    p = target.ping
    if p.received == 0:
        icmp = Text("net.icmp", error=p.icmp_error) if p.icmp_error else ""
        return [
            CheckResult(
                f"{prefix}.reachable", Status.FAIL,
                Text("net.reach.fail", target=label, address=target.address, sent=p.sent, icmp=icmp),
                observed={"received": 0, "sent": p.sent}, expected="replies", remedy=_reach_remedy(target.name, label),
            ),
            CheckResult(
                f"{prefix}.loss", Status.FAIL, Text("net.loss.fail", target=label, loss=p.loss_percent, limit=spec.max_loss_percent),
                observed=p.loss_percent, expected=f"<= {spec.max_loss_percent}", remedy=_reach_remedy(target.name, label),
            ),
        ] + skipped[1:]
    results = [
        CheckResult(
            f"{prefix}.reachable", Status.PASS,
            Text("net.reach.ok", target=label, address=target.address, received=p.received, sent=p.sent),
            observed={"received": p.received, "sent": p.sent},
        )
    ]
    loss = round(p.loss_percent, 1)
    if p.loss_percent > spec.max_loss_percent:
        results.append(CheckResult(f"{prefix}.loss", Status.FAIL, Text("net.loss.fail", target=label, loss=loss, limit=spec.max_loss_percent),
                                   observed=loss, expected=f"<= {spec.max_loss_percent}", remedy=Text("net.loss.remedy")))
    elif p.loss_percent > 0:
        results.append(CheckResult(f"{prefix}.loss", Status.WARN, Text("net.loss.warn", target=label, loss=loss, limit=spec.max_loss_percent),
                                   observed=loss, expected=f"<= {spec.max_loss_percent}", remedy=Text("net.loss.remedy")))
    else:
        results.append(CheckResult(f"{prefix}.loss", Status.PASS, Text("net.loss.ok", target=label, loss=0.0),
                                   observed=0.0, expected=f"<= {spec.max_loss_percent}"))
    rtt_status = band(p.rtt_avg_ms, spec.max_rtt_ms)
    rtt_text = (Text("net.rtt.ok", target=label, avg=_r(p.rtt_avg_ms), max=_r(p.rtt_max_ms)) if rtt_status is Status.PASS
                else Text("net.rtt.bad", target=label, avg=_r(p.rtt_avg_ms), limit=spec.max_rtt_ms))
    results.append(CheckResult(f"{prefix}.rtt", rtt_status, rtt_text, observed=_r(p.rtt_avg_ms, 2),
                               expected=f"<= {spec.max_rtt_ms}", remedy=Text("net.rtt.remedy")))
    if p.jitter_rfc3550_ms is None:
        results.append(CheckResult(f"{prefix}.jitter", Status.SKIP, Text("net.noping")))
    else:
        j_status = band(p.jitter_rfc3550_ms, spec.max_jitter_ms)
        j_text = (Text("net.jitter.ok", target=label, jitter=_r(p.jitter_rfc3550_ms, 2)) if j_status is Status.PASS
                  else Text("net.jitter.bad", target=label, jitter=_r(p.jitter_rfc3550_ms, 2), limit=spec.max_jitter_ms))
        results.append(CheckResult(f"{prefix}.jitter", j_status, j_text, observed=_r(p.jitter_rfc3550_ms, 2),
                                   expected=f"<= {spec.max_jitter_ms}", remedy=Text("net.jitter.remedy")))
    q_status = Status.PASS if p.mos >= spec.min_mos else Status.WARN
    q_text = (Text("net.quality.ok", target=label, mos=_r(p.mos, 2), r=_r(p.r_factor)) if q_status is Status.PASS
              else Text("net.quality.low", target=label, mos=_r(p.mos, 2), limit=spec.min_mos))
    results.append(CheckResult(f"{prefix}.quality", q_status, q_text, observed=_r(p.mos, 2),
                               expected=f">= {spec.min_mos}", remedy=Text("net.quality.remedy")))
    return results


def tcp_result(target: Any, spec: Any, tcp: Any, label: Text) -> CheckResult:
    check_id = f"network.{target.name}.tcp.{tcp.port}"
    proto = CALL_PORTS.get(tcp.port, "TCP")
    expected = "open"
    if tcp.state == "open":
        return CheckResult(check_id, Status.PASS, Text("net.tcp.open", proto=proto, port=tcp.port, target=label, ms=tcp.connect_ms),
                           observed="open", expected=expected)
    if tcp.state == "refused":
        text = Text("net.tcp.refused", proto=proto, port=tcp.port, target=label)
    elif tcp.state == "timeout":
        waited = tcp.timeout_s if getattr(tcp, "timeout_s", None) is not None else float(spec.tcp_timeout)
        text = Text("net.tcp.timeout", proto=proto, port=tcp.port, target=label, seconds=waited)
    else:
        text = Text("net.tcp.unreachable", proto=proto, port=tcp.port, target=label, error=tcp.error)
    return CheckResult(check_id, Status.FAIL, text, observed=tcp.state, expected=expected, remedy=Text("net.tcp.remedy"))


def target_results(target: Any, spec: Any) -> list[CheckResult]:
    label = target_label(target.name)
    prefix = f"network.{target.name}"
    results: list[CheckResult] = []
    if target.dns_error == "no default gateway":
        return [CheckResult(f"{prefix}.reachable", Status.ERROR, Text("net.nogateway", target=label), remedy=Text("net.route.none.remedy"))]
    if target.dns_ms is not None or target.dns_error:
        if target.dns_error:
            return [CheckResult(f"{prefix}.dns", Status.FAIL, Text("net.dns.fail", host=target.host, error=target.dns_error),
                                observed=None, expected="an address", remedy=Text("net.dns.fail.remedy", target=label))]
        results.append(CheckResult(f"{prefix}.dns", Status.PASS, Text("net.dns.ok", host=target.host, address=target.address),
                                   observed=target.address))
    if spec.ping:
        results.extend(ping_results(target, spec, label))
    results.extend(tcp_result(target, spec, tcp, label) for tcp in target.tcp)
    return results


def evaluate(status: Any, section: Any) -> list[CheckResult]:
    specs = {t.name: t for t in section.target}
    results = link_results(status)
    results.append(route_result(status))
    for target in status.targets:
        results.extend(target_results(target, specs[target.name]))
    return results
