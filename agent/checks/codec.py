"""Codec checks (Điều 5 khoản 2.1: the VCS terminal's state and settings before the rehearsal).

Stable ids: codec.reachable, codec.login, codec.ip, codec.registration, codec.video_format,
codec.call_rate, codec.content_rate, codec.monitors, codec.audio, codec.echo_control,
codec.camera_presets, codec.standby, codec.version.

Pure functions of a :class:`~agent.vendors.model.CodecStatus` and ``[codec.expect]``.  A value the
check needs but the device did not give (None, with a reason in ``status.reasons``) is never a guessed
pass or fail.  Two cases, told apart by the reason's key (:func:`agent.vendors.model.is_api_limit`):

- this model / API cannot report it (Group Series standby and presets, VideoOS call rate, ...): ``skip``,
  the message saying how the technician checks it by hand on the screen or remote.  Skip, not warn: such
  a room would otherwise never pass, every day, for a limit of its codec and not a fault of the room, and
  a warning seen every day is soon not read; the skip line still says what to check by hand.
- it could not be read this time (no answer, a refusal, a call being set up): ``error`` ("cannot
  verify", with the reason).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable

from agent.errors import shown
from agent.i18n import Text, known, register
from agent.model import CheckResult, Status
from agent.vendors import model as m

CLAUSE = "5.2.1"

register(
    {
        "codec.unknown": (
            "Không kiểm tra được {what}: lần này không đọc được từ thiết bị đầu cuối ({reason})",
            "Cannot check {what}: not read from the codec this time ({reason})",
        ),
        "codec.unknown.remedy": (
            "Kiểm tra trực tiếp trên màn hình cài đặt của thiết bị đầu cuối (VCS) và ghi vào sổ theo dõi.",
            "Check it on the codec's own settings screen and note it in the log book.",
        ),
        # a value this model / API cannot report: skipped, with how to check it by hand
        "codec.by_hand": (
            "Không đọc được {what} qua giao tiếp của thiết bị đầu cuối này ({reason}). Tự kiểm tra: {how}",
            "This codec's API cannot report {what} ({reason}). Check it by hand: {how}",
        ),
        "codec.by_hand.video": (
            "trong phiên tổng duyệt, khi cuộc gọi đã kết nối, chạy lại kiểm tra (thiết bị báo định dạng hình ảnh "
            "trong cuộc gọi) hoặc mở mục thống kê cuộc gọi (Call Statistics) trên màn hình và xem hình ảnh gửi đi "
            "đạt HD 720p/1080p.",
            "during the rehearsal, once the call is connected, run the check again (the codec reports the video "
            "format in a call) or open the call statistics on the screen and see that the outgoing video is HD "
            "720p/1080p.",
        ),
        "codec.by_hand.rate": (
            "mở cài đặt cuộc gọi trên giao diện web hoặc màn hình của thiết bị đầu cuối và xem băng thông kết nối "
            "mặc định (call rate) đúng mức VNPT hướng dẫn.",
            "open the call settings in the codec's web interface or on its screen and see that the default call "
            "rate is what VNPT set.",
        ),
        "codec.by_hand.content": (
            "trong phiên tổng duyệt, trình chiếu thử một tài liệu và hỏi điểm cầu trung tâm (VNPT) nội dung trình "
            "chiếu có rõ nét không.",
            "during the rehearsal, share a document and ask the central point (VNPT) whether it is clear.",
        ),
        "codec.by_hand.monitors": (
            "nhìn các màn hình: đều bật, có hình ảnh và hiển thị 2 nguồn hình ảnh khác nhau (hình các điểm cầu và "
            "nội dung trình chiếu) theo chế độ hiển thị đã thống nhất.",
            "look at the screens: all on, all showing a picture, with two different video sources (the far end "
            "and the presentation) in the agreed display mode.",
        ),
        "codec.by_hand.presets": (
            "dùng điều khiển từ xa hoặc màn hình cảm ứng gọi lần lượt từng vị trí quay camera (preset): vị trí chủ "
            "tọa, bên trái, bên phải, phóng to, thu nhỏ, và xem camera quay đúng vị trí; lưu lại vị trí còn thiếu.",
            "with the remote or touch panel, recall each camera preset in turn (chair position, left, right, zoom "
            "in, zoom out) and see that the camera goes to the right place; store any that is missing.",
        ),
        "codec.by_hand.standby": (
            "nhìn màn hình của thiết bị đầu cuối: có hình ảnh, không ở chế độ chờ (màn hình tối, báo ngủ); nếu "
            "màn hình tối, bấm một phím trên điều khiển từ xa để đánh thức thiết bị.",
            "look at the codec's screen: it shows a picture and is not in standby (dark, sleeping); if it is "
            "dark, press a key on the remote to wake the codec.",
        ),
        "codec.by_hand.audio": (
            "nói thử vào micro và nghe qua loa: micro không tắt tiếng (biểu tượng micro không bị gạch chéo), âm "
            "lượng đủ nghe, không hú, rít, nhiễu.",
            "speak into the microphones and listen on the loudspeakers: microphones not muted (no crossed-out "
            "microphone icon), volume audible, no howl, hiss or noise.",
        ),
        "codec.by_hand.registration": (
            "xem trạng thái đăng ký (gatekeeper/SIP) trên màn hình thông tin hệ thống của thiết bị đầu cuối, "
            "hoặc gọi thử tới điểm cầu trung tâm (VNPT).",
            "read the registration state (gatekeeper/SIP) on the codec's system information screen, or place a "
            "test call to the central point (VNPT).",
        ),
        # reachable / login
        "codec.reachable.ok": (
            "Thiết bị đầu cuối {model} ({host}) trả lời qua {transport}, phần mềm {version}",
            "Codec {model} ({host}) answered over {transport}, software {version}",
        ),
        "codec.reachable.answered": ("Thiết bị đầu cuối {host} có trả lời kết nối", "The codec {host} answers connections"),
        "codec.reachable.fail": (
            "Không kết nối được tới thiết bị đầu cuối (VCS) {host}: {error}",
            "Cannot connect to the codec {host}: {error}",
        ),
        "codec.reachable.fail.remedy": (
            "Kiểm tra thiết bị đầu cuối đã bật nguồn, cáp mạng đã cắm (đèn cổng mạng sáng) và địa chỉ IP trên "
            "màn hình thiết bị đúng với khóa [codec] host; chạy lại kiểm tra.",
            "Check that the codec is powered on and cabled (port light on) and that the IP address on its "
            "screen matches [codec] host; run the check again.",
        ),
        # over SNMP (v1/v2c) a wrong community gets no answer at all: it looks exactly like an unreachable codec
        "codec.reachable.fail.snmp.remedy": (
            "Kiểm tra thiết bị đầu cuối đã bật nguồn, cáp mạng đã cắm (đèn cổng mạng sáng), địa chỉ IP trên "
            "màn hình thiết bị đúng với khóa [codec] host, SNMP đã bật trên thiết bị, tường lửa cho UDP {port}, "
            "và chuỗi community trong tệp [codec.snmp] community_file đúng với community cài trên thiết bị — "
            "thiết bị không trả lời gì khi community sai; chạy lại kiểm tra.",
            "Check that the codec is powered on and cabled (port light on), that the IP address on its screen "
            "matches [codec] host, that SNMP is enabled on it, firewalls for UDP {port}, and that the community in "
            "[codec.snmp] community_file is the one set on the codec — a codec stays silent when the community is "
            "wrong; run the check again.",
        ),
        "codec.reachable.error": (
            "Thiết bị đầu cuối {host} trả lời không đúng giao thức: {error}",
            "The codec {host} answered something unexpected: {error}",
        ),
        "codec.reachable.error.remedy": (
            "Kiểm tra khóa [codec] vendor/transport/port đúng với loại thiết bị; khởi động lại thiết bị đầu cuối "
            "nếu nó vừa cập nhật phần mềm; nếu vẫn lỗi, gửi kết quả `hntht-agent check --json` cho bộ phận hỗ trợ.",
            "Check that [codec] vendor/transport/port match the device; restart the codec if it has just been "
            "upgraded; if it persists, send `hntht-agent check --json` to support.",
        ),
        "codec.login.ok": ("Đăng nhập thiết bị đầu cuối bằng tài khoản {user}", "Logged in to the codec as {user}"),
        "codec.login.insecure": (
            "Đăng nhập qua {transport} KHÔNG mã hóa: mật khẩu đi trên mạng ở dạng rõ",
            "Logged in over unencrypted {transport}: the password crosses the network in clear",
        ),
        "codec.login.insecure.remedy": (
            "Bật SSH hoặc HTTPS trên thiết bị đầu cuối và đặt [codec] transport = \"ssh\" hoặc \"https\" "
            "(Điều 7: giữ bí mật tài khoản truy cập).",
            "Enable SSH or HTTPS on the codec and set [codec] transport = \"ssh\" or \"https\" "
            "(Article 7: keep access accounts secret).",
        ),
        "codec.login.fail": ("Thiết bị đầu cuối từ chối đăng nhập: {error}", "The codec refused the login: {error}"),
        "codec.login.fail.remedy": (
            "Kiểm tra tên tài khoản ([codec] username) và mật khẩu trong tệp [codec] password_file; tài khoản phải "
            "có quyền đọc trạng thái (Cisco: vai trò ADMIN hoặc INTEGRATOR). Hỏi VNPT nếu mật khẩu đã bị đổi.",
            "Check [codec] username and the password in [codec] password_file; the account must be allowed to "
            "read status (Cisco: ADMIN or INTEGRATOR role). Ask VNPT if the password was changed.",
        ),
        "codec.login.hostkey": (
            "Khóa nhận dạng của thiết bị đầu cuối ĐÃ THAY ĐỔI, agent không gửi mật khẩu: {error}",
            "The codec's identity key CHANGED, the agent did not send the password: {error}",
        ),
        "codec.login.hostkey.remedy": (
            "Có thể thiết bị đã được thay hoặc cài lại, hoặc có thiết bị lạ giả mạo. Xác nhận với VNPT; nếu đúng là "
            "thiết bị mới, so khớp mã nhận dạng trên màn hình thiết bị rồi chạy `hntht-agent codec trust --replace`.",
            "The codec may have been replaced or reset, or something is impersonating it. Confirm with VNPT; if it "
            "is a new device, compare the fingerprint on its screen and run `hntht-agent codec trust --replace`.",
        ),
        "codec.login.ca": (
            "Chứng chỉ TLS của thiết bị đầu cuối không được CA đã cấu hình xác nhận, agent không gửi mật khẩu: {error}",
            "The configured CA does not vouch for the codec's TLS certificate, the agent did not send the password: "
            "{error}",
        ),
        "codec.login.ca.remedy": (
            "Kiểm tra `[codec.tls] ca_file` đúng là CA đã cấp chứng chỉ cho thiết bị, chứng chỉ còn hạn, và `[codec] "
            "host` trùng tên hoặc địa chỉ ghi trong chứng chỉ; nếu thiết bị dùng chứng chỉ tự ký, ghim mã chứng chỉ "
            "bằng `sudo hntht-agent codec trust`.",
            "Check that `[codec.tls] ca_file` is the CA that issued the codec's certificate, that the certificate "
            "has not expired, and that `[codec] host` is a name or address the certificate names; for a "
            "self-signed certificate, pin it with `sudo hntht-agent codec trust`.",
        ),
        "codec.login.untrusted": (
            "Chưa xác nhận khóa nhận dạng của thiết bị đầu cuối: {error}",
            "The codec's identity key is not confirmed yet: {error}",
        ),
        "codec.login.untrusted.remedy": (
            "Chạy `sudo hntht-agent codec trust`, so khớp mã nhận dạng (fingerprint) in ra với mã trên màn hình "
            "thiết bị đầu cuối rồi xác nhận.",
            "Run `sudo hntht-agent codec trust`, compare the printed fingerprint with the one on the codec's "
            "screen, then confirm.",
        ),
        # ip
        "codec.ip.ok": ("Địa chỉ IP của thiết bị đầu cuối: {ip}{mask}", "Codec IP address: {ip}{mask}"),
        "codec.ip.mask": (" (mặt nạ {mask}, gateway {gateway})", " (mask {mask}, gateway {gateway})"),
        "codec.ip.mismatch": (
            "Địa chỉ IP của thiết bị đầu cuối là {ip}, khác địa chỉ quy định {expected}",
            "The codec's IP address is {ip}, not the assigned {expected}",
        ),
        "codec.ip.mismatch.remedy": (
            "Đặt lại địa chỉ IP tĩnh {expected} trên thiết bị đầu cuối theo phiếu cấu hình của VNPT (MCU gọi tới "
            "địa chỉ này), hoặc sửa [codec.expect] ip nếu VNPT đã cấp địa chỉ mới.",
            "Set the static IP address {expected} on the codec as VNPT's configuration sheet says (the MCU dials "
            "this address), or fix [codec.expect] ip if VNPT assigned a new one.",
        ),
        # registration
        "codec.reg.h323": ("H.323 (gatekeeper {server})", "H.323 (gatekeeper {server})"),
        "codec.reg.sip": ("SIP (registrar {server})", "SIP (registrar {server})"),
        "codec.reg.ok": ("Thiết bị đầu cuối đã đăng ký {what}", "The codec is registered: {what}"),
        "codec.reg.not_required": (
            "Không yêu cầu đăng ký gatekeeper/SIP ([codec.expect] registration = \"none\")",
            "No gatekeeper/SIP registration required ([codec.expect] registration = \"none\")",
        ),
        "codec.reg.fail": (
            "Thiết bị đầu cuối CHƯA đăng ký với MCU: H.323 {h323}, SIP {sip} (yêu cầu: {expected})",
            "The codec is NOT registered to the MCU: H.323 {h323}, SIP {sip} (required: {expected})",
        ),
        "codec.reg.wrong_server": (
            "Thiết bị đầu cuối đăng ký {proto} tới {server}, không phải {expected}",
            "The codec is registered ({proto}) to {server}, not to {expected}",
        ),
        "codec.reg.fail.remedy": (
            "Kiểm tra đường truyền tới MCU (mục Đường truyền), địa chỉ gatekeeper/SIP registrar và tên/số "
            "(alias) trên thiết bị đầu cuối theo phiếu cấu hình của VNPT; báo VNPT Quảng Ninh (điểm cầu trung tâm) "
            "nếu vẫn chưa đăng ký được.",
            "Check the link to the MCU (Network section), and the gatekeeper/SIP registrar address and alias on "
            "the codec against VNPT's configuration sheet; call VNPT Quảng Ninh (central point) if it still does "
            "not register.",
        ),
        "codec.reg.unknown_word": ("không rõ", "unknown"),
        # video format
        "codec.video.ok": ("Định dạng hình ảnh của {source}: {format} (yêu cầu tối thiểu {expected})",
                           "Video format of {source}: {format} (at least {expected} required)"),
        "codec.video.low": (
            "Định dạng hình ảnh của {source} chỉ đạt {format}, thấp hơn yêu cầu {expected}",
            "Video format of {source} is only {format}, below the required {expected}",
        ),
        "codec.video.low.remedy": (
            "Kiểm tra cáp camera và chế độ camera; đặt định dạng HD {expected} trên thiết bị đầu cuối; trong cuộc "
            "gọi, định dạng thấp thường do băng thông kết nối thấp: kiểm tra mục băng thông và đường truyền.",
            "Check the camera cable and mode; set HD {expected} on the codec; during a call a low format usually "
            "comes from a low call bandwidth: check the bandwidth and network items.",
        ),
        "codec.video.nosignal": (
            "Không có tín hiệu hình ảnh từ nguồn chính (camera) của thiết bị đầu cuối",
            "No picture from the codec's main source (camera)",
        ),
        "codec.video.nosignal.remedy": (
            "Kiểm tra camera đã bật nguồn và cáp camera cắm chắc vào thiết bị đầu cuối; chọn đúng nguồn hình ảnh chính.",
            "Check that the camera is powered and its cable firmly plugged into the codec; select the right main source.",
        ),
        "codec.video.src.call": ("cuộc gọi {id} (chiều gửi)", "call {id} (outgoing)"),
        "codec.video.src.main": ("nguồn hình ảnh chính", "the main video source"),
        # call rate
        "codec.rate.ok": (
            "Băng thông kết nối mặc định {rate} kbps (yêu cầu tối thiểu {expected} kbps){live}",
            "Default call bandwidth {rate} kbps (at least {expected} kbps required){live}",
        ),
        "codec.rate.live": ("; cuộc gọi hiện tại {tx}/{rx} kbps (gửi/nhận)", "; current call {tx}/{rx} kbps (tx/rx)"),
        "codec.rate.low": (
            "Băng thông kết nối mặc định chỉ {rate} kbps, thấp hơn yêu cầu {expected} kbps",
            "Default call bandwidth is only {rate} kbps, below the required {expected} kbps",
        ),
        "codec.rate.low.remedy": (
            "Đặt băng thông kết nối mặc định (Default call rate) trên thiết bị đầu cuối ≥ {expected} kbps theo "
            "hướng dẫn của VNPT.",
            "Set the codec's default call rate to at least {expected} kbps as VNPT instructs.",
        ),
        "codec.rate.live_low": (
            "Cuộc gọi hiện tại chỉ đạt {tx}/{rx} kbps (gửi/nhận), thấp hơn yêu cầu {expected} kbps",
            "The current call runs at only {tx}/{rx} kbps (tx/rx), below the required {expected} kbps",
        ),
        "codec.rate.live_low.remedy": (
            "Băng thông thực tế thấp: kiểm tra đường truyền (mất gói, độ trễ) và báo VNPT kiểm tra cấu hình cuộc "
            "họp trên MCU.",
            "The live bandwidth is low: check the link (loss, delay) and ask VNPT to check the meeting's settings "
            "on the MCU.",
        ),
        # content rate
        "codec.content.ok": (
            "Băng thông trình chiếu dữ liệu trong cuộc gọi {id}: {rate} kbps{limit}",
            "Content (presentation) bandwidth in call {id}: {rate} kbps{limit}",
        ),
        "codec.content.limit": (" (yêu cầu tối thiểu {expected} kbps)", " (at least {expected} kbps required)"),
        "codec.content.low": (
            "Băng thông trình chiếu dữ liệu chỉ {rate} kbps, thấp hơn yêu cầu {expected} kbps",
            "Content (presentation) bandwidth is only {rate} kbps, below the required {expected} kbps",
        ),
        "codec.content.low.remedy": (
            "Kiểm tra băng thông kết nối của cuộc gọi và đường truyền; báo VNPT kiểm tra băng thông trình chiếu "
            "trên MCU.",
            "Check the call bandwidth and the link; ask VNPT to check the content bandwidth on the MCU.",
        ),
        "codec.content.idle": (
            "Không đo được băng thông trình chiếu dữ liệu: {why}",
            "Content (presentation) bandwidth not measured: {why}",
        ),
        "codec.content.nocall": ("thiết bị đầu cuối đang không trong cuộc gọi", "the codec is not in a call"),
        "codec.content.noshare": ("cuộc gọi đang không trình chiếu dữ liệu", "no content is being shared in the call"),
        "codec.content.idle.remedy": (
            "Trong phiên tổng duyệt, trình chiếu thử một tài liệu rồi chạy lại kiểm tra để đo băng thông trình chiếu.",
            "During the rehearsal, share a document and run the check again to measure the content bandwidth.",
        ),
        # monitors
        "codec.monitors.ok": (
            "{connected}/{expected} màn hình đã kết nối ({list}); chế độ hiển thị: {mode}",
            "{connected}/{expected} screens connected ({list}); display mode: {mode}",
        ),
        "codec.monitors.few": (
            "Chỉ {connected} màn hình kết nối với thiết bị đầu cuối, yêu cầu {expected} (hiển thị 2 nguồn hình ảnh khác nhau)",
            "Only {connected} screen(s) connected to the codec, {expected} required (two different video sources)",
        ),
        "codec.monitors.few.remedy": (
            "Kiểm tra màn hình thứ hai đã bật nguồn, đúng cổng vào (HDMI) và cáp HDMI cắm chắc vào cổng ra của thiết "
            "bị đầu cuối; không thay đổi chế độ hiển thị hình ảnh đã thống nhất trong phiên tổng duyệt.",
            "Check that the second screen is on, on the right input (HDMI), and that its HDMI cable is firmly in the "
            "codec's output; keep the display mode agreed at the rehearsal.",
        ),
        "codec.monitors.single": (
            "Chế độ hiển thị của thiết bị đầu cuối là {mode}: chỉ hiển thị một nguồn hình ảnh",
            "The codec's display mode is {mode}: only one video source is shown",
        ),
        "codec.monitors.configured_few": (
            "Chế độ hiển thị {mode} của thiết bị đầu cuối chỉ dùng {count} cổng ra màn hình, yêu cầu {expected}",
            "The codec's display mode {mode} drives only {count} output(s), {expected} required",
        ),
        "codec.monitors.configured_few.remedy": (
            "Đặt chế độ hiển thị (Video Monitors) theo số màn hình của phòng như VNPT hướng dẫn, để hiển thị 2 nguồn "
            "hình ảnh khác nhau.",
            "Set the display mode (Video Monitors) for the room's screens as VNPT instructs, to show two different "
            "video sources.",
        ),
        "codec.monitors.single.remedy": (
            "Đặt chế độ hiển thị (Video Monitors) về Auto hoặc Dual theo hướng dẫn của VNPT để hiển thị 2 nguồn hình ảnh.",
            "Set the display mode (Video Monitors) to Auto or Dual as VNPT instructs, to show two video sources.",
        ),
        # audio
        "codec.audio.ok": (
            "Âm thanh: {mics}/{total} micro đã kết nối, micro {mute}, âm lượng {volume}",
            "Audio: {mics}/{total} microphones connected, microphones {mute}, volume {volume}",
        ),
        "codec.audio.muted_word": ("đang tắt tiếng", "muted"),
        "codec.audio.live_word": ("đang bật", "live"),
        "codec.audio.nomic": (
            "Chỉ {mics} micro kết nối với thiết bị đầu cuối, yêu cầu {expected}",
            "Only {mics} microphone(s) connected to the codec, {expected} required",
        ),
        "codec.audio.nomic.remedy": (
            "Kiểm tra micro (micro đa hướng đặt ở vị trí chủ tọa) đã cắm chắc vào cổng micro của thiết bị đầu cuối.",
            "Check that the microphones (the omnidirectional mic at the chair) are firmly plugged into the codec.",
        ),
        "codec.audio.muted": (
            "Micro của thiết bị đầu cuối đang TẮT TIẾNG (mute) khi không có cuộc gọi",
            "The codec's microphones are MUTED outside a call",
        ),
        "codec.audio.muted_unknown": (
            "Micro của thiết bị đầu cuối đang TẮT TIẾNG (mute); không biết thiết bị có đang trong cuộc gọi hay "
            "không ({reason}) nên chưa coi là lỗi: tắt tiếng trong cuộc họp có thể là chủ ý",
            "The codec's microphones are MUTED; whether it is in a call is unknown ({reason}), so this is not "
            "counted as a fault: muting during a meeting may be intended",
        ),
        "codec.audio.muted_unknown.remedy": (
            "Nếu thiết bị đầu cuối không trong cuộc họp, bấm nút tắt/bật tiếng micro trên điều khiển hoặc màn hình "
            "cảm ứng để bật lại micro trước phiên tổng duyệt; nếu đang họp và chủ tọa yêu cầu tắt tiếng, giữ nguyên.",
            "If the codec is not in a meeting, press the microphone mute button on the remote or touch panel to "
            "unmute before the rehearsal; if a meeting is on and the chair asked for mute, leave it.",
        ),
        "codec.audio.muted.remedy": (
            "Bấm nút tắt/bật tiếng micro trên điều khiển hoặc màn hình cảm ứng để bật lại micro trước phiên tổng duyệt.",
            "Press the microphone mute button on the remote or touch panel to unmute before the rehearsal.",
        ),
        "codec.audio.silent": (
            "Loa của thiết bị đầu cuối không phát tiếng (âm lượng {volume}{speaker})",
            "The codec's loudspeaker is silent (volume {volume}{speaker})",
        ),
        "codec.audio.speaker_muted": (", loa đang tắt tiếng", ", loudspeaker muted"),
        "codec.audio.silent.remedy": (
            "Tăng âm lượng trên điều khiển của thiết bị đầu cuối và kiểm tra tín hiệu âm thanh ra hệ thống âm thanh "
            "của phòng (không hú, rít, nhiễu).",
            "Raise the volume on the codec's remote and check the audio output to the room's sound system (no "
            "howl, hiss or noise).",
        ),
        # echo control
        "codec.echo.ok": ("Chế độ triệt vọng (echo cancellation) đang bật cho {list}",
                          "Echo cancellation is on for {list}"),
        "codec.echo.off": ("Chế độ triệt vọng (echo cancellation) đang TẮT cho {list}",
                           "Echo cancellation is OFF for {list}"),
        "codec.echo.off.remedy": (
            "Bật chế độ triệt vọng (Audio Input Microphone EchoControl Mode = On) cho các micro này theo hướng dẫn "
            "của VNPT; nếu phòng dùng bộ xử lý âm thanh riêng có triệt vọng, đặt [codec.expect] echo_control = false.",
            "Turn echo cancellation on (Audio Input Microphone EchoControl Mode = On) for these microphones as "
            "VNPT instructs; if the room's own audio processor cancels echo, set [codec.expect] echo_control = false.",
        ),
        "codec.echo.not_required": ("Không yêu cầu kiểm tra chế độ triệt vọng ([codec.expect] echo_control = false)",
                                    "Echo cancellation not checked ([codec.expect] echo_control = false)"),
        "codec.echo.builtin": (
            "Thiết bị đầu cuối không có cài đặt triệt vọng cho từng micro ({reason})",
            "The codec has no per-microphone echo cancellation setting ({reason})",
        ),
        "codec.echo.builtin.remedy": (
            "Kiểm tra bằng cách nghe thử trong phiên tổng duyệt: không có tiếng vọng, hú, rít.",
            "Check by ear during the rehearsal: no echo, howl or hiss.",
        ),
        "codec.mic": ("micro {id}", "microphone {id}"),
        # presets
        "codec.presets.ok": ("Các vị trí quay camera (preset) đã lưu: {list}", "Camera presets stored: {list}"),
        "codec.presets.missing": (
            "Thiếu vị trí quay camera (preset): {missing} (đã có: {list})",
            "Missing camera presets: {missing} (stored: {list})",
        ),
        "codec.presets.missing.remedy": (
            "Dùng điều khiển hoặc màn hình cảm ứng: quay camera tới vị trí {missing}, rồi lưu nút nhớ (preset) với "
            "đúng tên đó. Agent chỉ đọc, không tự lưu preset.",
            "With the remote or touch panel, move the camera to {missing} and store a preset with exactly that "
            "name. The agent only reads; it never stores presets.",
        ),
        "codec.presets.none": ("Chưa lưu vị trí quay camera (preset) nào", "No camera preset is stored"),
        "codec.presets.none.remedy": (
            "Lưu các nút nhớ camera: vị trí chủ tọa, bên trái, bên phải, phóng to, thu nhỏ; rồi liệt kê tên của "
            "chúng trong [codec.expect] camera_presets.",
            "Store camera presets: chair position, left, right, zoom in, zoom out; then list their names in "
            "[codec.expect] camera_presets.",
        ),
        "codec.presets.empty_word": ("không có", "none"),
        # standby
        "codec.standby.ok": ("Thiết bị đầu cuối đang hoạt động (không ở chế độ chờ)", "The codec is awake (not in standby)"),
        "codec.standby.sleep": ("Thiết bị đầu cuối đang ở chế độ chờ (standby: {raw})", "The codec is in standby ({raw})"),
        "codec.standby.half": ("Thiết bị đầu cuối đang ở chế độ chờ nửa ({raw})", "The codec is half awake ({raw})"),
        "codec.standby.remedy": (
            "Đánh thức thiết bị đầu cuối bằng điều khiển hoặc màn hình cảm ứng trước phiên tổng duyệt, rồi chạy lại "
            "kiểm tra (agent không tự đánh thức thiết bị).",
            "Wake the codec with the remote or touch panel before the rehearsal, then run the check again (the "
            "agent never wakes it itself).",
        ),
        # version
        "codec.version.ok": ("Phiên bản phần mềm: {version}", "Software version: {version}"),
        "codec.version.match": ("Phiên bản phần mềm {version} đúng phiên bản quy định {expected}",
                                "Software version {version} is the approved {expected}"),
        "codec.version.other": (
            "Phiên bản phần mềm {version} khác phiên bản quy định {expected}",
            "Software version {version} differs from the approved {expected}",
        ),
        "codec.version.other.remedy": (
            "Không tự cập nhật phần mềm (Điều 7 khoản 5): báo VNPT để xác nhận hoặc đưa thiết bị về phiên bản quy định.",
            "Do not upgrade it yourself (Article 7(5)): tell VNPT to confirm or bring the codec to the approved version.",
        ),
        # what names (for codec.unknown)
        "codec.what.ip": ("địa chỉ IP", "its IP address"),
        "codec.what.registration": ("trạng thái đăng ký H.323/SIP", "its H.323/SIP registration"),
        "codec.what.video": ("định dạng hình ảnh", "its video format"),
        "codec.what.rate": ("băng thông kết nối", "its call bandwidth"),
        "codec.what.content": ("băng thông cho trình chiếu dữ liệu", "its content (presentation) bandwidth"),
        "codec.what.monitors": ("trạng thái màn hình", "its screens"),
        "codec.what.audio": ("trạng thái micro và âm lượng", "its microphones and volume"),
        "codec.what.echo": ("chế độ triệt vọng", "its echo cancellation"),
        "codec.what.presets": ("danh sách preset camera", "its camera presets"),
        "codec.what.standby": ("trạng thái chờ (standby)", "its standby state"),
        "codec.what.version": ("phiên bản phần mềm", "its software version"),
    }
)

_FORMAT_HEIGHT = {"720p": 720, "1080p": 1080}


def _unknown(check_id: str, what: str, status: m.CodecStatus, path: str, *, observed: Any = None) -> CheckResult:
    """A needed value is None: ``skip`` with a by-hand check when this model / API cannot report it,
    ``error`` when it could not be read this time (see the module docstring)."""
    reason = status.reason(path) or m_not_reported()
    if m.is_api_limit(reason):
        how = Text(f"codec.by_hand.{what}") if known(f"codec.by_hand.{what}") else Text("codec.unknown.remedy")
        return CheckResult(check_id, Status.SKIP,
                           Text("codec.by_hand", what=Text(f"codec.what.{what}"), reason=reason, how=how),
                           observed=observed, remedy=how, clause=CLAUSE)
    return CheckResult(check_id, Status.ERROR, Text("codec.unknown", what=Text(f"codec.what.{what}"), reason=reason),
                       observed=observed, remedy=Text("codec.unknown.remedy"), clause=CLAUSE)


def m_not_reported() -> Text:
    from agent.vendors.base import NOT_REPORTED

    return NOT_REPORTED


def _result(check_id: str, status: Status, message: Text, *, observed: Any = None, expected: Any = None,
            remedy: Text | None = None) -> CheckResult:
    return CheckResult(check_id, status, message, observed=observed, expected=expected, remedy=remedy, clause=CLAUSE)


# -- each check --------------------------------------------------------------------------------
def check_reachable(status: m.CodecStatus, host: str) -> CheckResult:
    facts = status.facts
    return _result("codec.reachable", Status.PASS,
                   Text("codec.reachable.ok", model=facts.model or status.vendor, host=host,
                        transport=status.transport.upper(), version=facts.software_version or "?"),
                   observed={"model": facts.model, "software_version": facts.software_version})


def check_login(status: m.CodecStatus, user: str) -> CheckResult:
    if status.insecure_transport:
        return _result("codec.login", Status.WARN, Text("codec.login.insecure", transport=status.transport.upper()),
                       observed=status.transport, expected="ssh/https", remedy=Text("codec.login.insecure.remedy"))
    return _result("codec.login", Status.PASS, Text("codec.login.ok", user=user), observed=status.transport)


def check_ip(status: m.CodecStatus, expect: Any) -> CheckResult:
    net = status.network
    if net.ip is None:
        return _unknown("codec.ip", "ip", status, "network.ip")
    if expect.ip and net.ip != expect.ip:
        return _result("codec.ip", Status.FAIL, Text("codec.ip.mismatch", ip=net.ip, expected=expect.ip),
                       observed=net.ip, expected=expect.ip, remedy=Text("codec.ip.mismatch.remedy", expected=expect.ip))
    mask = Text("codec.ip.mask", mask=net.netmask, gateway=net.gateway or "-") if net.netmask else ""
    return _result("codec.ip", Status.PASS, Text("codec.ip.ok", ip=net.ip, mask=mask), observed=net.ip,
                   expected=expect.ip or None)


def _same_server(seen: str | None, wanted: str) -> bool:
    if not wanted:
        return True
    if not seen:
        return False
    strip = lambda s: re.sub(r"^(sips?:)", "", s.strip().lower()).split(";")[0]  # noqa: E731
    seen_s, wanted_s = strip(seen), strip(wanted)
    return seen_s == wanted_s or seen_s.split(":")[0] == wanted_s.split(":")[0]


def check_registration(status: m.CodecStatus, expect: Any) -> CheckResult:
    if expect.registration == "none":
        return _result("codec.registration", Status.SKIP, Text("codec.reg.not_required"))
    reg = status.registration
    protos = {"h323": ["h323"], "sip": ["sip"], "any": ["h323", "sip"]}[expect.registration]
    wanted = {"h323": expect.gatekeeper, "sip": expect.registrar}
    states = {p: getattr(reg, p) for p in ("h323", "sip")}
    observed = {p: {"status": s.status, "server": s.server or s.configured_server} for p, s in states.items()}
    ok = [p for p in protos if states[p].status == m.REGISTERED]
    if not ok and all(states[p].status is None for p in protos):
        return _unknown("codec.registration", "registration", status, f"registration.{protos[0]}.status")
    expected_text = {"h323": "H.323", "sip": "SIP", "any": "H.323 / SIP"}[expect.registration]
    if not ok:
        word = lambda s: s.raw or s.status or Text("codec.reg.unknown_word")  # noqa: E731
        return _result("codec.registration", Status.FAIL,
                       Text("codec.reg.fail", h323=word(states["h323"]), sip=word(states["sip"]), expected=expected_text),
                       observed=observed, expected={"registration": expect.registration, **{k: v for k, v in wanted.items() if v}},
                       remedy=Text("codec.reg.fail.remedy"))
    for proto in ok:
        server = states[proto].server or states[proto].configured_server
        if wanted[proto] and not _same_server(server, wanted[proto]):
            if any(_same_server(states[p].server or states[p].configured_server, wanted[p]) for p in ok if p != proto):
                continue
            return _result("codec.registration", Status.FAIL,
                           Text("codec.reg.wrong_server", proto="H.323" if proto == "h323" else "SIP",
                                server=server or "?", expected=wanted[proto]),
                           observed=observed, expected=wanted[proto], remedy=Text("codec.reg.fail.remedy"))
    return _result("codec.registration", Status.PASS, Text("codec.reg.ok", what=_RegList(ok, states)),
                   observed=observed)


class _RegList(Text):
    """Renders 'H.323 (gatekeeper X), SIP (registrar Y)' in the reader's language."""

    def __init__(self, protos: list[str], states: dict[str, m.RegistrationState]) -> None:
        super().__init__("codec.reg.list")
        object.__setattr__(self, "params", {"items": [
            Text(f"codec.reg.{p}", server=states[p].server or states[p].configured_server or "?") for p in protos]})

    def render(self, lang: str) -> str:
        return ", ".join(t.render(lang) for t in self.params["items"])


