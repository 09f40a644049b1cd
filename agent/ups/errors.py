"""How UPS I/O failures become agent.errors types, with Vietnamese remedies.

Drivers wrap their I/O in :func:`io_errors`; device garbage raises :class:`UpsProtocolError`.
Nothing outside :mod:`agent.errors`' tree escapes a driver, so the probe shows an ``error``
line with a remedy, never a traceback.  Each error carries ``.text`` (what the check message
says, in the report's language) beside its English ``str()`` for logs.
"""

from __future__ import annotations

import errno
import socket
from contextlib import contextmanager
from typing import Iterator

from agent.errors import DeviceError, DeviceUnreachable, PermissionDenied, ProtocolError
from agent.i18n import Text, register

register(
    {
        "ups.err.port_missing": ("không có cổng nối tiếp {port}", "serial port {port} does not exist"),
        "ups.err.port_denied": ("agent không có quyền mở cổng nối tiếp {port}", "no permission to open serial port {port}"),
        "ups.err.port_busy": (
            "cổng nối tiếp {port} đang bị chương trình khác dùng",
            "serial port {port} is in use by another process",
        ),
        "ups.err.port_locked": (
            "cổng nối tiếp {port} đang bị khóa bởi chương trình khác ({lock})",
            "serial port {port} is locked by another process ({lock})",
        ),
        "ups.err.port_closed": ("cổng nối tiếp {port} chưa được mở", "serial port {port} is not open"),
        "ups.err.port_open": ("không mở được cổng nối tiếp {port}: {error}", "cannot open serial port {port}: {error}"),
        "ups.err.no_reply": (
            "bộ lưu điện (UPS) không trả lời lệnh {command} trên cổng {port} trong {seconds} giây",
            "no reply to {command} on {port} within {seconds} s",
        ),
        "ups.err.refused": (
            "bộ lưu điện (UPS) từ chối lệnh {command} (sai giao thức?)",
            "the UPS refused {command} (wrong protocol?)",
        ),
        "ups.err.unreadable": ("UPS trả lời dữ liệu không đọc được", "the UPS answered unreadable data"),
        "ups.err.reply": ("{detail}: {reply}", "{detail}: {reply}"),
        "ups.err.timeout": ("{what} không trả lời kịp thời hạn", "{what} did not answer in time"),
        "ups.err.refused_connection": ("{what} từ chối kết nối", "{what} refused the connection"),
        "ups.err.unreachable": ("không kết nối được tới {what}: {error}", "cannot reach {what}: {error}"),
        "ups.err.port_missing.remedy": (
            "Không thấy cổng nối tiếp {port}: kiểm tra cáp RS232/USB nối bộ lưu điện (UPS) với máy agent, "
            "xem tên cổng bằng lệnh `ls /dev/ttyUSB* /dev/ttyS*` và sửa khóa [ups.megatec] port.",
            "Serial port {port} does not exist: check the RS232/USB cable between the UPS and the agent PC, "
            "list ports with `ls /dev/ttyUSB* /dev/ttyS*` and fix [ups.megatec] port.",
        ),
        "ups.err.port_denied.remedy": (
            "Agent không có quyền mở cổng {port}: thêm người dùng của agent vào nhóm dialout "
            "(usermod -aG dialout hntht-agent) rồi khởi động lại dịch vụ.",
            "The agent may not open {port}: add the agent's user to the dialout group "
            "(usermod -aG dialout hntht-agent) and restart the service.",
        ),
        "ups.err.port_busy.remedy": (
            "Cổng {port} đang bị chương trình khác dùng (ví dụ NUT, phần mềm UPS của hãng): chỉ để một "
            "chương trình đọc UPS, hoặc chuyển agent sang driver = \"nut\".",
            "Port {port} is used by another program (NUT, the vendor's UPS software...): let only one program "
            "read the UPS, or switch the agent to driver = \"nut\".",
        ),
        "ups.err.silent.remedy": (
            "Bộ lưu điện (UPS) không trả lời qua cổng nối tiếp: kiểm tra UPS đang bật, cáp truyền thông "
            "(đúng loại cáp của hãng) cắm chắc hai đầu, và tốc độ cổng (thường 2400).",
            "The UPS does not answer on the serial line: check that it is on, that the communication cable "
            "(the vendor's cable) is plugged in at both ends, and the baud rate (usually 2400).",
        ),
        "ups.err.garbage.remedy": (
            "UPS trả lời dữ liệu không đọc được: kiểm tra tốc độ cổng (baudrate), loại cáp, và giao thức "
            "của UPS (Megatec/Q1 hay Voltronic); nếu UPS chỉ có cổng USB, dùng NUT (driver = \"nut\").",
            "The UPS answers unreadable data: check the baud rate, the cable type and the UPS protocol "
            "(Megatec/Q1 or Voltronic); for USB-only units use NUT (driver = \"nut\").",
        ),
        "ups.err.network.remedy": (
            "Không kết nối được tới {what}: kiểm tra địa chỉ, cổng trong cấu hình [ups] và dịch vụ đang chạy.",
            "Cannot connect to {what}: check the address and port in [ups] and that the service runs.",
        ),
    }
)


