"""A simulated quarter (2026 Q4) end to end, on both backends, with the time controlled, never waited for.

Four rooms (the province's chair, a district, two communes) take part in three meetings an operator
schedules through the API (one JSON, two from a CSV import). Their agent records are produced by the
agent's REAL state machines (`agent.daemon.sessions.SessionTracker` and `OvernightWatch`, fed with
simulated codec / UPS / network polls at controlled times, with the meetings each room got in its
heartbeat answers) and by the agent's real drift checks (`agent.checks.drift`), and pushed through the
collector's HTTP API. Then: drift results and readiness per meeting, the T-20 alert (once, though the
agent reports it too), the overnight item, session records (latest per session_id, final wins), and
every cell of the Phụ lục II .xlsx for those rooms, and the Phụ lục I log book of one room.

Scenario (Vietnam time):
- M1 13/10 08:00-11:00 (rehearsal 12/10 15:00): Hoành Bồ's call bandwidth changed after the rehearsal
  (drift fails at T-90, fixed by T-30); at 09:10 mains loss (UPS on battery), the call drops for 2 min 30 s.
  Bằng Cả leaves its codec on after the meeting: awake overnight until 06:50.
- M2 10/11 14:00-16:00: Thống Nhất loses the link at 14:30 (100 % loss to the MCU a minute before the
  call drops, which spoils that session's measured audio and picture) and is back at 14:48 (a drop
  longer than the agent's reconnect grace: two sessions, 18 min without signal). Bằng Cả never connects.
- 20/11: Bằng Cả makes an unscheduled 20-minute call (counted) and a 3-minute test call (not counted).
- M3 08/12 08:00-10:00, emergency: Thống Nhất is not in a call at T-20 (alert), joins at 08:02; its
  technician rates the audio "chưa tốt". Bằng Cả's codec reboots at 08:30 (3 min).
"""

from __future__ import annotations

import datetime as _dt
import io
from types import SimpleNamespace

import pytest

from agent.checks import drift
from agent.daemon.schedule import in_overnight, local_hhmm, parse_schedule
from agent.daemon.sessions import CodecView, NetView, OvernightWatch, SessionTracker
from agent.vendors.model import Call
from collector import security

from . import payloads as P
from .conftest import make_room

VN = _dt.timezone(_dt.timedelta(hours=7))
OP = ("op", "dieu-hanh-2026")
KTV = ("ktv", "ky-thuat-vien-1")
VIEW = ("xem", "chi-xem-2026!")


def L(y, mo, d, h=0, mi=0, s=0) -> float:
    return _dt.datetime(y, mo, d, h, mi, s, tzinfo=VN).timestamp()


def utc(ts: float) -> str:
    return P.iso(ts).replace(".000Z", "Z")