def _height(fmt: str | None) -> int | None:
    if not fmt:
        return None
    match = re.match(r"\s*(\d+)\s*x\s*(\d+)", fmt)
    if match:
        return int(match.group(2))
    match = re.match(r"\s*(\d+)p", fmt)
    return int(match.group(1)) if match else None


def check_video_format(status: m.CodecStatus, expect: Any) -> CheckResult:
    need = _FORMAT_HEIGHT[expect.video_format]
    calls = [c for c in (status.calls or []) if c.tx_video_format]
    if calls:
        worst = min(calls, key=lambda c: _height(c.tx_video_format) or 0)
        fmt, source = worst.tx_video_format, Text("codec.video.src.call", id=worst.id)
    else:
        fmt, source = status.video.main_source_format, Text("codec.video.src.main")
        if fmt is None:
            if m.is_no_signal(status.reasons.get("video.main_source_format")):
                return _result("codec.video_format", Status.FAIL, Text("codec.video.nosignal"),
                               expected=expect.video_format, remedy=Text("codec.video.nosignal.remedy"))
            # In a call whose outgoing format was not read (being set up, ended while read), the call's
            # reason says why, not "the API reports the format only during a call".
            pending = [c for c in (status.calls or []) if not c.tx_video_format]
            path = f"calls[{pending[0].id}].tx_video_format" if pending else "video.main_source_format"
            return _unknown("codec.video_format", "video", status, path)
    height = _height(fmt)
    if height is None:
        return _unknown("codec.video_format", "video", status, "video.main_source_format")
    if height < need:
        return _result("codec.video_format", Status.FAIL,
                       Text("codec.video.low", source=source, format=fmt, expected=expect.video_format),
                       observed=fmt, expected=expect.video_format,
                       remedy=Text("codec.video.low.remedy", expected=expect.video_format))
    return _result("codec.video_format", Status.PASS,
                   Text("codec.video.ok", source=source, format=fmt, expected=expect.video_format),
                   observed=fmt, expected=expect.video_format)