class UpsProtocolError(ProtocolError):
    """The UPS answered something we cannot parse (short, garbled, wrong dialect).

    ``text`` says what was wrong in the reader's language (default: "unreadable data"); the reply
    itself is appended verbatim to both the text and the English message.
    """

    def __init__(self, message: str, *, reply: bytes | str | None = None, text: Text | None = None) -> None:
        detail: Text = text or Text("ups.err.unreadable")
        if reply is not None:
            shown = reply if isinstance(reply, str) else reply.decode("ascii", "backslashreplace")
            message = f"{message}: {shown[:80]!r}"
            detail = Text("ups.err.reply", detail=detail, reply=repr(shown[:80]))
        super().__init__(message)
        self.text = detail
        self.remedy = Text("ups.err.garbage.remedy")


class UpsSilent(DeviceUnreachable):
    """Nothing came back before the deadline."""

    def __init__(self, message: str, *, text: Text | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.remedy = Text("ups.err.silent.remedy")


def with_text(error: DeviceError, text: Text, remedy: Text | None = None) -> DeviceError:
    """``error`` with its message for the technician (and remedy) attached."""
    error.text = text  # type: ignore[attr-defined]
    if remedy is not None:
        error.remedy = remedy  # type: ignore[attr-defined]
    return error


def serial_open_error(port: str, exc: BaseException) -> DeviceError:
    """Map an exception from opening a serial port to the agent's tree, with a remedy."""
    err = getattr(exc, "errno", None)
    text = str(exc)
    if isinstance(exc, FileNotFoundError) or err == errno.ENOENT or "No such file" in text:
        return with_text(DeviceUnreachable(f"serial port {port} does not exist"),
                         Text("ups.err.port_missing", port=port), Text("ups.err.port_missing.remedy", port=port))
    if isinstance(exc, PermissionError) or err in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        denied = PermissionDenied(f"no permission to open serial port {port}")
        denied.text = Text("ups.err.port_denied", port=port)  # type: ignore[attr-defined]
        denied.remedy = Text("ups.err.port_denied.remedy", port=port)  # type: ignore[attr-defined]
        return denied  # type: ignore[return-value]
    if err in (errno.EBUSY, errno.EAGAIN) or "lock" in text.lower() or "busy" in text.lower():
        return with_text(DeviceError(f"serial port {port} is in use by another process"),
                         Text("ups.err.port_busy", port=port), Text("ups.err.port_busy.remedy", port=port))
    # The operating system's own words stay as they are.
    return with_text(DeviceUnreachable(f"cannot open serial port {port}: {exc}"),
                     Text("ups.err.port_open", port=port, error=str(exc)), Text("ups.err.port_missing.remedy", port=port))


def network_error(what: str, exc: BaseException, *, shown_as: Text | None = None) -> DeviceError:
    """``what`` names the peer in English (``str()``); ``shown_as`` in the reader's language (default: ``what``)."""
    peer: Text | str = shown_as or what
    if isinstance(exc, (socket.timeout, TimeoutError)):
        error: DeviceError = with_text(DeviceUnreachable(f"{what} did not answer in time"), Text("ups.err.timeout", what=peer))
    elif isinstance(exc, ConnectionRefusedError):
        error = with_text(DeviceUnreachable(f"{what} refused the connection"), Text("ups.err.refused_connection", what=peer))
    elif isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        error = with_text(DeviceUnreachable(f"cannot reach {what}: {reason}"), Text("ups.err.unreachable", what=peer, error=reason))
    else:
        error = DeviceError(f"{what}: {type(exc).__name__}")
    error.remedy = Text("ups.err.network.remedy", what=peer)
    return error


@contextmanager
def io_errors(what: str, *, shown_as: Text | None = None) -> Iterator[None]:
    """Turn stray OSErrors from a network session into DeviceUnreachable (agent errors pass through)."""
    try:
        yield
    except (DeviceError, PermissionDenied):
        raise
    except OSError as exc:
        raise network_error(what, exc, shown_as=shown_as) from None