class SimRoom:
    """One room's agent: the real session tracker and overnight watch over simulated polls."""

    def __init__(self, client, clock, room_id, token):
        self.client, self.clock, self.room_id = client, clock, room_id
        self.auth = {"Authorization": f"Bearer {token}"}
        self.boot = "b0c2f0e7"
        self.tracker = SessionTracker(room_id, self.boot, reconnect_grace=300, loss_percent=10, loss_after=10)
        self.night = OvernightWatch(start="22:00", end="06:00", grace=1800)
        self.codec_boot = L(2026, 9, 1)
        self.seq = 0
        self.meetings = []
        self.schedule = None
        self.in_call = False

    def push(self, kind, body, at):
        self.seq += 1
        self.clock.now = at + 1
        rec = {"id": f"{self.room_id}/{self.boot}/{self.seq}", "kind": kind, "at": P.iso(at), "body": body}
        r = self.client.post("/api/v1/records", json=P.batch(self.room_id, [rec]), headers=self.auth)
        assert r.status_code == 200 and r.json()["rejected"] == [], r.text
        return rec["id"]

    def heartbeat(self, at, overall="pass"):
        self.clock.now = at
        hb = P.heartbeat(self.room_id, at=at, overall=overall)
        hb["live"]["codec"].update(in_call=self.in_call, standby=False)
        r = self.client.post("/api/v1/heartbeat", json=hb, headers=self.auth)
        assert r.status_code == 200, r.text
        self.schedule = r.json()["schedule"]
        self.meetings = parse_schedule(self.schedule).meetings  # what the agent keeps
        return r.json()

    def poll(self, at, *, call=True, reachable=True, on_battery=False, loss=0.2, mcu_down=False, standby="awake"):
        c = Call(id="1", remote="10.0.0.10", protocol="h323", direction="outgoing", status="connected",
                 tx_rate_kbps=2048, rx_rate_kbps=2048, tx_video_format="1920x1080", loss_percent=None,
                 jitter_ms=None) if call else None
        view = (CodecView(True, c, standby, True, at - self.codec_boot) if reachable else CodecView(False))
        self.in_call = bool(call and reachable)
        net = NetView(at=at, loss_percent=loss, rtt_ms=18.0, jitter_ms=3.0, mcu_down=mcu_down, has_tcp=True)
        for body in self.tracker.feed(at, codec=view, network=net, ups=SimpleNamespace(on_battery=on_battery),
                                      meetings=self.meetings):
            self.push("session", body, at)
        for ev in self.night.feed(at, view, local_time=local_hhmm(at, VN), excused=False,
                                  in_window=in_overnight(at, VN, "22:00", "06:00")):
            self.push("event", ev, at)

    def attend(self, t0, t1, step=60, hang_up=True, special=None):
        """In a call from t0 to t1 (polls every `step` s); `special` maps poll times to poll options."""
        special = special or {}
        self.heartbeat(t0)
        t = t0
        while t <= t1:
            self.poll(t, **special.get(t, {}))
            t += step
        if hang_up:
            self.leave(t1 + step)

    def leave(self, t, standby="standby"):
        for k in range(0, 8):  # hung up: the session ends once the reconnect grace has passed
            self.poll(t + 60 * k, call=False, standby=standby)


def snapshot(call_rate):
    return drift.Snapshot(areas=["codec"], settings={"codec.call_rate": call_rate, "codec.video_format": "1920x1080",
                                                     "codec.preset.1": "Chủ tọa", "codec.echo_control.1": True})


def report(room_id, at, results, *, trigger, meeting_id, overall):
    body = P.report(room_id, at=at, overall=overall, checks=[r.to_dict("vi") for r in results])
    body.update(trigger=trigger, meeting_id=meeting_id,
                statuses={"codec": {"facts": {"vendor": "cisco", "model": "Room Kit", "serial": "FOC1"}}})
    return body


@pytest.fixture
def quarter(client, storage, clock):
    rooms = {"qn-tinh": ("UBND tỉnh Quảng Ninh", "province", "Hạ Long"),
             "qn-hoanhbo": ("UBND huyện Hoành Bồ", "district", "Hoành Bồ"),
             "qn-thongnhat": ("UBND xã Thống Nhất", "commune", "Hoành Bồ"),
             "qn-bangca": ("UBND xã Bằng Cả", "commune", "Hạ Long")}
    sims = {rid: SimRoom(client, clock, rid, make_room(storage, rid, name=n, level=lv, district=d))
            for rid, (n, lv, d) in rooms.items()}
    storage.add_viewer(OP[0], security.hash_password(OP[1]), 0, role="operator")
    storage.add_viewer(KTV[0], security.hash_password(KTV[1]), 0, role="technician")
    storage.add_viewer(VIEW[0], security.hash_password(VIEW[1]), 0)
    return sims