def check_call_rate(status: m.CodecStatus, expect: Any) -> CheckResult:
    rate = status.call_rate.default_kbps
    need = expect.min_call_rate_kbps
    if rate is None:
        return _unknown("codec.call_rate", "rate", status, "call_rate.default_kbps")
    observed: dict[str, Any] = {"default_kbps": rate}
    if rate < need:
        return _result("codec.call_rate", Status.FAIL, Text("codec.rate.low", rate=rate, expected=need),
                       observed=observed, expected=need, remedy=Text("codec.rate.low.remedy", expected=need))
    live = [c for c in (status.calls or []) if c.tx_rate_kbps is not None and c.rx_rate_kbps is not None]
    live_text: Any = ""
    if live:
        low = min(live, key=lambda c: min(c.tx_rate_kbps or 0, c.rx_rate_kbps or 0))
        observed["call"] = {"id": low.id, "tx_kbps": low.tx_rate_kbps, "rx_kbps": low.rx_rate_kbps}
        if min(low.tx_rate_kbps or 0, low.rx_rate_kbps or 0) < need:
            return _result("codec.call_rate", Status.WARN,
                           Text("codec.rate.live_low", tx=low.tx_rate_kbps, rx=low.rx_rate_kbps, expected=need),
                           observed=observed, expected=need, remedy=Text("codec.rate.live_low.remedy"))
        live_text = Text("codec.rate.live", tx=low.tx_rate_kbps, rx=low.rx_rate_kbps)
    return _result("codec.call_rate", Status.PASS, Text("codec.rate.ok", rate=rate, expected=need, live=live_text),
                   observed=observed, expected=need)


