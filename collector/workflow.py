"""The regulation's workflow on the API and the board: meetings (operators), readiness per meeting,
alerts, room contacts and technicians' entries (technicians), and the forms (Phụ lục I, II) to download.

Roles: viewer reads; technician also writes room contacts and meeting entries; operator also writes
meetings. Board forms carry the session's CSRF token; the API takes a session cookie (with
X-CSRF-Token on writes) or HTTP Basic.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import re
from typing import Optional
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from . import forms, meetings as M
from .errors import ApiError, UnknownRoom
from .timeutil import format_rfc3339
from .view import summarize

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTE_FIELDS = ("content", "recording_requested", "technicians", "incidents", "audio_rating", "picture_rating")
RATINGS = ("tot", "chua_tot")
CONTACT_KEYS = ("address", "phone", "email", "vcs_model")
PERSON_KEYS = ("name", "title", "email", "phone")
REF_RE = re.compile(r"^(session:)?[A-Za-z0-9][A-Za-z0-9._/:-]{0,300}$")


# -- pure helpers shared by API and board -----------------------------------------------------------
def meeting_readiness(meeting: dict, rooms: dict, alerts: list[dict], sessions: list[dict], now: float) -> dict:
    """Each participating room's readiness from its latest heartbeat and check report, with the failing
    items; the meeting is ready only when every room is."""
    open_t20 = {a["room_id"] for a in alerts if a["kind"] == "not_connected" and a["ref"] == meeting["meeting_id"]}
    connected = {s["room_id"] for s in sessions if s["end_at"] is None}
    out = []
    for rid in meeting["room_ids"]:
        room = rooms.get(rid)
        if room is None:
            continue
        s = summarize(room, now)
        out.append({"room_id": rid, "name": s["name"], "role": "chair" if rid == meeting["chair_room_id"] else "satellite",
                    "liveness": s["liveness"], "readiness": s["readiness"], "in_call": s["live"]["codec"]["in_call"],
                    "in_meeting_call": rid in connected, "not_connected_alert": rid in open_t20,
                    "problems": s["problems"], "failing_checks": [c for c in s["failing_checks"]
                                                                  if c["status"] in ("fail", "error")]})
    ready = bool(out) and all(r["readiness"] == "ready" for r in out)
    return {"ready": ready, "rooms_ready": sum(1 for r in out if r["readiness"] == "ready"), "rooms": out}


def clean_note(raw: dict) -> dict:
    note = {}
    content = str(raw.get("content") or "").strip()[:500]
    if content:
        note["content"] = content
    rec = raw.get("recording_requested")
    if rec not in (None, ""):
        try:
            note["recording_requested"] = M._bool(rec, "recording_requested")
        except M.FieldError as exc:
            raise ApiError(422, "validation_failed", exc.en) from None
    techs = raw.get("technicians")
    if isinstance(techs, str):
        techs = [t for t in re.split(r"[;\n]+", techs)]
    techs = [str(t).strip()[:100] for t in (techs or []) if str(t).strip()][:4]
    if techs:
        note["technicians"] = techs
    incidents = str(raw.get("incidents") or "").strip()[:2000]
    if incidents:
        note["incidents"] = incidents
    for key in ("audio_rating", "picture_rating"):
        v = raw.get(key)
        if v in (None, ""):
            continue
        if v not in RATINGS:
            raise ApiError(422, "validation_failed", f"{key} must be one of {', '.join(RATINGS)}")
        note[key] = v
    return note


def clean_contacts(raw: dict) -> dict:
    out = {k: str(raw.get(k) or "").strip()[:300] for k in CONTACT_KEYS if str(raw.get(k) or "").strip()}
    for role, _title in forms.CONTACT_ROLES:
        person = raw.get(role) or {}
        if not isinstance(person, dict):
            raise ApiError(422, "validation_failed", f"{role} must be an object with {', '.join(PERSON_KEYS)}")
        p = {k: str(person.get(k) or "").strip()[:200] for k in PERSON_KEYS if str(person.get(k) or "").strip()}
        if p:
            out[role] = p
    return out


def report_period(kind: str, value: str, first: str = "", last: str = "") -> forms.Period:
    try:
        if kind == "quarterly":
            return forms.period_quarter(value)
        if kind == "half":
            return forms.period_half(value)
        if kind == "yearly":
            return forms.period_year(value)
        if kind == "range":
            return forms.period_range(first, last)
    except ValueError as exc:
        raise ApiError(422, "validation_failed", str(exc)) from None
    raise ApiError(422, "validation_failed", "kind must be quarterly, half, yearly or range")


def report_unit(settings, storage, district: Optional[str]) -> dict:
    """The reporting unit's block (items 1-5 of the form): a district's own room when the report is a
    district's roll-up, else the settings (the Department by default)."""
    if district:
        for r in storage.list_rooms_admin():
            if r["level"] == "district" and r["district"] == district:
                return forms.room_unit(r, storage.room_contacts(r["room_id"]))
    return {"name": settings.report_unit_name, "address": settings.report_unit_address,
            "phone": settings.report_unit_phone, "email": settings.report_unit_email,
            "contact": settings.report_unit_contact, "contact_phone": settings.report_unit_contact_phone}