def test_simulated_quarter(client, storage, clock, quarter):
    sims = quarter
    tinh, hoanhbo, thongnhat, bangca = (sims[r] for r in ("qn-tinh", "qn-hoanhbo", "qn-thongnhat", "qn-bangca"))
    allrooms = ["qn-hoanhbo", "qn-thongnhat", "qn-bangca"]

    # -- the schedule: one meeting as JSON, two from a CSV file (the first file has a mistake) --------
    clock.now = L(2026, 10, 1, 9)
    m1 = {"id": "m-2026-0142", "title": "Hội nghị trực tuyến về phòng chống bão số 7", "chair_room_id": "qn-tinh",
          "room_ids": allrooms, "start": utc(L(2026, 10, 13, 8)), "end": utc(L(2026, 10, 13, 11)),
          "rehearsal_at": utc(L(2026, 10, 12, 15)), "emergency": False}
    assert client.post("/api/v1/meetings", json=m1, auth=VIEW).status_code == 403   # a viewer only reads
    assert client.post("/api/v1/meetings", json=m1, auth=KTV).status_code == 403
    r = client.post("/api/v1/meetings", json=m1, auth=OP)
    assert r.status_code == 201, r.text
    bad = ("ma_cuoc_hop,noi_dung,diem_cau_chu_toa,diem_cau_tham_du,bat_dau,ket_thuc,tong_duyet,khan_cap\n"
           "m-2026-0160,Giao ban trực tuyến tháng 11,qn-tinh,qn-hoanhbo;qn-thongnhat;qn-bangca,10/11/2026 14:00,"
           "10/11/2026 16:00,09/11/2026 15:00,Không\n"
           "m-2026-0177,Họp khẩn ứng phó rét đậm,qn-tinh,qn-hoanhbo;qn-thongnhat;qn-bangca,31/12/2026 25:00,"
           "08/12/2026 10:00,,Có\n"
           "m-2026-0178,Họp thử,qn-tinh,qn-khongco,08/12/2026 08:00,08/12/2026 10:00,,Không\n")
    r = client.post("/api/v1/meetings/import", content=bad.encode(), headers={"Content-Type": "text/csv"}, auth=OP)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, "bat_dau"), (4, "diem_cau_tham_du")]
    assert errors[0]["message_vi"].startswith("Dòng 3, cột 'bat_dau': '31/12/2026 25:00' không phải thời gian hợp lệ")
    assert errors[0]["message_en"].startswith("Line 3, column 'bat_dau': '31/12/2026 25:00' is not a valid time")
    assert "qn-khongco" in errors[1]["message_vi"]
    assert storage.count("meetings") == 1  # all or nothing
    good = bad.replace("31/12/2026 25:00", "08/12/2026 08:00").rsplit("m-2026-0178", 1)[0].rstrip()
    r = client.post("/api/v1/meetings/import", content=good.encode(), headers={"Content-Type": "text/csv"}, auth=OP)
    assert r.status_code == 200 and r.json()["imported"] == 2, r.text
    m3 = client.get("/api/v1/meetings/m-2026-0177", auth=VIEW).json()["meeting"]
    assert m3["start"] == "2026-12-08T01:00:00.000Z" and m3["emergency"] is True and m3["rehearsal_at"] is None
    r = client.put("/api/v1/rooms/qn-hoanhbo/contacts", auth=KTV, json={
        "address": "Hội trường tầng 2, TT Trới", "phone": "0203 3690 123", "email": "vp@hoanhbo.quangninh.gov.vn",
        "vcs_model": "Polycom RealPresence Group 500",
        "leader": {"name": "Nguyễn Văn Lãnh", "title": "Chánh Văn phòng"},
        "main": {"name": "Trần Văn Kỹ", "title": "Chuyên viên", "phone": "0912 000 111"},
        "backup": {"name": "Lê Thị Hỗ", "phone": "0912 000 222"}})
    assert r.status_code == 200, r.text

    # -- the heartbeat answer carries each room's own meetings (now - 1 h .. now + 8 days) --------------
    hb = hoanhbo.heartbeat(L(2026, 10, 5, 9))
    assert [m["id"] for m in hb["schedule"]["meetings"]] == ["m-2026-0142"]
    got = hb["schedule"]["meetings"][0]
    assert got == {"id": "m-2026-0142", "title": m1["title"], "start": "2026-10-13T01:00:00.000Z",
                   "end": "2026-10-13T04:00:00.000Z", "rehearsal_at": "2026-10-12T08:00:00.000Z",
                   "chair_room_id": "qn-tinh", "role": "satellite", "emergency": False}
    assert tinh.heartbeat(L(2026, 10, 5, 9))["schedule"]["meetings"][0]["role"] == "chair"
    assert hoanhbo.heartbeat(L(2026, 10, 5, 9, 0, 30))["schedule"] == hb["schedule"]  # cached: same build
    r = client.put("/api/v1/meetings/m-2026-0142", json=dict(m1, title=m1["title"] + " (bổ sung)"), auth=OP)
    assert r.status_code == 200
    hb = hoanhbo.heartbeat(L(2026, 10, 5, 9, 1))  # the change reaches the next heartbeat (version bumped)
    assert hb["schedule"]["meetings"][0]["title"].endswith("(bổ sung)")
    assert hoanhbo.heartbeat(L(2026, 11, 1, 9))["schedule"]["meetings"] == []  # M1 over, M2 > 8 days away

    # -- M1: rehearsal, baseline, drift at T-90 --------------------------------------------------------
    m1s, m1e = L(2026, 10, 13, 8), L(2026, 10, 13, 11)
    base = snapshot(6000)
    for sim in sims.values():
        sim.heartbeat(L(2026, 10, 12, 15))
        at = L(2026, 10, 12, 15, 5)
        sim.push("check_report", report(sim.room_id, at, drift.evaluate(None, base), trigger="rehearsal",
                                        meeting_id="m-2026-0142", overall="pass"), at)
    t90 = m1s - 90 * 60
    for sim in sims.values():
        changed = sim is hoanhbo
        results = drift.evaluate(base, snapshot(4000 if changed else 6000), saved_at=P.iso(L(2026, 10, 12, 15, 5)),
                                 meeting_window=True)
        sim.push("check_report", report(sim.room_id, t90, results, trigger="t90", meeting_id="m-2026-0142",
                                        overall="fail" if changed else "pass"), t90)
        sim.heartbeat(t90 + 30, overall="fail" if changed else "pass")
    clock.now = t90 + 40
    ready = client.get("/api/v1/meetings/m-2026-0142", auth=VIEW).json()["readiness"]
    assert ready["ready"] is False and ready["rooms_ready"] == 3
    hb_row = next(x for x in ready["rooms"] if x["room_id"] == "qn-hoanhbo")
    assert hb_row["readiness"] == "not_ready"
    assert [c["id"] for c in hb_row["failing_checks"]] == ["drift.codec.call_rate"]
    assert "6000" in hb_row["failing_checks"][0]["message"] and "4000" in hb_row["failing_checks"][0]["message"]
    fixed = m1s - 30 * 60  # the technician restores the setting; the check passes again
    hoanhbo.push("check_report", report("qn-hoanhbo", fixed, drift.evaluate(base, snapshot(6000), meeting_window=True),
                                        trigger="manual", meeting_id=None, overall="pass"), fixed)
    for sim in sims.values():
        sim.heartbeat(fixed + 10)
    clock.now = fixed + 20
    assert client.get("/api/v1/meetings/m-2026-0142", auth=VIEW).json()["readiness"]["ready"] is True

    # -- M1: the meeting -------------------------------------------------------------------------------
    t0 = m1s - 20 * 60
    tinh.attend(t0, m1e)
    thongnhat.attend(t0, m1e)
    drop = L(2026, 10, 13, 9, 10)
    hoanhbo.attend(t0, m1e, step=30, special={drop - 30: {"on_battery": True}, drop: {"call": False, "on_battery": True},
                                        drop + 30: {"call": False, "on_battery": True},
                                        **{drop + k: {"call": False, "on_battery": True} for k in range(60, 150, 30)},
                                        drop + 150: {"on_battery": False}})
    bangca.attend(t0, m1e, hang_up=False)
    for k in range(0, 8):  # hung up, the codec stays awake
        bangca.poll(m1e + 60 + 60 * k, call=False, standby="awake")
    for t in (L(2026, 10, 13, 21, 50), L(2026, 10, 13, 22, 0), L(2026, 10, 13, 22, 31), L(2026, 10, 14, 5, 0)):
        bangca.poll(t, call=False, standby="awake")
    clock.now = L(2026, 10, 14, 5, 1)
    alerts = client.get("/api/v1/alerts", auth=VIEW).json()["alerts"]
    assert [(a["room_id"], a["kind"]) for a in alerts] == [("qn-bangca", "overnight")]
    bangca.poll(L(2026, 10, 14, 6, 50), call=False, standby="standby")
    clock.now = L(2026, 10, 14, 7)
    assert client.get("/api/v1/alerts", auth=VIEW).json()["alerts"] == []
    types = [e["type"] for e in storage.room_events("qn-bangca")]
    assert types.count("codec.overnight_awake") == 1 and types.count("codec.overnight_off") == 1

    # -- M2 --------------------------------------------------------------------------------------------
    m2s, m2e = L(2026, 11, 10, 14), L(2026, 11, 10, 16)
    cut, back = L(2026, 11, 10, 14, 30), L(2026, 11, 10, 14, 48)
    tinh.attend(m2s - 600, m2e)
    hoanhbo.attend(m2s - 600, m2e)
    outage = {cut - 60: {"loss": 100.0, "mcu_down": True}}
    outage.update({t: {"call": False, "loss": 100.0, "mcu_down": True} for t in range(int(cut), int(back) - 60, 60)})
    outage[back - 60] = {"call": False}
    thongnhat.attend(m2s - 600, m2e, special=outage)
    bangca.heartbeat(m2s - 600)  # online, codec idle: never joins

    # -- unscheduled calls -----------------------------------------------------------------------------
    u0 = L(2026, 11, 20, 9)
    bangca.attend(u0, u0 + 20 * 60)
    bangca.attend(L(2026, 11, 20, 15), L(2026, 11, 20, 15, 3))

    # -- M3: emergency; T-20 ---------------------------------------------------------------------------
    m3s, m3e = L(2026, 12, 8, 8), L(2026, 12, 8, 10)
    for sim in sims.values():
        sim.heartbeat(m3s - 26 * 60)  # the emergency meeting reaches the agents (announced ~1 h ahead)
    for sim in (tinh, hoanhbo, bangca):
        sim.poll(m3s - 25 * 60)  # already in the call
        sim.heartbeat(m3s - 21 * 60)
    thongnhat.poll(m3s - 25 * 60, call=False)
    thongnhat.heartbeat(m3s - 21 * 60)
    first = storage.sweep_meetings(m3s - 20 * 60)
    again = storage.sweep_meetings(m3s - 19 * 60)  # a second sweep (or process) adds nothing
    assert [(e.room_id, e.type) for e in first] == [("qn-thongnhat", "meeting.not_connected")] and again == []
    thongnhat.push("event", {"type": "meeting.not_connected", "severity": "critical", "area": "codec",
                             "message": "Chưa kết nối", "data": {"meeting_id": "m-2026-0177", "title": m3["title"],
                                                                  "start": m3["start"], "in_call": False,
                                                                  "registered": True}}, m3s - 20 * 60)
    assert storage.count("room_alerts") == 2  # the overnight one (closed) and this one: the agent's did not add one
    clock.now = m3s - 19 * 60
    alerts = client.get("/api/v1/alerts", auth=VIEW).json()["alerts"]
    assert [(a["room_id"], a["kind"], a["ref"], a["source"]) for a in alerts] == [
        ("qn-thongnhat", "not_connected", "m-2026-0177", "collector")]
    for sim in (tinh, hoanhbo):
        sim.attend(m3s - 24 * 60, m3e)
    reboot = L(2026, 12, 8, 8, 30)
    bangca.codec_reboot_at = reboot
    special = {reboot: {"reachable": False}, reboot + 60: {"reachable": False}, reboot + 120: {"reachable": False}}
    bangca.attend(m3s - 24 * 60, reboot - 60, hang_up=False, special=special)
    for t in (reboot, reboot + 60, reboot + 120):
        bangca.poll(t, reachable=False)
    bangca.codec_boot = reboot + 90
    bangca.attend(reboot + 180, m3e)
    thongnhat.attend(m3s + 120, m3e)
    clock.now = m3s + 10 * 60
    assert client.get("/api/v1/alerts", auth=VIEW).json()["alerts"] == []  # joined: the T-20 alert is closed
    r = client.post("/api/v1/rooms/qn-thongnhat/notes", auth=KTV, json={
        "ref": "m-2026-0177", "content": "Họp khẩn ứng phó rét đậm, rét hại", "recording_requested": True,
        "technicians": ["Phạm Văn Tuấn", "Đỗ Thị Hoa"], "audio_rating": "chua_tot",
        "incidents": "Tiếng vọng ở điểm cầu chủ tọa"})
    assert r.status_code == 200, r.text
    assert client.post("/api/v1/rooms/qn-thongnhat/notes", auth=VIEW, json={"ref": "m-2026-0177"}).status_code == 403

    # -- session records: one kept per session_id, the final one --------------------------------------
    kept = storage.sessions_between(L(2026, 10, 1), L(2027, 1, 1))
    assert all(s["final"] for s in kept)
    by_room = {}
    for s in kept:
        by_room.setdefault(s["room_id"], []).append(s)
    assert [len(by_room[r]) for r in ("qn-tinh", "qn-hoanhbo", "qn-thongnhat", "qn-bangca")] == [3, 3, 4, 4]
    hb_m1 = next(s for s in by_room["qn-hoanhbo"] if s["meeting_id"] == "m-2026-0142")["body"]
    assert [(x["kind"], x["cause"], x["duration_s"], x["recovery_s"]) for x in hb_m1["signal_losses"]] == [
        ("total", "power", 150.0, 150.0)]
    tn_m2 = [s["body"] for s in by_room["qn-thongnhat"] if s["meeting_id"] == "m-2026-0160"]
    assert [(x["kind"], x["cause"], x["end"]) for x in tn_m2[0]["signal_losses"]] == [("total", "link", None)]
    assert tn_m2[1]["signal_losses"] == [] and tn_m2[1]["start"] == utc(back)
    bc_m3 = next(s for s in by_room["qn-bangca"] if s["meeting_id"] == "m-2026-0177")["body"]
    assert [(x["kind"], x["cause"], x["duration_s"]) for x in bc_m3["signal_losses"]] == [("total", "codec_reboot", 180.0)]
    # a late non-final copy of a session never replaces the final one
    stale = dict(hb_m1, final=False, end=None, signal_losses=[])
    hoanhbo.push("session", stale, L(2026, 12, 31))
    again = next(s for s in storage.sessions_between(L(2026, 10, 1), L(2027, 1, 1), ["qn-hoanhbo"])
                 if s["meeting_id"] == "m-2026-0142")
    assert again["final"] is True and again["body"]["signal_losses"] == hb_m1["signal_losses"]

    # -- Phụ lục II for the quarter ---------------------------------------------------------------------
    clock.now = L(2027, 1, 2, 9)
    r = client.get("/api/v1/reports/quality?kind=quarterly&period=2026Q4&format=xlsx", auth=VIEW)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content))["Phụ lục II"]
    values = [tuple(row) for row in ws.iter_rows(min_row=1, max_row=ws.max_row, values_only=True)]
    assert values[0][0] == "PHỤ LỤC II" and values[1][0] == "MẪU PHIẾU"
    assert values[2][0] == ("ĐÁNH GIÁ CHẤT LƯỢNG HỆ THỐNG HỘI NGHỊ TRUYỀN HÌNH TRỰC TUYẾN XUỐNG CẤP XÃ QUÝ IV NĂM 2026 "
                            "(TÍNH TỪ 01/10/2026 ĐẾN 31/12/2026)")
    assert values[4][0] == "1. Tên đơn vị: Sở Thông tin và Truyền thông tỉnh Quảng Ninh"
    assert values[10][:4] == ("Tên điểm cầu, địa điểm lắp đặt", "Thiết bị đầu cuối THHN (VCS)", "Tổng số phiên họp",
                              "Số phiên mất tín hiệu")
    assert values[11][3:7] == ("Mất hoàn toàn", "Mất từ 15 phút trở lên", "Lí do mất", "Thời gian khắc phục")
    assert values[10][7:11] == ("Chất lượng âm thanh (Tốt, chưa tốt)",
                                "Chất lượng đường truyền, kênh truyền độ ổn định kết nối (Đảm bảo/Chưa đảm bảo)",
                                "Chất lượng hình ảnh (Tốt/chưa tốt)", "Số phiên họp đánh giá chung đạt chất lượng")
    measured = "Mất tín hiệu, lí do, thời gian khắc phục, đường truyền: đo tự động; "
    table = values[12:12 + 11]
    expected = [
        ("I. CÁC ĐIỂM CẦU CẤP TỈNH",) + (None,) * 11,
        ("UBND tỉnh Quảng Ninh", "cisco Room Kit", 3, 0, 0, None, None, "Tốt (3/3)", "Đảm bảo (3/3)", "Tốt (3/3)", 3,
         measured + "âm thanh/hình ảnh: 3 phiên đo tự động, 0 phiên do cán bộ kỹ thuật đánh giá; VCS: đo tự động."),
        ("Cộng cấp tỉnh", None, 3, 0, 0, None, None, "Tốt: 1/1 điểm cầu", "Đảm bảo: 1/1 điểm cầu",
         "Tốt: 1/1 điểm cầu", 3, None),
        ("II. HOÀNH BỒ (cấp huyện và các xã)",) + (None,) * 11,
        ("UBND huyện Hoành Bồ — Hội trường tầng 2, TT Trới", "Polycom RealPresence Group 500", 3, 1, 0,
         "mất điện / UPS chạy pin (1 lần)", "tổng 2 phút 30 giây, lâu nhất 2 phút 30 giây", "Tốt (3/3)",
         "Chưa đảm bảo (2/3)", "Tốt (3/3)", 2,
         measured + "âm thanh/hình ảnh: 3 phiên đo tự động, 0 phiên do cán bộ kỹ thuật đánh giá; VCS: nhập tay."),
        ("UBND xã Thống Nhất", "cisco Room Kit", 3, 1, 1, "mất kết nối đường truyền (1 lần)",
         "tổng 18 phút, lâu nhất 18 phút", "Chưa tốt (1/3)", "Chưa đảm bảo (2/3)", "Chưa tốt (2/3)", 1,
         measured + "âm thanh/hình ảnh: 2 phiên đo tự động, 1 phiên do cán bộ kỹ thuật đánh giá; VCS: đo tự động."),
        ("Cộng Hoành Bồ", None, 6, 2, 1, None, None, "Tốt: 1/2 điểm cầu", "Đảm bảo: 0/2 điểm cầu",
         "Tốt: 1/2 điểm cầu", 3, None),
        ("III. HẠ LONG (cấp huyện và các xã)",) + (None,) * 11,
        ("UBND xã Bằng Cả", "cisco Room Kit", 4, 2, 1,
         "không kết nối vào phiên họp (1 lần); thiết bị đầu cuối khởi động lại (1 lần)",
         "tổng 3 phút, lâu nhất 3 phút", "Chưa tốt (3/4)", "Chưa đảm bảo (2/4)", "Chưa tốt (3/4)", 2,
         measured + "âm thanh/hình ảnh: 4 phiên đo tự động, 0 phiên do cán bộ kỹ thuật đánh giá; VCS: đo tự động."),
        ("Cộng Hạ Long", None, 4, 2, 1, None, None, "Tốt: 0/1 điểm cầu", "Đảm bảo: 0/1 điểm cầu",
         "Tốt: 0/1 điểm cầu", 2, None),
        ("TỔNG CỘNG", None, 13, 4, 2, None, None, "Tốt: 2/4 điểm cầu", "Đảm bảo: 1/4 điểm cầu",
         "Tốt: 2/4 điểm cầu", 8, None),
    ]
    assert [tuple(v if v != "" else None for v in row) for row in table] == expected
    # CSV: the same figures
    r = client.get("/api/v1/reports/quality?kind=quarterly&period=2026Q4&format=csv", auth=VIEW)
    text = r.content.decode("utf-8-sig")
    assert "qn-thongnhat,UBND xã Thống Nhất,cisco Room Kit,3,1,1,mất kết nối đường truyền (1 lần)" in text
    # The half-year (30/6 .. 31/12 evaluation) holds the same meetings; the next quarter none.
    half = load_workbook(io.BytesIO(client.get("/api/v1/reports/quality?kind=half&period=2026H2", auth=VIEW).content))
    assert "6 THÁNG CUỐI NĂM 2026 (TÍNH TỪ 01/07/2026 ĐẾN 31/12/2026)" in half.active["A3"].value
    assert [row[2] for row in half.active.iter_rows(min_row=13, max_row=23, values_only=True)] == [r[2] for r in expected]
    q1 = load_workbook(io.BytesIO(client.get("/api/v1/reports/quality?kind=quarterly&period=2027Q1", auth=VIEW).content))
    assert q1.active.cell(14, 3).value == 0

    # -- Phụ lục I: Thống Nhất's log book -------------------------------------------------------------
    r = client.get("/api/v1/reports/logbook?room_id=qn-thongnhat&start=2026-10-01&end=2026-12-31", auth=VIEW)
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["Phụ lục I"]
    assert ws["A1"].value == "PHỤ LỤC I" and ws["A5"].value == "1. Tên đơn vị: UBND xã Thống Nhất"
    assert [c.value for c in ws[11]] == ["Nội dung hội nghị/ cuộc họp", "Thời gian",
                                         "Yêu cầu ghi lại nội dung cuộc họp (Có/ Không)", "Ghi chú sự cố (nếu có)",
                                         "Cán bộ kỹ thuật", "Cán bộ kỹ thuật", "Nguồn số liệu"]
    rows = [[c.value for c in ws[r]] for r in (12, 13, 14)]
    assert rows[0][:6] == [m1["title"] + " (bổ sung)", "13/10/2026 08:00–11:00 (kết nối 07:40–11:01)", None, None,
                           None, None]
    assert rows[1][:2] == ["Giao ban trực tuyến tháng 11", "10/11/2026 14:00–16:00 (kết nối 13:50–16:01)"]
    assert rows[1][3] == "14:30 mất tín hiệu hoàn toàn 18 phút — mất kết nối đường truyền; khắc phục sau 18 phút"
    assert rows[2][:6] == ["Họp khẩn ứng phó rét đậm, rét hại", "08/12/2026 08:00–10:00 (kết nối 08:02–10:01)", "Có",
                           "Cán bộ kỹ thuật ghi: Tiếng vọng ở điểm cầu chủ tọa", "Phạm Văn Tuấn", "Đỗ Thị Hoa"]
    assert rows[2][6] == "Thời gian, sự cố: đo tự động; nhập tay: nội dung, ghi lại, cán bộ kỹ thuật, ghi chú sự cố"
    assert ws.cell(15, 1).value is None
    assert "Phụ lục III" in wb.sheetnames