def check_content_rate(status: m.CodecStatus, expect: Any) -> CheckResult:
    need = expect.min_content_rate_kbps
    if status.calls is None:
        return _unknown("codec.content_rate", "content", status, "calls")
    if not status.calls:
        return _result("codec.content_rate", Status.SKIP, Text("codec.content.idle", why=Text("codec.content.nocall")),
                       expected=need or None, remedy=Text("codec.content.idle.remedy"))
    sharing = [c for c in status.calls if c.content_active and c.content_rate_kbps is not None]
    if not sharing:
        return _result("codec.content_rate", Status.SKIP, Text("codec.content.idle", why=Text("codec.content.noshare")),
                       expected=need or None, remedy=Text("codec.content.idle.remedy"))
    low = min(sharing, key=lambda c: c.content_rate_kbps or 0)
    if need and (low.content_rate_kbps or 0) < need:
        return _result("codec.content_rate", Status.FAIL, Text("codec.content.low", rate=low.content_rate_kbps, expected=need),
                       observed=low.content_rate_kbps, expected=need, remedy=Text("codec.content.low.remedy"))
    limit = Text("codec.content.limit", expected=need) if need else ""
    return _result("codec.content_rate", Status.PASS,
                   Text("codec.content.ok", id=low.id, rate=low.content_rate_kbps, limit=limit),
                   observed=low.content_rate_kbps, expected=need or None)


