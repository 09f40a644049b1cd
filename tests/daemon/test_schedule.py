"""The schedule's decisions (pure): due checklists, meeting window, session meeting, overnight window."""

from __future__ import annotations

import pytest

from agent.daemon import schedule as sch

H, M = 3600.0, 60.0
START = sch.parse_time("2025-05-13T01:00:00Z")  # 08:00 in Quảng Ninh
MEETING = sch.Meeting(id="m1", title="Phòng chống bão", start=START, end=START + 3 * H,
                      rehearsal_at=START - 17 * H)
EMERGENCY = sch.Meeting(id="m2", start=START + 2 * 86400, end=START + 2 * 86400 + H, emergency=True)


@pytest.mark.parametrize("now, done, expected", [
    (START - 17 * H - 1, set(), []),
    (START - 17 * H, set(), ["m1/rehearsal"]),
    (START - 16 * H, set(), ["m1/rehearsal"]),  # started late: still within the catch-up window
    (START - 17 * H + 1, {f"m1/rehearsal/{int(START - 17 * H)}"}, []),  # already ran
    (START - 14 * H, set(), []),  # too late for the rehearsal, too early for T-90
    (START - 90 * M - 1, set(), []),
    (START - 90 * M, set(), ["m1/t90"]),
    (START + H, set(), ["m1/t90"]),  # started during the meeting: run it at once
    (START + H, {f"m1/t90/{int(START - 90 * M)}"}, []),
    (START + 3 * H, set(), []),  # meeting over
])
def test_due_checklists(now, done, expected):
    due = sch.due_checklists([MEETING], now, done)
    assert [f"{d.meeting.id}/{d.which}" for d in due] == expected


def test_rehearsal_close_to_the_start_never_overlaps_t90():
    m = sch.Meeting(id="m3", start=START, end=START + H, rehearsal_at=START - 2 * H)
    assert [d.which for d in sch.due_checklists([m], START - 2 * H, set())] == ["rehearsal"]
    assert [d.which for d in sch.due_checklists([m], START - 80 * M, set())] == ["t90"]


def test_a_moved_rehearsal_runs_again():
    first = sch.due_checklists([MEETING], START - 17 * H, set())[0]
    moved = sch.Meeting(id="m1", start=START, end=START + 3 * H, rehearsal_at=START - 16 * H)
    assert [d.which for d in sch.due_checklists([moved], START - 16 * H, {first.key})] == ["rehearsal"]


def test_emergency_meeting_without_rehearsal_gets_only_t90():
    assert sch.due_checklists([EMERGENCY], EMERGENCY.start - 60 * M, set())[0].which == "t90"


@pytest.mark.parametrize("now, expected", [
    (START - 91 * M, None), (START - 90 * M, "m1"), (START + 3 * H, "m1"), (START + 3 * H + 1, None)])
def test_meeting_window(now, expected):
    found = sch.window_meeting([MEETING, EMERGENCY], now)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize("at, expected", [
    (START - 91 * M, None), (START - 89 * M, "m1"), (START + 3 * H + 29 * M, "m1"), (START + 3 * H + 31 * M, None)])
def test_meeting_for_a_session(at, expected):
    found = sch.meeting_for([MEETING, EMERGENCY], at)
    assert (found.id if found else None) == expected


def test_not_connected_20_minutes_before_once():
    assert sch.not_connected_due([MEETING], START - 21 * M, set()) == []
    (key, m), = sch.not_connected_due([MEETING], START - 20 * M, set())
    assert m.id == "m1" and sch.not_connected_due([MEETING], START - 10 * M, {key}) == []


def test_next_boundary_wakes_the_service_in_time():
    assert sch.next_boundary([MEETING], START - 17 * H - 10) == 10
    assert sch.next_boundary([MEETING], START - 100 * M) == 10 * M
    assert sch.next_boundary([], START) is None


@pytest.mark.parametrize("utc, expected", [
    ("2025-05-12T14:59:00Z", False),  # 21:59 local
    ("2025-05-12T15:00:00Z", True),  # 22:00
    ("2025-05-12T20:00:00Z", True),  # 03:00
    ("2025-05-12T22:59:00Z", True),  # 05:59
    ("2025-05-12T23:00:00Z", False),  # 06:00
])
def test_overnight_window_wraps_midnight_in_local_time(utc, expected):
    tz = sch.load_timezone("Asia/Ho_Chi_Minh")
    assert sch.in_overnight(sch.parse_time(utc), tz, "22:00", "06:00") is expected
    assert sch.in_overnight(sch.parse_time(utc), sch.load_timezone("+07:00"), "22:00", "06:00") is expected


def test_day_window_does_not_wrap():
    tz = sch.load_timezone("+00:00")
    assert sch.in_overnight(sch.parse_time("2025-05-12T13:00:00Z"), tz, "12:00", "14:00")
    assert not sch.in_overnight(sch.parse_time("2025-05-12T15:00:00Z"), tz, "12:00", "14:00")


def test_bad_timezone_names_the_fix():
    with pytest.raises(ValueError, match="Asia/Ho_Chi_Minh"):
        sch.load_timezone("Mars/Olympus")


def test_parse_schedule_skips_bad_meetings_and_keeps_the_rest():
    parsed = sch.parse_schedule({"generated_at": "2025-05-12T01:30:00Z", "meetings": [
        {"id": "ok", "title": "A", "start": "2025-05-13T01:00:00Z", "end": "2025-05-13T04:00:00+00:00",
         "rehearsal_at": None, "chair_room_id": "qn-tinh", "role": "chair", "emergency": True},
        {"id": "bad-time", "start": "tomorrow", "end": "2025-05-13T04:00:00Z"},
        {"id": "backwards", "start": "2025-05-13T04:00:00Z", "end": "2025-05-13T01:00:00Z"},
        {"id": "ok", "start": "2025-05-13T01:00:00Z", "end": "2025-05-13T04:00:00Z"},
        "not an object"]})
    assert [m.id for m in parsed.meetings] == ["ok"] and len(parsed.skipped) == 4
    m = parsed.meetings[0]
    assert m.role == "chair" and m.emergency and m.rehearsal_at is None and m.end - m.start == 3 * H
    with pytest.raises(ValueError):
        sch.parse_schedule({"meetings": "none"})
    older = sch.parse_schedule({"generated_at": "2025-05-12T01:00:00Z", "meetings": []})
    assert sch.is_newer(parsed, older) and not sch.is_newer(older, parsed)


def test_store_round_trip_and_corrupt_file(tmp_path):
    store = sch.ScheduleStore(tmp_path)
    assert store.load() == (None, set(), None)
    store.save({"generated_at": None, "meetings": []}, {"m1/t90/1"}, 123.0)
    assert store.load() == ({"generated_at": None, "meetings": []}, {"m1/t90/1"}, 123.0)
    store.path.write_text("{not json")
    with pytest.raises(ValueError, match="schedule.json"):
        store.load()


def test_prune_done_forgets_old_marks():
    assert sch.prune_done({"a/t90/100", "b/t90/9000000", "junk"}, 9000000 + 86400) == {"b/t90/9000000"}
