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
    storage.add_viewer("vnpt", security.hash_password("truc-ban-2025"), 0, role="operator")
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


def _login(page, url):
    page.goto(url + "/")
    page.fill("#username", "vnpt")
    page.fill("#password", "truc-ban-2025")
    page.click("#login-submit")
    page.wait_for_selector("table.rooms")


def test_meetings_forms_and_entries_in_chromium(board_env, backend, storage):
    """An operator schedules a meeting and imports a CSV on the board; the meeting page shows each room's
    readiness and failing items; a technician's entry on the room page; the forms download."""
    import datetime as _dt

    from openpyxl import load_workbook
    from playwright.sync_api import sync_playwright

    proc, out = board_env
    now = time.time()
    storage.upsert_meeting({"meeting_id": "m-hom-qua", "title": "Giao ban hôm qua", "chair_room_id": "qn-ubnd-tinh",
                            "room_ids": ["qn-ubnd-tinh", "qn-bangca"], "start_at": now - 86400, "end_at": now - 86400 + 7200,
                            "rehearsal_at": None, "emergency": False}, "test", now)
    vn = _dt.timezone(_dt.timedelta(hours=7))
    tomorrow = _dt.datetime.fromtimestamp(now + 86400, vn).replace(hour=8, minute=0, second=0, microsecond=0)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
            _login(page, proc.url)
            page.click("#nav-meetings")
            page.wait_for_selector("#meeting-form")
            page.fill("#mf-id", "m-ngay-mai")
            page.fill("#mf-title", "Hội nghị trực tuyến ngày mai")
            page.select_option("#mf-chair", "qn-ubnd-tinh")
            page.select_option("#mf-rooms", ["qn-hoanhbo", "qn-bangca"])
            page.fill("#mf-start", tomorrow.strftime("%Y-%m-%dT%H:%M"))
            page.fill("#mf-end", (tomorrow + _dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
            page.click("#mf-submit")
            page.wait_for_selector("#meeting-rooms")
            assert page.inner_text("#meeting-title") == "Hội nghị trực tuyến ngày mai"
            assert "Chưa sẵn sàng" in page.inner_text("#meeting-state")
            assert "1/3 điểm cầu sẵn sàng" in page.inner_text("#meeting-state")
            hb = page.inner_text("#mroom-qn-hoanhbo")
            assert "Chưa sẵn sàng" in hb and "codec.registration" in hb
            assert "Sẵn sàng" in page.inner_text("#mroom-qn-ubnd-tinh .readiness")
            stored = storage.meeting("m-ngay-mai")
            assert stored["start_at"] == tomorrow.timestamp() and stored["room_ids"] == ["qn-bangca", "qn-hoanhbo", "qn-ubnd-tinh"]
            page.screenshot(path=str(out / f"meeting-vi-{backend}.png"), full_page=True)

            page.goto(proc.url + "/meetings")
            assert "Hội nghị trực tuyến ngày mai" in page.inner_text("#meeting-m-ngay-mai")
            csv_bad = ("ma_cuoc_hop,noi_dung,diem_cau_chu_toa,diem_cau_tham_du,bat_dau,ket_thuc\n"
                       "m-x,Họp,qn-ubnd-tinh,qn-bangca,32/01/2027 08:00,01/02/2027 10:00\n").encode()
            page.set_input_files("#import-file", files=[{"name": "lich.csv", "mimeType": "text/csv", "buffer": csv_bad}])
            page.click("#import-submit")
            page.wait_for_selector("#import-errors")
            assert "Dòng 2, cột 'bat_dau': '32/01/2027 08:00' không phải thời gian hợp lệ" in page.inner_text("#import-errors")
            assert storage.meeting("m-x") is None

            # The technician's entry for yesterday's meeting (missed by Bằng Cả: no call recorded).
            page.goto(proc.url + "/rooms/qn-bangca")
            row = page.locator('tr.phien[data-ref="m-hom-qua"]')
            assert "Không kết nối vào phiên họp" in row.inner_text()
            row.locator('input[name="content"]').fill("Giao ban công tác tháng")
            row.locator('input[name="technicians"]').fill("Nguyễn Văn An; Lê Thị Bình")
            row.locator('select[name="recording_requested"]').select_option("1")
            row.locator('select[name="audio_rating"]').select_option("tot")
            row.locator(".note-submit").click()
            page.wait_for_selector("#phien")
            row = page.locator('tr.phien[data-ref="m-hom-qua"]')
            text = row.inner_text()
            assert "Giao ban công tác tháng" in text and "Nguyễn Văn An, Lê Thị Bình" in text
            assert "cán bộ kỹ thuật đánh giá" in text and "đo tự động" in text
            page.screenshot(path=str(out / f"room-notes-vi-{backend}.png"), full_page=True)
            with page.expect_download() as dl:
                page.click("#logbook-link")
            path = out / f"logbook-{backend}.xlsx"
            dl.value.save_as(str(path))
            ws = load_workbook(path)["Phụ lục I"]
            assert ws["A12"].value == "Giao ban công tác tháng" and ws["C12"].value == "Có" and ws["E12"].value == "Nguyễn Văn An"

            page.click("#nav-reports")
            page.wait_for_selector("#report-links")
            with page.expect_download() as dl:
                page.locator("#report-links a.dl").first.click()
            path = out / f"phu-luc-II-{backend}.xlsx"
            dl.value.save_as(str(path))
            ws = load_workbook(path)["Phụ lục II"]
            assert ws["A1"].value == "PHỤ LỤC II" and "ĐÁNH GIÁ CHẤT LƯỢNG" in ws["A3"].value
        finally:
            browser.close()