def check_monitors(status: m.CodecStatus, expect: Any) -> CheckResult:
    video = status.video
    if not video.monitors and video.monitors_configured is None:
        return _unknown("codec.monitors", "monitors", status, "video.monitors")
    count = video.monitors_configured_count
    if count is None:  # a status not built by a driver's poll (tests, the collector): same derivation
        count, _ = m.configured_outputs(status)
    connected = [mon for mon in video.monitors if mon.connected]
    observed = {"connected": len(connected), "mode": video.monitors_configured, "configured": count,
                "outputs": [{"id": mon.id, "role": mon.role, "resolution": mon.resolution, "connected": mon.connected}
                            for mon in video.monitors]}
    unknown = [mon for mon in video.monitors if mon.connected is None]
    unread = m.unread_outputs(status)
    if unread:  # an output's setting not read this time: neither "plug state not reported" nor "Single"
        return _unknown("codec.monitors", "monitors", status, unread[0], observed=observed)
    too_few_configured = count is not None and count < expect.monitors
    if len(connected) < expect.monitors and unknown and not too_few_configured:
        # Outputs whose plug state the device does not report (Poly text API): cannot verify, not "missing".
        return _unknown("codec.monitors", "monitors", status, f"video.monitors[{unknown[0].id}].connected",
                        observed=observed)
    if len(connected) < expect.monitors and not unknown:
        return _result("codec.monitors", Status.FAIL,
                       Text("codec.monitors.few", connected=len(connected), expected=expect.monitors),
                       observed=observed, expected=expect.monitors, remedy=Text("codec.monitors.few.remedy"))
    if too_few_configured and expect.monitors >= 2:
        if count == 1:
            return _result("codec.monitors", Status.FAIL, Text("codec.monitors.single", mode=video.monitors_configured),
                           observed=observed, expected=expect.monitors, remedy=Text("codec.monitors.single.remedy"))
        return _result("codec.monitors", Status.FAIL,
                       Text("codec.monitors.configured_few", mode=video.monitors_configured, count=count,
                            expected=expect.monitors),
                       observed=observed, expected=expect.monitors, remedy=Text("codec.monitors.configured_few.remedy"))
    names = ", ".join(f"{mon.id}: {mon.device or mon.role or '?'} {mon.resolution or ''}".strip() for mon in connected) or "-"
    return _result("codec.monitors", Status.PASS,
                   Text("codec.monitors.ok", connected=len(connected), expected=expect.monitors, list=names,
                        mode=video.monitors_configured or "?"),
                   observed=observed, expected=expect.monitors)