def _download(data: bytes, fmt: str, filename: str) -> Response:
    return Response(data, media_type=XLSX if fmt == "xlsx" else "text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"{filename}.{fmt}\"; "
                                                    f"filename*=UTF-8''{quote(filename)}.{fmt}",
                             "Cache-Control": "no-store"})


def current_quarter(now: float) -> str:
    d = _dt.datetime.fromtimestamp(now, M.VN_TZ)
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def install_workflow(app: FastAPI) -> None:
    from .board import _anonymous_allowed, _lang, _render, current_viewer, role_allows, viewer_for_api

    st = lambda: app.state.storage  # noqa: E731
    clock = lambda: app.state.clock()  # noqa: E731

    # -- API ---------------------------------------------------------------------------------------
    async def _json(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "invalid_json", "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(422, "validation_failed", "body must be a JSON object")
        return body

    def _validated(body: dict, meeting_id: Optional[str] = None) -> dict:
        if meeting_id is not None:
            body = dict(body, id=meeting_id)
        try:
            return M.validate(body, times="utc")
        except M.FieldError as exc:
            raise ApiError(422, "validation_failed", exc.en, details=[{"path": exc.field, "message": exc.en}]) from None

    async def _save(m: dict, who: str) -> bool:
        try:
            return await run_in_threadpool(st().upsert_meeting, m, who, clock())
        except UnknownRoom as exc:
            raise ApiError(422, "validation_failed", str(exc)) from None

    @app.get("/api/v1/meetings")
    async def api_meetings(request: Request, start: Optional[str] = None, end: Optional[str] = None):
        await viewer_for_api(request)
        now = clock()
        t0 = M.parse_utc_time(start, "from") if start else now - 86400
        t1 = M.parse_utc_time(end, "to") if end else now + 31 * 86400
        items = await run_in_threadpool(st().meetings_between, t0, t1)
        return {"meetings": [M.to_api(m) for m in items]}

    @app.post("/api/v1/meetings")
    async def api_meeting_create(request: Request):
        who = await viewer_for_api(request, "operator")
        m = _validated(await _json(request))
        created = await _save(m, who)
        return JSONResponse({"meeting": M.to_api(m), "created": created}, status_code=201 if created else 200)

    @app.get("/api/v1/meetings/{meeting_id}")
    async def api_meeting(request: Request, meeting_id: str):
        await viewer_for_api(request)
        m = await run_in_threadpool(st().meeting, meeting_id)
        if m is None:
            raise ApiError(404, "not_found", "no such meeting")
        readiness = await _readiness(m)
        return {"meeting": M.to_api(m), "readiness": readiness}

    @app.put("/api/v1/meetings/{meeting_id}")
    async def api_meeting_put(request: Request, meeting_id: str):
        who = await viewer_for_api(request, "operator")
        m = _validated(await _json(request), meeting_id)
        created = await _save(m, who)
        return JSONResponse({"meeting": M.to_api(m), "created": created}, status_code=201 if created else 200)

    @app.delete("/api/v1/meetings/{meeting_id}")
    async def api_meeting_delete(request: Request, meeting_id: str):
        await viewer_for_api(request, "operator")
        if not await run_in_threadpool(st().delete_meeting, meeting_id):
            raise ApiError(404, "not_found", "no such meeting")
        return Response(status_code=204)

    async def _import(data: bytes, who: str) -> tuple[list[dict], list[M.ImportError_]]:
        items, errors = M.parse_csv(data)
        known = {r["room_id"] for r in await run_in_threadpool(st().list_rooms_admin)}
        for m in items:
            missing = [r for r in m["room_ids"] if r not in known]
            if missing:
                col = "diem_cau_chu_toa" if m["chair_room_id"] in missing else "diem_cau_tham_du"
                errors.append(M.ImportError_(m["_line"], col, "không có điểm cầu " + ", ".join(missing),
                                             "no room " + ", ".join(missing)))
        errors.sort(key=lambda e: e.line)
        if errors:
            return [], errors  # all or nothing: the operator fixes the file and imports it again
        clean = [{k: v for k, v in m.items() if k != "_line"} for m in items]
        try:
            await run_in_threadpool(st().upsert_meetings, clean, who, clock())  # one transaction: all or none
        except UnknownRoom as exc:  # a room removed since the check above: nothing was stored
            gone = str(exc).split(": ", 1)[-1].split(", ")
            line = next((m["_line"] for m in items if set(m["room_ids"]) & set(gone)), 0)
            return [], [M.ImportError_(line, "diem_cau_tham_du", "không có điểm cầu " + ", ".join(gone),
                                       "no room " + ", ".join(gone))]
        return items, []

    @app.post("/api/v1/meetings/import")
    async def api_meeting_import(request: Request):
        who = await viewer_for_api(request, "operator")
        data = await request.body()
        if len(data) > 2 * 1024 * 1024:
            raise ApiError(413, "payload_too_large", "CSV larger than 2 MiB")
        items, errors = await _import(data, who)
        if errors:
            return JSONResponse({"imported": 0, "errors": [e.as_dict() for e in errors]}, status_code=422)
        return {"imported": len(items), "meeting_ids": [m["meeting_id"] for m in items], "errors": []}

    @app.get("/api/v1/alerts")
    async def api_alerts(request: Request):
        await viewer_for_api(request)
        items = await run_in_threadpool(lambda: st().alerts(open_only=True, now=clock()))
        return {"alerts": [dict(a, opened_at=format_rfc3339(a["opened_at"]), closed_at=format_rfc3339(a["closed_at"]),
                                meeting_end=format_rfc3339(a["meeting_end"])) for a in items]}

    @app.put("/api/v1/rooms/{room_id}/contacts")
    async def api_contacts(request: Request, room_id: str):
        who = await viewer_for_api(request, "technician")
        data = clean_contacts(await _json(request))
        try:
            await run_in_threadpool(st().set_room_contacts, room_id, data, who, clock())
        except UnknownRoom:
            raise ApiError(404, "not_found", "no such room") from None
        return {"contacts": data}

    @app.post("/api/v1/rooms/{room_id}/notes")
    async def api_note(request: Request, room_id: str):
        who = await viewer_for_api(request, "technician")
        body = await _json(request)
        ref = str(body.get("ref") or "")
        if not REF_RE.match(ref):
            raise ApiError(422, "validation_failed", "ref must be a meeting id or session:<session_id>")
        note = clean_note(body)
        try:
            await run_in_threadpool(st().set_room_note, room_id, ref, note, who, clock())
        except UnknownRoom:
            raise ApiError(404, "not_found", "no such room") from None
        return {"ref": ref, "note": note}

    def _report(kind: str, period: str, first: str, last: str, fmt: str, district: Optional[str]) -> tuple[bytes, str]:
        p = report_period(kind, period, first, last)
        if fmt not in ("xlsx", "csv"):
            raise ApiError(422, "validation_failed", "format must be xlsx or csv")
        unit = report_unit(app.state.settings, st(), district)
        data = forms.quality_report(st(), p, unit=unit, generated_at=clock(), fmt=fmt, district=district or None)
        return data, f"phu-luc-II-{p.slug}" + (f"-{district}" if district else "")

    def _logbook(room_id: str, first: str, last: str, fmt: str) -> tuple[bytes, str]:
        p = report_period("range", "", first, last)
        if fmt not in ("xlsx", "csv"):
            raise ApiError(422, "validation_failed", "format must be xlsx or csv")
        try:
            data = forms.logbook_report(st(), room_id, p, generated_at=clock(), fmt=fmt)
        except UnknownRoom:
            raise ApiError(404, "not_found", "no such room") from None
        return data, f"phu-luc-I-{room_id}-{p.slug}"

    @app.get("/api/v1/reports/quality")
    async def api_report_quality(request: Request, kind: str = "quarterly", period: str = "", start: str = "",
                                 end: str = "", format: str = "xlsx", district: Optional[str] = None):
        await viewer_for_api(request)
        data, name = await run_in_threadpool(_report, kind, period, start, end, format, district)
        return _download(data, format, name)

    @app.get("/api/v1/reports/logbook")
    async def api_report_logbook(request: Request, room_id: str, start: str, end: str, format: str = "xlsx"):
        await viewer_for_api(request)
        data, name = await run_in_threadpool(_logbook, room_id, start, end, format)
        return _download(data, format, name)

    async def _readiness(m: dict) -> dict:
        now = clock()
        rooms = {r["room_id"]: r for r in await run_in_threadpool(st().rooms_overview)}
        alerts = await run_in_threadpool(lambda: st().alerts(open_only=True, now=now))
        sessions = await run_in_threadpool(st().sessions_of_meeting, m["meeting_id"])
        return meeting_readiness(m, rooms, alerts, sessions, now)

    # -- board -------------------------------------------------------------------------------------
    async def page_viewer(request: Request):
        viewer = await current_viewer(request)
        if viewer is None and _anonymous_allowed(request):
            return ("anonymous", "", "operator")
        return viewer

    def login_redirect(lang: str):
        return RedirectResponse("/login?" + urlencode({"lang": lang}), status_code=303)

    async def form_actor(request: Request, need: str):
        """(username, form) for a board form post: logged in, role allows it, CSRF token right."""
        viewer = await page_viewer(request)
        form = await request.form()
        if viewer is None:
            return None, form, Response("login required", status_code=401, media_type="text/plain")
        if viewer[0] != "anonymous" and not hmac.compare_digest(str(form.get("csrf", "")), viewer[1]):
            return None, form, Response("CSRF check failed", status_code=403, media_type="text/plain")
        if not role_allows(viewer[2], need):
            return None, form, Response(f"this needs the {need} role", status_code=403, media_type="text/plain")
        return viewer[0], form, None

    @app.get("/meetings")
    async def meetings_page(request: Request, error: Optional[str] = None):
        lang = _lang(request)
        viewer = await page_viewer(request)
        if viewer is None:
            return login_redirect(lang)
        now = clock()
        items = await run_in_threadpool(st().meetings_between, now - 7 * 86400, now + 60 * 86400)
        rooms = {r["room_id"]: r for r in await run_in_threadpool(st().rooms_overview)}
        alerts = await run_in_threadpool(lambda: st().alerts(open_only=True, now=now))
        for m in items:
            m["readiness"] = meeting_readiness(m, rooms, alerts, [], now)
        return _render(request, "meetings.html", lang, viewer=viewer, meetings=items, now=now,
                       can_edit=role_allows(viewer[2], "operator"), rooms=sorted(rooms.values(), key=lambda r: r["room_id"]),
                       import_errors=getattr(request.state, "import_errors", None), imported=request.query_params.get("imported"),
                       error=error)

    @app.get("/meetings/{meeting_id}")
    async def meeting_page(request: Request, meeting_id: str):
        lang = _lang(request)
        viewer = await page_viewer(request)
        if viewer is None:
            return login_redirect(lang)
        m = await run_in_threadpool(st().meeting, meeting_id)
        if m is None:
            return _render(request, "notfound.html", lang, status=404, viewer=viewer)
        return _render(request, "meeting.html", lang, viewer=viewer, m=m, r=await _readiness(m), now=clock(),
                       can_edit=role_allows(viewer[2], "operator"))

    @app.post("/meetings")
    async def meeting_form(request: Request):
        who, form, refusal = await form_actor(request, "operator")
        if refusal:
            return refusal
        lang = _lang(request)
        raw = {k: form.get(k) for k in ("id", "title", "chair_room_id", "start", "end", "rehearsal_at")}
        raw["room_ids"] = form.getlist("room_ids") or form.get("room_ids_text", "")
        raw["emergency"] = form.get("emergency") == "1"
        try:
            m = M.validate(raw, times="local")
            await run_in_threadpool(st().upsert_meeting, m, who, clock())
        except M.FieldError as exc:
            return await _meetings_error(request, f"{exc.field}: {exc.text(lang)}")
        except UnknownRoom as exc:
            return await _meetings_error(request, str(exc))
        return RedirectResponse(f"/meetings/{quote(m['meeting_id'])}", status_code=303)

    async def _meetings_error(request: Request, message: str):
        resp = await meetings_page(request, error=message)
        resp.status_code = 422
        return resp

    @app.post("/meetings/import")
    async def meeting_import_form(request: Request):
        who, form, refusal = await form_actor(request, "operator")
        if refusal:
            return refusal
        upload = form.get("file")
        data = await upload.read() if hasattr(upload, "read") else str(upload or "").encode()
        items, errors = await _import(data[: 2 * 1024 * 1024 + 1], who)
        if errors:
            request.state.import_errors = [e.text(_lang(request)) for e in errors]
            resp = await meetings_page(request)
            resp.status_code = 422
            return resp
        return RedirectResponse(f"/meetings?imported={len(items)}", status_code=303)

    @app.post("/meetings/{meeting_id}/delete")
    async def meeting_delete_form(request: Request, meeting_id: str):
        _who, _form, refusal = await form_actor(request, "operator")
        if refusal:
            return refusal
        await run_in_threadpool(st().delete_meeting, meeting_id)
        return RedirectResponse("/meetings", status_code=303)

    @app.get("/meetings.csv")
    async def meetings_template(request: Request):
        if await page_viewer(request) is None:
            return login_redirect(_lang(request))
        return Response(("\ufeff" + M.CSV_TEMPLATE).encode(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="mau-lich-hop.csv"'})

    @app.post("/rooms/{room_id}/notes")
    async def note_form(request: Request, room_id: str):
        who, form, refusal = await form_actor(request, "technician")
        if refusal:
            return refusal
        ref = str(form.get("ref") or "")
        if not REF_RE.match(ref):
            return Response("bad ref", status_code=422, media_type="text/plain")
        note = clean_note({k: form.get(k) for k in NOTE_FIELDS})
        await run_in_threadpool(st().set_room_note, room_id, ref, note, who, clock())
        return RedirectResponse(f"/rooms/{quote(room_id)}#notes", status_code=303)

    @app.post("/rooms/{room_id}/contacts")
    async def contacts_form(request: Request, room_id: str):
        who, form, refusal = await form_actor(request, "technician")
        if refusal:
            return refusal
        raw = {k: form.get(k) for k in CONTACT_KEYS}
        for role, _ in forms.CONTACT_ROLES:
            raw[role] = {k: form.get(f"{role}_{k}") for k in PERSON_KEYS}
        await run_in_threadpool(st().set_room_contacts, room_id, clean_contacts(raw), who, clock())
        return RedirectResponse(f"/rooms/{quote(room_id)}#contacts", status_code=303)

    @app.get("/reports")
    async def reports_page(request: Request):
        lang = _lang(request)
        viewer = await page_viewer(request)
        if viewer is None:
            return login_redirect(lang)
        now = clock()
        y = _dt.datetime.fromtimestamp(now, M.VN_TZ).year
        quarters = [f"{yy}Q{q}" for yy in (y, y - 1) for q in (4, 3, 2, 1)]
        districts = sorted({r["district"] for r in await run_in_threadpool(st().list_rooms_admin) if r["district"]})
        return _render(request, "reports.html", lang, viewer=viewer, quarters=quarters, current=current_quarter(now),
                       years=[y, y - 1], districts=districts)

    @app.get("/reports/download")
    async def report_download(request: Request, kind: str = "quarterly", period: str = "", format: str = "xlsx",
                              district: str = "", room_id: str = "", start: str = "", end: str = ""):
        if await page_viewer(request) is None:
            return login_redirect(_lang(request))
        try:
            if kind == "logbook":
                data, name = await run_in_threadpool(_logbook, room_id, start, end, format)
            else:
                data, name = await run_in_threadpool(_report, kind, period, start, end, format, district or None)
        except ApiError as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain; charset=utf-8")
        return _download(data, format, name)

    app.state.room_page_extra = room_page_extra


async def room_page_extra(request: Request, room_id: str, viewer) -> dict:
    """What the room page shows of the workflow: open alerts, Phụ lục III contacts, the room's recent
    phiên (last 92 days) with their entries and the form to add what a machine cannot see."""
    st = request.app.state.storage
    now = request.app.state.clock()
    from .board import role_allows

    alerts = await run_in_threadpool(lambda: st.alerts(open_only=True, room_id=room_id, now=now))
    contacts = await run_in_threadpool(st.room_contacts, room_id)
    day = lambda ts: _dt.datetime.fromtimestamp(ts, M.VN_TZ).date()  # noqa: E731
    period = forms.Period("range", "", day(now - 92 * 86400), day(now + 86400))
    meetings = await run_in_threadpool(st.meetings_between, period.start - 86400, period.end, room_id)
    sessions = await run_in_threadpool(st.sessions_between, period.start - 86400, period.end, [room_id])
    notes = await run_in_threadpool(st.room_notes, room_id)
    phien = forms.room_phien(room_id, meetings, sessions, notes, period, now)
    rows = list(zip(phien, forms.logbook_rows(phien)))
    rows.reverse()
    d = day(now)
    return {"alerts": alerts, "contacts": contacts, "phien_rows": rows[:60],
            "can_note": viewer is not None and role_allows(viewer[2], "technician"),
            "logbook_from": (d - _dt.timedelta(days=90)).isoformat(), "logbook_to": d.isoformat(),
            "contact_roles": forms.CONTACT_ROLES, "contact_fields": forms.CONTACT_FIELDS}
