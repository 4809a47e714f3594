"""Security headers, error pages and logging on every response."""

import io
import logging
import re

import pytest

from booking import security
from booking.security import CONTENT_SECURITY_POLICY

PUBLIC_PAGES = ["/guide/", "/guide/risks", "/staff/login", "/intake/start", "/no-such-page", "/healthz"]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_security_headers_on_every_page(client, url):
    response = client.get(url)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-Id"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_served_over_https(client):
    response = client.get("/guide/", base_url="https://clinic.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_flags(make_app, make_staff):
    app = make_app(SESSION_COOKIE_SECURE=True)
    from tests.factories import create_staff_user
    from booking.extensions import db

    with app.app_context():
        user = create_staff_user(db.session, "admin")
    response = app.test_client().post("/staff/login", data={"email": user.email, "password": user.password},
                                      base_url="https://clinic.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_staff_pages_are_not_cached(client):
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"


def test_a_header_the_view_sets_itself_wins_and_is_not_doubled(make_app):
    app = make_app()

    def own_headers():
        return "calendar", {"Cache-Control": "private, no-cache", "X-Frame-Options": "SAMEORIGIN"}

    app.add_url_rule("/own-headers", "own_headers", own_headers)
    response = app.test_client().get("/own-headers")
    assert response.headers.getlist("Cache-Control") == ["private, no-cache"]
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]  # the rest are still added
    assert len(response.headers.getlist("X-Request-Id")) == 1


def test_friendly_404_page(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_unexpected_error_shows_a_friendly_500_without_details(make_app):
    app = make_app()

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body and "secret internals" not in body


def test_method_not_allowed_is_friendly(client):
    response = client.delete("/guide/")
    assert response.status_code == 405 and "not available" in response.get_data(as_text=True)


def test_oversized_posts_get_413(client):
    response = client.post("/staff/login", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_logs_name_the_endpoint_never_the_form_or_path(client, caplog):
    caplog.set_level(logging.INFO, logger="booking.requests")
    logger = logging.getLogger("booking")
    logger.propagate = True  # let caplog see what the app logs
    try:
        client.post("/staff/login", data={"email": "patient-secret@example.com", "password": "hunter2-hunter2"})
        client.get("/guide/secret-token-in-path")
    finally:
        logger.propagate = False
    text = caplog.text
    assert "staff.login" in text
    assert "patient-secret" not in text and "hunter2" not in text and "secret-token-in-path" not in text


ACCESS_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO \[(\w+)\] booking.requests: "
                         r"GET guide.page 200 (\d+\.\d)ms$")


def access_lines(client, monkeypatch, extra_handler=None):
    """The lines the app's log handler writes for one request, and the request's id.

    Only the app's own handler (plus `extra_handler`) is left on the `booking` logger: pytest
    adds its capturing handlers there, which is a set-up other than the app's own."""
    handler = security.access_log.handler
    monkeypatch.setattr(handler, "stream", io.StringIO())
    monkeypatch.setattr(logging.getLogger("booking"), "handlers", [handler] + ([extra_handler] if extra_handler else []))
    response = client.get("/guide/risks")
    return handler.stream.getvalue().splitlines(), response.headers["X-Request-Id"]


def test_each_request_writes_one_line_in_the_log_format_with_its_request_id(client, monkeypatch):
    lines, request_id = access_lines(client, monkeypatch)
    assert len(lines) == 1
    found = ACCESS_LINE.match(lines[0])
    assert found and found.group(2) == request_id


def test_the_line_reaches_a_handler_added_later_and_reads_the_same_through_logging(client, monkeypatch):
    # The line is written straight to the app's handler while logging is as the app set it up
    # (security.AccessLog); another handler must see it too, and logging's own rendering of it
    # must be the same line.
    straight, straight_id = access_lines(client, monkeypatch)
    added = logging.StreamHandler(io.StringIO())  # logging's default format: the message alone
    through_logging, request_id = access_lines(client, monkeypatch, extra_handler=added)
    assert added.stream.getvalue().startswith("GET guide.page 200 ")

    def masked(line, rid):
        found = ACCESS_LINE.match(line)
        assert found and found.group(2) == rid
        return line.replace(found.group(1), "T").replace(rid, "ID").replace(found.group(3) + "ms", "Nms")

    assert len(through_logging) == len(straight) == 1
    assert masked(through_logging[0], request_id) == masked(straight[0], straight_id)


def test_no_line_while_logging_is_turned_off(client, monkeypatch):
    logging.disable(logging.INFO)
    try:
        lines, _request_id = access_lines(client, monkeypatch)
    finally:
        logging.disable(logging.NOTSET)
    assert lines == []


def test_headers_on_every_parameterless_page_for_anonymous_visitors(app, client):
    urls = sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments})
    assert len(urls) >= 5
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] == "no-referrer", url