def check_audio(status: m.CodecStatus, expect: Any) -> CheckResult:
    audio = status.audio
    paths = ["audio.mics_connected", "audio.muted", "audio.volume"]
    paths.sort(key=lambda p: m.is_api_limit(status.reason(p)))  # a value not read this time first: error
    if audio.mics_connected is None and audio.muted is None and audio.volume is None:
        return _unknown("codec.audio", "audio", status, paths[0])
    observed = {"mics_connected": audio.mics_connected, "mics_total": audio.mics_total, "muted": audio.muted,
                "volume": audio.volume, "volume_muted": audio.volume_muted}
    if audio.mics_connected is not None and audio.mics_connected < expect.microphones:
        return _result("codec.audio", Status.FAIL, Text("codec.audio.nomic", mics=audio.mics_connected, expected=expect.microphones),
                       observed=observed, expected={"microphones": expect.microphones}, remedy=Text("codec.audio.nomic.remedy"))
    in_call = status.in_call  # None: the device did not give its calls (reasons["calls"])
    if audio.muted and in_call is False:
        return _result("codec.audio", Status.FAIL, Text("codec.audio.muted"), observed=observed,
                       expected={"muted": False}, remedy=Text("codec.audio.muted.remedy"))
    if audio.volume == 0 or audio.volume_muted:
        return _result("codec.audio", Status.FAIL,
                       Text("codec.audio.silent", volume=audio.volume if audio.volume is not None else "?",
                            speaker=Text("codec.audio.speaker_muted") if audio.volume_muted else ""),
                       observed=observed, expected={"volume": "> 0"}, remedy=Text("codec.audio.silent.remedy"))
    missing = [p for p in paths if status.reason(p) and getattr(audio, p.split(".")[1]) is None]
    if missing:
        return _unknown("codec.audio", "audio", status, missing[0], observed=observed)
    if audio.muted and in_call is None:
        # Muted while the codec may be in a call (e.g. a Cisco reporting an active call without details):
        # muting in a meeting is normal, so not a fail; a warning, so the technician looks.
        return _result("codec.audio", Status.WARN,
                       Text("codec.audio.muted_unknown", reason=status.reason("calls") or m_not_reported()),
                       observed=observed, expected={"muted": False}, remedy=Text("codec.audio.muted_unknown.remedy"))
    return _result("codec.audio", Status.PASS,
                   Text("codec.audio.ok", mics=audio.mics_connected, total=audio.mics_total if audio.mics_total is not None else "?",
                        mute=Text("codec.audio.muted_word" if audio.muted else "codec.audio.live_word"), volume=audio.volume),
                   observed=observed, expected={"microphones": expect.microphones})


