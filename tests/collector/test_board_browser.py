"""The readiness board in a real browser: headless Debian Chromium driven by Playwright.

Rooms in every state are loaded through the real HTTP API into a collector process; the test logs in
as a viewer, checks what a person sees (Vietnamese by default, English after the switch), follows a
room link, and saves screenshots under the test's output directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from collector import security

from . import payloads as P
from .conftest import make_room
from .procs import start_collector

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def board_env(tmp_path, storage, db_url):
    if not os.path.exists(CHROMIUM):
        if os.geteuid() == 0:
            pytest.fail("Debian chromium missing: run scripts/install-test-deps.sh")
        pytest.skip("Debian chromium not installed and not root")
    storage.add_viewer("vnpt", security.hash_password("truc-ban-2025"), 0)
    rooms = {
        "qn-ubnd-tinh": ("UBND tỉnh Quảng Ninh", "province", "Hạ Long"),
        "qn-hoanhbo": ("UBND huyện Hoành Bồ", "district", "Hoành Bồ"),
        "qn-bangca": ("UBND xã Bằng Cả", "commune", "Hạ Long"),
        "qn-quangla": ("UBND xã Quảng La", "commune", "Hạ Long"),
        "qn-vanyen": ("UBND xã Vân Yên", "commune", "Vân Đồn"),
        "qn-never": ("UBND xã Đồng Sơn", "commune", "Vân Đồn"),
    }
    tokens = {rid: make_room(storage, rid, name=n, level=lv, district=d) for rid, (n, lv, d) in rooms.items()}
    proc = start_collector(db_url, tmp_path, sweep_interval=0.2, env_extra={"HNTHT_COLLECTOR_BOARD_REFRESH_S": "0"})

    def post(path, room, body):
        r = requests.post(proc.url + path, json=body, headers={"Authorization": f"Bearer {tokens[room]}"}, timeout=10)
        assert r.status_code == 200, r.text

    now = time.time()
    post("/api/v1/heartbeat", "qn-ubnd-tinh", P.heartbeat("qn-ubnd-tinh", at=now))           # online, ready
    post("/api/v1/heartbeat", "qn-hoanhbo", P.heartbeat("qn-hoanhbo", at=now, overall="fail", registered=False,
                                                          areas={"network": "pass", "host": "pass", "codec": "fail", "power": "pass"}))
    post("/api/v1/records", "qn-hoanhbo", P.batch("qn-hoanhbo", [P.record("qn-hoanhbo", 1, "check_report", P.report(
        "qn-hoanhbo", at=now, overall="fail", checks=[{"id": "codec.registration", "area": "codec", "status": "fail",
                                                       "message": "Thiết bị đầu cuối chưa đăng ký với MCU",
                                                       "remedy": "Gọi VNPT kiểm tra tài khoản SIP/H.323"}]))]))
    post("/api/v1/heartbeat", "qn-bangca", P.heartbeat("qn-bangca", at=now, overall="fail", on_battery=True,
                                                        areas={"network": "pass", "host": "pass", "codec": "pass", "power": "fail"}))
    post("/api/v1/heartbeat", "qn-quangla", P.heartbeat("qn-quangla", at=now, interval_s=1))   # → offline
    post("/api/v1/heartbeat", "qn-vanyen", P.heartbeat("qn-vanyen", at=now, overall="warn",
                                                        areas={"network": "warn", "host": "pass", "codec": "pass", "power": "pass"}))
    deadline = time.time() + 10
    while storage.room("qn-quangla")["liveness"] != "offline" and time.time() < deadline:
        time.sleep(0.2)
    out = Path(os.environ.get("HNTHT_TEST_OUTPUT", tmp_path)) / "board"
    out.mkdir(parents=True, exist_ok=True)
    yield proc, out
    proc.stop()


def test_board_in_chromium(board_env, backend):
    from playwright.sync_api import sync_playwright

    proc, out = board_env
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(proc.url + "/")
            assert page.url.startswith(proc.url + "/login")       # board needs a viewer login
            page.fill("#username", "vnpt")
            page.fill("#password", "sai-mat-khau")
            page.click("#login-submit")
            assert "Sai tên đăng nhập hoặc mật khẩu" in page.inner_text("#login-error")
            page.fill("#username", "vnpt")
            page.fill("#password", "truc-ban-2025")
            page.click("#login-submit")
            page.wait_for_selector("table.rooms")
            page.screenshot(path=str(out / f"board-vi-{backend}.png"), full_page=True)

            def row(room_id):
                return page.locator(f"#room-{room_id}")

            assert "6 điểm cầu" in page.inner_text("#summary")
            assert row("qn-ubnd-tinh").locator(".liveness").inner_text().strip() == "✔ Trực tuyến"
            assert row("qn-ubnd-tinh").locator(".readiness").inner_text().strip() == "✔ Sẵn sàng"
            assert "Mất kết nối" in row("qn-quangla").locator(".liveness").inner_text()
            assert "Không rõ" in row("qn-quangla").locator(".readiness").inner_text()
            assert "Chưa kết nối" in row("qn-never").locator(".liveness").inner_text()
            hb = row("qn-hoanhbo").inner_text()
            assert "Chưa sẵn sàng" in hb and "Thiết bị đầu cuối chưa đăng ký với MCU" in hb and "codec.registration" in hb
            assert "UPS đang chạy bằng pin" in row("qn-bangca").inner_text()
            assert "Cảnh báo" in row("qn-vanyen").inner_text() and "Sẵn sàng" in row("qn-vanyen").inner_text()
            assert "giây trước" in row("qn-ubnd-tinh").locator(".age").inner_text()
            # State is never colour alone: every badge carries a word and a symbol.
            for badge in page.locator(".badge").all():
                assert len(badge.inner_text().strip()) >= 3
            groups = page.locator("h2.group").all_inner_texts()
            assert groups[0].startswith("Cấp tỉnh") and any(g.startswith("Cấp xã — Vân Đồn") for g in groups)

            # Filters: only problems, then one district.
            page.check("#f-problems")
            page.click("#f-apply")
            page.wait_for_selector("table.rooms")
            shown = set(page.locator("tr.room").evaluate_all("els => els.map(e => e.dataset.room)"))
            assert "qn-ubnd-tinh" not in shown and {"qn-hoanhbo", "qn-bangca", "qn-quangla", "qn-never"} <= shown
            page.goto(proc.url + "/?district=V%C3%A2n%20%C4%90%E1%BB%93n")
            shown = set(page.locator("tr.room").evaluate_all("els => els.map(e => e.dataset.room)"))
            assert shown == {"qn-vanyen", "qn-never"}

            # Room page.
            page.goto(proc.url + "/")
            page.click("#room-qn-hoanhbo a")
            page.wait_for_selector("#identity")
            assert page.inner_text("#room-name") == "UBND huyện Hoành Bồ"
            assert "codec.registration" in page.inner_text("#report")
            assert "Gọi VNPT" in page.inner_text("#report")
            assert "Số bản ghi chờ gửi" in page.inner_text("#outbox")
            assert "room.online" in page.inner_text("#events")
            page.screenshot(path=str(out / f"room-vi-{backend}.png"), full_page=True)

            # English.
            page.click("#lang-switch")
            page.wait_for_selector("#identity")
            assert "Latest check report" in page.inner_text("body")
            page.goto(proc.url + "/")
            assert "Offline" in row("qn-quangla").inner_text()   # the language choice sticks (cookie)
            assert "UPS on battery" in row("qn-bangca").inner_text()
            page.screenshot(path=str(out / f"board-en-{backend}.png"), full_page=True)

            # Logout is a CSRF-protected form; afterwards the board needs a login again.
            page.click("header button")
            page.goto(proc.url + "/")
            assert page.url.startswith(proc.url + "/login")
            # The page loads nothing from outside the collector.
            assert not [r for r in page.context.pages[0].evaluate(
                "performance.getEntriesByType('resource').map(r => r.name)") if not r.startswith(proc.url)]
        finally:
            browser.close()
    assert (out / f"board-vi-{backend}.png").stat().st_size > 10_000


def test_login_rejects_missing_csrf(client, storage):
    storage.add_viewer("op", security.hash_password("operator-pass-1"), 0)
    r = client.post("/login", data={"username": "op", "password": "operator-pass-1"}, follow_redirects=False)
    assert r.status_code == 403
    page = client.get("/login")
    csrf = page.cookies.get("hntht_csrf") or client.cookies.get("hntht_csrf")
    r = client.post("/login", data={"username": "op", "password": "operator-pass-1", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
