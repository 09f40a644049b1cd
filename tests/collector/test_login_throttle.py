"""Brute-force throttling of viewer logins (board form and HTTP Basic on the read API), on both backends:
counters live in the database, so every collector process enforces the same limit."""

from __future__ import annotations

import re

import pytest

from collector import security


@pytest.fixture
def viewer(storage):
    storage.add_viewer("op", security.hash_password("correct horse battery"), 0)
    return ("op", "correct horse battery")


@pytest.fixture
def limits(settings):
    settings.login_max_failures = 3
    settings.login_max_failures_per_client = 5
    settings.login_window_s = 900
    return settings


def _form_login(client, user, password, lang="vi"):
    page = client.get(f"/login?lang={lang}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": user, "password": password, "csrf": csrf},
                       follow_redirects=False)


def test_basic_auth_locks_the_user_name_after_repeated_failures(client, viewer, limits, clock):
    for _ in range(3):
        assert client.get("/api/v1/rooms", auth=("op", "guess")).status_code == 401
    # Locked: even the right password is refused (so guessing cannot confirm a hit), with a retry time.
    r = client.get("/api/v1/rooms", auth=viewer)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 901
    clock.advance(899)
    assert client.get("/api/v1/rooms", auth=viewer).status_code == 429
    clock.advance(2)  # the window has run out
    assert client.get("/api/v1/rooms", auth=viewer).status_code == 200


def test_success_clears_the_user_counter(client, viewer, limits):
    for _ in range(2):
        assert client.get("/api/v1/rooms", auth=("op", "guess")).status_code == 401
    assert client.get("/api/v1/rooms", auth=viewer).status_code == 200
    for _ in range(2):
        assert client.get("/api/v1/rooms", auth=("OP", "guess")).status_code == 401  # same name, any case
    assert client.get("/api/v1/rooms", auth=viewer).status_code == 200


def test_one_client_guessing_many_user_names_is_throttled(client, viewer, limits, storage):
    for i in range(5):
        assert client.get("/api/v1/rooms", auth=(f"user{i}", "guess")).status_code == 401
    assert client.get("/api/v1/rooms", auth=viewer).status_code == 429
    assert storage.count("login_failures") == 6  # five user names and the client address


def test_form_login_throttled_with_a_vietnamese_message(client, viewer, limits):
    for _ in range(3):
        r = _form_login(client, "op", "guess")
        assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
    r = _form_login(client, "op", viewer[1])
    assert r.status_code == 429
    assert "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." in r.text
    assert "hntht_session" not in r.headers.get("set-cookie", "")
    r = _form_login(client, "op", viewer[1], lang="en")
    assert r.status_code == 429 and "Too many failed sign-ins. Please try again in 15 minutes." in r.text


def test_throttling_can_be_turned_off(client, viewer, settings):
    settings.login_max_failures = 0
    settings.login_max_failures_per_client = 0
    for _ in range(30):
        assert client.get("/api/v1/rooms", auth=("op", "guess")).status_code == 401
    assert client.get("/api/v1/rooms", auth=viewer).status_code == 200