def check_echo_control(status: m.CodecStatus, expect: Any) -> CheckResult:
    if not expect.echo_control:
        return _result("codec.echo_control", Status.SKIP, Text("codec.echo.not_required"))
    mics = [mic for mic in status.audio.mics if mic.echo_control is not None]
    if not mics:
        path = "audio.echo_control" if status.reason("audio.echo_control") else "audio.mics"
        reason = status.reason(path)
        if m.is_api_limit(reason):  # a model without the setting (Room Kit/Bar, VideoOS, SNMP): check by ear
            return _result("codec.echo_control", Status.SKIP, Text("codec.echo.builtin", reason=reason),
                           remedy=Text("codec.echo.builtin.remedy"))
        return _unknown("codec.echo_control", "echo", status, path)  # not read this time: error
    off = [mic for mic in mics if not mic.echo_control]
    observed = {mic.id: mic.echo_control for mic in mics}
    label = lambda ms: _Joined([Text("codec.mic", id=mic.id) for mic in ms])  # noqa: E731
    if off:
        return _result("codec.echo_control", Status.FAIL, Text("codec.echo.off", list=label(off)),
                       observed=observed, expected=True, remedy=Text("codec.echo.off.remedy"))
    return _result("codec.echo_control", Status.PASS, Text("codec.echo.ok", list=label(mics)), observed=observed, expected=True)


