"""The readiness board: server-rendered HTML (Jinja2), Vietnamese by default, no external assets.

Viewers (operators) log in with a user name and password, separate from room tokens. Sessions live
in the database (any process can serve any request); the cookie holds a random id whose SHA-256 is
stored. Every form that changes state carries a CSRF token: the login form a double-submit cookie, the
logout form the token bound to the session.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hmac
import ipaddress
import json
import logging
import math
import secrets
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from . import security
from .errors import ApiError
from .i18n import LANGS, translator
from .view import AREAS, LEVEL_ORDER, filter_rooms, has_problem, summarize

log = logging.getLogger("hntht.collector")

SESSION_COOKIE = "hntht_session"
CSRF_COOKIE = "hntht_csrf"
LANG_COOKIE = "hntht_lang"
VN_TZ = _dt.timezone(_dt.timedelta(hours=7))  # the board shows Vietnam time (UTC+7, no DST)

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _fmt_time(iso_or_epoch) -> str:
    if iso_or_epoch is None:
        return "—"
    if isinstance(iso_or_epoch, str):
        from .timeutil import parse_rfc3339
        iso_or_epoch = parse_rfc3339(iso_or_epoch)
    return _dt.datetime.fromtimestamp(iso_or_epoch, VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def _age(t, seconds) -> str:
    if seconds is None:
        return t("ago.never")
    s = max(0, int(seconds))
    if s < 120:
        return t("ago.s", n=s)
    if s < 7200:
        return t("ago.m", n=s // 60)
    if s < 172800:
        return t("ago.h", n=s // 3600)
    return t("ago.d", n=s // 86400)


templates.env.filters["vntime"] = _fmt_time
templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1)


def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    if c in LANGS:
        return c
    return request.app.state.settings.default_lang


def _secure_cookie(request: Request) -> bool:
    mode = request.app.state.settings.cookie_secure
    if mode == "auto":
        return request.url.scheme == "https"
    return str(mode).lower() in ("1", "true", "yes", "always")


def _anonymous_allowed(request: Request) -> bool:
    """The embedded demo's board needs no login, and only ever for loopback clients."""
    if not request.app.state.settings.anonymous_board:
        return False
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


ROLE_RANK = {"viewer": 0, "technician": 1, "operator": 2}
ROLES = tuple(ROLE_RANK)


def role_allows(role: str, need: str) -> bool:
    """viewer (read) < technician (+ room contacts and meeting notes) < operator (+ meetings)."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[need]


async def current_viewer(request: Request) -> Optional[tuple[str, str, str]]:
    """(username, csrf, role) of the logged-in viewer, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await run_in_threadpool(request.app.state.storage.session, security.hash_session_id(cookie),
                                        request.app.state.clock())
        if found:
            return found
    return None


async def viewer_for_api(request: Request, need: str = "viewer") -> str:
    """Read API: a session cookie or HTTP Basic viewer credentials; room tokens are not viewers. With
    `need`, the viewer's role must allow it (403 `forbidden` otherwise). A write through the session
    cookie must carry the session's CSRF token in `X-CSRF-Token` (HTTP Basic needs none: a browser
    never sends it on its own)."""
    if _anonymous_allowed(request):
        return "anonymous"  # the embedded demo, loopback only
    found = await current_viewer(request)
    if found:
        if request.method not in ("GET", "HEAD") and not hmac.compare_digest(
                request.headers.get("x-csrf-token", ""), found[1]):
            raise ApiError(403, "forbidden", "missing or wrong X-CSRF-Token for a cookie session")
        if not role_allows(found[2], need):
            raise ApiError(403, "forbidden", f"this needs the {need} role")
        return found[0]
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if user:
            ok, wait = await login_attempt(request, user, password)
            if ok:
                row = await run_in_threadpool(request.app.state.storage.viewer, user)
                if not role_allows(row[2] if row else "", need):
                    raise ApiError(403, "forbidden", f"this needs the {need} role")
                return user
            if wait:
                raise ApiError(429, "rate_limited", "too many failed logins; try again later",
                               headers={"Retry-After": str(int(wait) + 1)})
    raise ApiError(401, "unauthorized", "viewer login required", headers={"WWW-Authenticate": 'Basic realm="hntht"'})


