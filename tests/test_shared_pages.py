"""Pages the same for everyone are rendered once per content version, and stay correct for each visitor."""

import os
import re

from flask import session as flask_session
from flask import template_rendered

from booking import page_cache
from booking.extensions import db as _db
from booking.guide import pages as guide_pages
from tests.booking_factories import add_intake
from tests.test_booking_queries import counted

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Renders:
    """Records the templates rendered while the block runs."""

    def __init__(self, app):
        self.app, self.names = app, []

    def record(self, sender, template, context, **extra):
        self.names.append(template.name)

    def __enter__(self):
        template_rendered.connect(self.record, self.app)
        return self.names

    def __exit__(self, *exc):
        template_rendered.disconnect(self.record, self.app)


def test_a_guide_page_is_rendered_once_then_again_when_its_file_changes(app, client, tmp_path, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(guide_pages, "clock", lambda: now[0])
    folder = tmp_path / "guide"
    folder.mkdir()
    page = folder / "risks.md"
    page.write_text("---\ntitle: Risks\n---\nFirst version.\n")
    with Renders(app) as rendered:
        assert "First version." in client.get("/guide/risks").get_data(as_text=True)
        assert "First version." in app.test_client().get("/guide/risks").get_data(as_text=True)
    assert rendered == ["guide/page.html"]
    page.write_text("---\ntitle: Risks\n---\nSecond version.\n")
    stat = os.stat(page)
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new version even within one clock tick
    now[0] += 0.5
    # The folder is looked at once a second: the edit is not seen yet...
    assert "First version." in client.get("/guide/risks").get_data(as_text=True)
    now[0] += 0.5  # ...and is a second after the last look
    assert "Second version." in client.get("/guide/risks").get_data(as_text=True)


def test_a_changed_setting_shows_on_the_next_shared_page(app, client):
    assert "Riverside Renamed" not in client.get("/guide/").get_data(as_text=True)
    app.config["CLINIC_NAME"] = "Riverside Renamed"
    assert "Riverside Renamed" in client.get("/guide/").get_data(as_text=True)


def test_a_shared_page_served_under_another_script_root_links_within_it(client):
    # The app mounted at /clinic (a proxy's SCRIPT_NAME) must not be served a copy rendered for /.
    assert 'href="/guide/risks"' in client.get("/guide/").get_data(as_text=True)
    mounted = client.get("/guide/", base_url="http://localhost/clinic/").get_data(as_text=True)
    assert 'href="/clinic/guide/risks"' in mounted and 'href="/guide/risks"' not in mounted


def test_error_pages_are_rendered_once_per_code_and_message(app, client):
    with Renders(app) as rendered:
        for path in ("/no-such-page", "/another-missing-page", "/guide/no-such-topic"):
            response = client.get(path)
            assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    assert rendered == ["errors/error.html"]


def test_each_browser_gets_its_own_csrf_token_in_the_shared_start_page_and_it_works(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    first, second = app.test_client(), app.test_client()
    with Renders(app) as rendered:
        tokens = [CSRF.search(browser.get("/intake/start").get_data(as_text=True)).group(1)
                  for browser in (first, second)]
    assert rendered == ["intake/start.html"] and tokens[0] != tokens[1]
    assert "csrf-marker" not in first.get("/intake/start").get_data(as_text=True)
    assert second.post("/intake/start", data={"csrf_token": tokens[1]}).headers["Location"].endswith("/intake/step/1")
    assert first.post("/intake/start", data={"csrf_token": tokens[1]}).status_code == 400  # not the other's token


def test_a_signed_in_staff_member_and_a_flashed_message_get_their_own_page(app, client, make_staff, login):
    anonymous = app.test_client()
    assert "Sign out" not in anonymous.get("/guide/").get_data(as_text=True)
    user = make_staff("receptionist")
    login(user)
    assert f"Sign out {user.name}" in client.get("/guide/").get_data(as_text=True)
    assert "Sign out" not in anonymous.get("/guide/").get_data(as_text=True)  # not the staff member's copy
    redirected = anonymous.get("/intake/step/3")  # no questionnaire here: a message on the start page
    assert redirected.headers["Location"].endswith("/intake/start")
    assert "We could not find your questionnaire" in anonymous.get("/intake/start").get_data(as_text=True)
    assert "We could not find your questionnaire" not in app.test_client().get("/intake/start").get_data(as_text=True)


def test_a_browser_with_a_questionnaire_sees_its_own_start_page(app, client):
    client.post("/intake/start")
    assert "Continue your questionnaire" in client.get("/intake/start").get_data(as_text=True)
    assert "Continue your questionnaire" not in app.test_client().get("/intake/start").get_data(as_text=True)


def test_pages_without_a_staff_cookie_ask_the_database_nothing(app, client):
    with app.app_context():
        engine = _db.engine
    client.get("/guide/")
    with counted(engine) as statements:
        for path in ("/guide/", "/guide/risks", "/no-such-page"):
            client.get(path)
    assert statements == []
    with counted(engine) as statements:
        assert client.get("/healthz").status_code == 200
    assert len(statements) == 1


def test_a_tampered_session_cookie_is_an_empty_session_and_an_old_key_still_opens_one(make_app):
    app = make_app()
    with app.app_context():
        _intake, token = add_intake(_db.session, app.config)
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    good = patient.get_cookie("session").value
    assert "Choose a consultation time" in patient.get("/book/").get_data(as_text=True)
    forged = app.test_client()
    forged.set_cookie("session", good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))
    assert "we ask you to fill in a short health questionnaire" in forged.get("/book/").get_data(as_text=True)
    rotated = make_app(keep_rows=True, SECRET_KEY="a-new-secret-key-0123456789-abcdefghijklmnop",
                       SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    carried = rotated.test_client()
    carried.set_cookie("session", good)
    assert "Choose a consultation time" in carried.get("/book/").get_data(as_text=True)


def test_a_shared_page_is_stored_encoded_and_each_request_gets_its_own_token_in_every_place(make_app):
    # Stored as UTF-8 cut at the CSRF marker: a request joins the parts around its own token, with
    # no encoding of the page (characters beyond ASCII included) and no search for the marker.
    app = make_app(WTF_CSRF_ENABLED=True)
    renders = []

    def render():
        renders.append(1)
        return f"<p>Café · naïve</p><input value=\"{page_cache.CSRF_MARKER}\"><i>{page_cache.CSRF_MARKER}</i>"

    bodies = []
    for _ in range(2):
        with app.test_request_context("/somewhere"):
            body = page_cache.shared(("a test page",), render)
            bodies.append((body, flask_session["csrf_token"]))
    assert len(renders) == 1
    for body, _session_token in bodies:
        assert isinstance(body, bytes)
        text = body.decode()
        tokens = re.findall(r'value="([^"]+)"><i>([^<]+)</i>', text)[0]
        assert text.startswith("<p>Café · naïve</p>") and tokens[0] == tokens[1] and "csrf-marker" not in text
    assert bodies[0][1] != bodies[1][1]  # two sessions, two tokens
    assert app.extensions["booking_page_cache"].get(
        (("a test page",), page_cache.address_of({"wsgi.url_scheme": "http", "HTTP_HOST": "localhost",
                                                 "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                                                 "SCRIPT_NAME": ""}),
         tuple(map(app.config.get, page_cache.SHOWN_SETTINGS)))) == tuple(
        part.encode() for part in render().split(page_cache.CSRF_MARKER))
    with app.test_request_context("/somewhere"):
        plain = page_cache.shared(("a page without a form",), lambda: "<p>Café</p>")
        assert plain == "<p>Café</p>".encode() and "csrf_token" not in flask_session  # no token made