class _Joined(Text):
    def __init__(self, items: list[Text]) -> None:
        super().__init__("codec.joined")
        object.__setattr__(self, "params", {"items": items})

    def render(self, lang: str) -> str:
        return ", ".join(t.render(lang) for t in self.params["items"])


def preset_key(name: str) -> str:
    """Names compare without case, accents typed differently (NFC/NFD) or extra spaces."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def check_camera_presets(status: m.CodecStatus, expect: Any) -> CheckResult:
    if status.presets is None:
        return _unknown("codec.camera_presets", "presets", status, "presets")
    names = [p.name or f"#{p.id}" for p in status.presets]
    shown = ", ".join(names) if names else Text("codec.presets.empty_word")
    if expect.camera_presets:
        have = {preset_key(n) for n in names}
        missing = [n for n in expect.camera_presets if preset_key(n) not in have]
        if missing:
            return _result("codec.camera_presets", Status.FAIL,
                           Text("codec.presets.missing", missing=", ".join(missing), list=shown),
                           observed=names, expected=list(expect.camera_presets),
                           remedy=Text("codec.presets.missing.remedy", missing=", ".join(missing)))
    elif not names:
        return _result("codec.camera_presets", Status.WARN, Text("codec.presets.none"), observed=names,
                       remedy=Text("codec.presets.none.remedy"))
    return _result("codec.camera_presets", Status.PASS, Text("codec.presets.ok", list=shown), observed=names,
                   expected=list(expect.camera_presets) or None)


def check_standby(status: m.CodecStatus, expect: Any) -> CheckResult:
    sb = status.standby
    if sb.state is None:
        return _unknown("codec.standby", "standby", status, "standby.state")
    if sb.state == m.STANDBY:
        return _result("codec.standby", Status.FAIL, Text("codec.standby.sleep", raw=sb.raw or sb.state),
                       observed=sb.raw, expected="awake", remedy=Text("codec.standby.remedy"))
    if sb.state == m.HALFWAKE:
        return _result("codec.standby", Status.WARN, Text("codec.standby.half", raw=sb.raw or sb.state),
                       observed=sb.raw, expected="awake", remedy=Text("codec.standby.remedy"))
    return _result("codec.standby", Status.PASS, Text("codec.standby.ok"), observed=sb.raw, expected="awake")


def check_version(status: m.CodecStatus, expect: Any) -> CheckResult:
    version = status.facts.software_version
    if version is None:
        return _unknown("codec.version", "version", status, "facts.software_version")
    if not expect.version:
        return _result("codec.version", Status.PASS, Text("codec.version.ok", version=version), observed=version)
    if version.lower().startswith(expect.version.strip().lower()):
        return _result("codec.version", Status.PASS, Text("codec.version.match", version=version, expected=expect.version),
                       observed=version, expected=expect.version)
    return _result("codec.version", Status.WARN, Text("codec.version.other", version=version, expected=expect.version),
                   observed=version, expected=expect.version, remedy=Text("codec.version.other.remedy"))


CHECKS: list[tuple[str, Callable[[m.CodecStatus, Any], CheckResult]]] = [
    ("codec.ip", check_ip),
    ("codec.registration", check_registration),
    ("codec.video_format", check_video_format),
    ("codec.call_rate", check_call_rate),
    ("codec.content_rate", check_content_rate),
    ("codec.monitors", check_monitors),
    ("codec.audio", check_audio),
    ("codec.echo_control", check_echo_control),
    ("codec.camera_presets", check_camera_presets),
    ("codec.standby", check_standby),
    ("codec.version", check_version),
]

CHECK_IDS = ["codec.reachable", "codec.login"] + [cid for cid, _ in CHECKS]


def evaluate(status: m.CodecStatus, expect: Any, *, host: str, user: str) -> list[CheckResult]:
    results = [check_reachable(status, host), check_login(status, user)]
    results.extend(fn(status, expect) for _, fn in CHECKS)
    return results


# -- when no status could be read ----------------------------------------------------------------
def unreachable(host: str, error: BaseException, *, transport: str | None = None, port: int | None = None) -> list[CheckResult]:
    """codec.reachable fail.  Over SNMP the remedy names the community too: a v1/v2c agent answers nothing
    to a wrong community, so it cannot be told from a codec that is off or unplugged."""
    remedy = Text("codec.reachable.fail.snmp.remedy", port=port or 161) if transport == "snmp" \
        else Text("codec.reachable.fail.remedy")
    return [_result("codec.reachable", Status.FAIL, Text("codec.reachable.fail", host=host, error=shown(error)),
                    remedy=remedy)]


def login_failed(host: str, error: BaseException, kind: str) -> list[CheckResult]:
    ok = _result("codec.reachable", Status.PASS, Text("codec.reachable.answered", host=host))
    status = Status.ERROR if kind == "untrusted" else Status.FAIL
    return [ok, _result("codec.login", status, Text(f"codec.login.{kind}", error=shown(error)),
                        remedy=Text(f"codec.login.{kind}.remedy"))]


def protocol_error(host: str, error: BaseException) -> list[CheckResult]:
    return [_result("codec.reachable", Status.ERROR, Text("codec.reachable.error", host=host, error=shown(error)),
                    remedy=Text("codec.reachable.error.remedy"))]