def _login_limits(request: Request, user: str) -> dict[str, int]:
    """Failed-login counters this attempt is subject to: its user name and its client address."""
    s = request.app.state.settings
    limits = {}
    if s.login_max_failures > 0:
        limits["user:" + user.casefold()] = s.login_max_failures
    if s.login_max_failures_per_client > 0 and request.client is not None:
        limits["client:" + request.client.host] = s.login_max_failures_per_client
    return limits


async def login_attempt(request: Request, user: str, password: str) -> tuple[bool, float]:
    """(ok, seconds to wait). While a user name or client address is throttled the password is not
    even checked, so guessing learns nothing and costs us no scrypt; the counters are in the database,
    so every collector process enforces the same limit."""
    storage, settings = request.app.state.storage, request.app.state.settings
    limits = _login_limits(request, user)
    now = request.app.state.clock()
    if limits:
        wait = await run_in_threadpool(storage.login_blocked, limits, settings.login_window_s, now)
        if wait > 0:
            return False, wait
    if await _check_password(request, user, password):
        if limits:
            await run_in_threadpool(storage.login_succeeded, "user:" + user.casefold())
        return True, 0.0
    if limits:
        await run_in_threadpool(storage.login_failed, list(limits), settings.login_window_s, now)
        log.info("failed viewer login from %s", request.client.host if request.client else "?")
    return False, 0.0


async def _check_password(request: Request, user: str, password: str) -> bool:
    row = await run_in_threadpool(request.app.state.storage.viewer, user)
    stored = row[0] if row else security.DUMMY_PASSWORD_HASH
    ok = await run_in_threadpool(security.verify_password, password, stored)
    return bool(ok and row and row[1])


def _render(request: Request, name: str, lang: str, status: int = 200, **ctx) -> HTMLResponse:
    t = translator(lang)
    other = "en" if lang == "vi" else "vi"
    q = dict(request.query_params)
    q["lang"] = other
    ctx.update(t=t, lang=lang, lang_switch_url=f"{request.url.path}?{urlencode(q)}",
               refresh=request.app.state.settings.board_refresh_s)
    resp = templates.TemplateResponse(request, name, ctx, status_code=status)
    if request.query_params.get("lang") in LANGS:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="strict",
                        secure=_secure_cookie(request))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'self' 'unsafe-inline'; "
                                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


