"""How UPS I/O failures become agent.errors types, with Vietnamese remedies.

Drivers wrap their I/O in :func:`io_errors`; device garbage raises :class:`UpsProtocolError`.
Nothing outside :mod:`agent.errors`' tree escapes a driver, so the probe shows an ``error``
line with a remedy, never a traceback.
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
    """The UPS answered something we cannot parse (short, garbled, wrong dialect)."""

    def __init__(self, message: str, *, reply: bytes | str | None = None) -> None:
        if reply is not None:
            shown = reply if isinstance(reply, str) else reply.decode("ascii", "backslashreplace")
            message = f"{message}: {shown[:80]!r}"
        super().__init__(message)
        self.remedy = Text("ups.err.garbage.remedy")


class UpsSilent(DeviceUnreachable):
    """Nothing came back before the deadline."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.remedy = Text("ups.err.silent.remedy")


def serial_open_error(port: str, exc: BaseException) -> DeviceError:
    """Map an exception from opening a serial port to the agent's tree, with a remedy."""
    err = getattr(exc, "errno", None)
    text = str(exc)
    if isinstance(exc, FileNotFoundError) or err == errno.ENOENT or "No such file" in text:
        error: DeviceError = DeviceUnreachable(f"serial port {port} does not exist")
        error.remedy = Text("ups.err.port_missing.remedy", port=port)
        return error
    if isinstance(exc, PermissionError) or err in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        denied = PermissionDenied(f"no permission to open serial port {port}")
        denied.remedy = Text("ups.err.port_denied.remedy", port=port)
        return denied  # type: ignore[return-value]
    if err in (errno.EBUSY, errno.EAGAIN) or "lock" in text.lower() or "busy" in text.lower():
        error = DeviceError(f"serial port {port} is in use by another process")
        error.remedy = Text("ups.err.port_busy.remedy", port=port)
        return error
    error = DeviceUnreachable(f"cannot open serial port {port}: {exc}")
    error.remedy = Text("ups.err.port_missing.remedy", port=port)
    return error


def network_error(what: str, exc: BaseException) -> DeviceError:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        error: DeviceError = DeviceUnreachable(f"{what} did not answer in time")
    elif isinstance(exc, ConnectionRefusedError):
        error = DeviceUnreachable(f"{what} refused the connection")
    elif isinstance(exc, OSError):
        error = DeviceUnreachable(f"cannot reach {what}: {exc.strerror or type(exc).__name__}")
    else:
        error = DeviceError(f"{what}: {type(exc).__name__}")
    error.remedy = Text("ups.err.network.remedy", what=what)
    return error


@contextmanager
def io_errors(what: str) -> Iterator[None]:
    """Turn stray OSErrors from a network session into DeviceUnreachable (agent errors pass through)."""
    try:
        yield
    except (DeviceError, PermissionDenied):
        raise
    except OSError as exc:
        raise network_error(what, exc) from None