def install_board(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse)
    async def board(request: Request, level: Optional[str] = None, district: Optional[str] = None,
                    problems: Optional[str] = None):
        lang = _lang(request)
        viewer = await current_viewer(request)
        if viewer is None and not _anonymous_allowed(request):
            return RedirectResponse("/login?" + urlencode({"lang": lang}), status_code=303)
        now = request.app.state.clock()
        rooms = await run_in_threadpool(request.app.state.storage.rooms_overview)
        summaries = [summarize(r, now) for r in rooms]
        levels = sorted({s["level"] for s in summaries}, key=lambda lv: (LEVEL_ORDER.get(lv, 9), lv))
        districts = sorted({s["district"] for s in summaries if s["district"]})
        only_problems = problems in ("1", "on", "true")
        shown = filter_rooms(summaries, level or None, district or None, only_problems)
        t = translator(lang)
        groups: list[dict] = []
        for s in shown:
            s["age_text"] = _age(t, s["heartbeat_age_s"])
            s["problem"] = has_problem(s)
            key = (s["level"], s["district"])
            if not groups or groups[-1]["key"] != key:
                groups.append({"key": key, "level": s["level"], "district": s["district"], "rooms": []})
            groups[-1]["rooms"].append(s)
        alerts = await run_in_threadpool(lambda: request.app.state.storage.alerts(open_only=True, now=now))
        names = {s["room_id"]: s["name"] for s in summaries}
        for a in alerts:
            a["room_name"] = names.get(a["room_id"], a["room_id"])
        totals = {"rooms": len(summaries),
                  "online": sum(1 for s in summaries if s["liveness"] == "online"),
                  "ready": sum(1 for s in summaries if s["readiness"] == "ready"),
                  "problems": sum(1 for s in summaries if has_problem(s))}
        return _render(request, "board.html", lang, groups=groups, levels=levels, districts=districts,
                       sel_level=level or "", sel_district=district or "", only_problems=only_problems,
                       totals=totals, now=now, viewer=viewer, areas=AREAS, alerts=alerts)

    @app.get("/rooms/{room_id}", response_class=HTMLResponse)
    async def room_page(request: Request, room_id: str):
        lang = _lang(request)
        viewer = await current_viewer(request)
        if viewer is None and not _anonymous_allowed(request):
            return RedirectResponse("/login?" + urlencode({"lang": lang}), status_code=303)
        storage = request.app.state.storage
        room = await run_in_threadpool(storage.room, room_id)
        if room is None:
            return _render(request, "notfound.html", lang, status=404, viewer=viewer)
        now = request.app.state.clock()
        summary = summarize(room, now)
        summary["age_text"] = _age(translator(lang), summary["heartbeat_age_s"])
        report = await run_in_threadpool(storage.latest_report, room_id)
        events = await run_in_threadpool(storage.room_events, room_id, 50)
        hb = room["heartbeat"] or {}
        skew = (room["sent_at"] - room["last_heartbeat_at"]) if room["sent_at"] and room["last_heartbeat_at"] else None
        actor = viewer if viewer is not None else ("anonymous", "", "operator")  # anonymous: embedded demo only
        extra = await request.app.state.room_page_extra(request, room_id, actor)
        return _render(request, "room.html", lang, room=summary, hb=hb, report=report and report["report"],
                       report_received_at=report and report["received_at"], events=events, viewer=viewer,
                       skew=skew, areas=AREAS, csrf=actor[1], **extra)

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request):
        return _login_page(request, _lang(request), None)

    @app.post("/login")
    async def login(request: Request):
        lang = _lang(request)
        form = await request.form()
        token = str(form.get("csrf", ""))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not token or not cookie or not hmac.compare_digest(token, cookie):
            return _login_page(request, lang, "login.csrf", status=403)
        user, password = str(form.get("username", ""))[:100], str(form.get("password", ""))[:1000]
        if not user:
            return _login_page(request, lang, "login.failed", status=401)
        ok, wait = await login_attempt(request, user, password)
        if wait:
            resp = _login_page(request, lang, "login.throttled", status=429,
                               error_args={"n": max(1, math.ceil(wait / 60))})
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        if not ok:
            return _login_page(request, lang, "login.failed", status=401)
        sid = security.session_id()
        settings = request.app.state.settings
        await run_in_threadpool(request.app.state.storage.create_session, security.hash_session_id(sid), user,
                                secrets.token_urlsafe(24), request.app.state.clock(), settings.session_ttl_s)
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(SESSION_COOKIE, sid, max_age=int(settings.session_ttl_s), httponly=True,
                        samesite="strict", secure=_secure_cookie(request), path="/")
        resp.delete_cookie(CSRF_COOKIE, path="/login")
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        viewer = await current_viewer(request)
        form = await request.form()
        if viewer is None or not hmac.compare_digest(str(form.get("csrf", "")), viewer[1]):
            return Response("CSRF check failed", status_code=403, media_type="text/plain")
        await run_in_threadpool(request.app.state.storage.delete_session,
                                security.hash_session_id(request.cookies.get(SESSION_COOKIE, "")))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp


def _login_page(request: Request, lang: str, error_key: Optional[str], status: int = 200,
                error_args: Optional[dict] = None) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    resp = _render(request, "login.html", lang, status=status, csrf=csrf, error_key=error_key,
                   error_args=error_args, viewer=None)
    resp.set_cookie(CSRF_COOKIE, csrf, max_age=3600, httponly=True, samesite="strict",
                    secure=_secure_cookie(request), path="/login")
    return resp
