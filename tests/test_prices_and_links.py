"""Prices as settings (issue 12 point 4) and links that follow the server (point 5)."""

import os
import re
import subprocess

import sqlalchemy as sa

from booking.appointments.web import slot_value
from booking.extensions import db as _db
from booking.models import OutboxMessage
from booking.outbox.backends import FolderBackend, SMTPBackend
from booking.outbox.cli import where_mail_goes
from tests.booking_factories import add_clinician, add_intake
from tests.outbox_helpers import body_of, ics_of
from tests.test_booking_patient import EVERY_DAY, confirm, free, start

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE_PAGE = "/guide/your-consultation"


def costs(page):
    """The text of the page's costs box, or None."""
    found = re.search(r'<section class="costs"[^>]*>(.*?)</section>', page, re.DOTALL)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else None


def test_the_guides_consultation_page_shows_the_price_and_costs_text(make_app):
    client = make_app(CONSULTATION_PRICE="$320", CONSULTATION_COSTS_TEXT="Paid on the day; card or cash.").test_client()
    box = costs(client.get(GUIDE_PAGE).get_data(as_text=True))
    assert "The consultation costs $320." in box and "Paid on the day; card or cash." in box
    assert costs(client.get("/guide/risks").get_data(as_text=True)) is None  # only the page that asks for it


def test_no_price_set_shows_no_costs_box(make_app):
    client = make_app(CONSULTATION_PRICE=None, CONSULTATION_COSTS_TEXT=None).test_client()
    assert costs(client.get(GUIDE_PAGE).get_data(as_text=True)) is None


def test_a_clinics_own_consultation_page_decides_whether_prices_show(make_app, tmp_path):
    folder = tmp_path / "guide"
    folder.mkdir()
    (folder / "your-consultation.md").write_text("---\ntitle: Your visit\ncosts: yes\n---\nOur own words.\n")
    (folder / "what-it-is.md").write_text("---\ntitle: What it is\n---\nNo prices here.\n")
    client = make_app(GUIDE_OVERRIDE_DIR=str(folder), CONSULTATION_PRICE="$99").test_client()
    assert "$99" in costs(client.get(GUIDE_PAGE).get_data(as_text=True))
    assert costs(client.get("/guide/what-it-is").get_data(as_text=True)) is None


def test_the_price_is_on_the_confirm_page_and_the_booking_confirmation(make_app):
    app = make_app(CONSULTATION_PRICE="$275")
    client = app.test_client()
    with app.app_context():
        alice = add_clinician(_db.session, name="Dr Alice Adams", hours=EVERY_DAY)
        _intake, token = add_intake(_db.session, app.config)
        slot = free(_db, alice)[0]
    start(client, token)
    confirm_page = client.get(f"/book/confirm?clinician={alice}&start={slot_value(slot.starts_at)}")
    assert "$275" in costs(confirm_page.get_data(as_text=True))
    response = confirm(client, alice, slot.starts_at)
    assert "$275" in costs(client.get(response.headers["Location"]).get_data(as_text=True))


def test_pages_link_to_the_address_in_use_and_emails_to_public_base_url(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:5101")
    client = app.test_client()
    with app.app_context():
        alice = add_clinician(_db.session, name="Dr Alice Adams", hours=EVERY_DAY)
        _intake, token = add_intake(_db.session, app.config, contact={"name": "Pat", "email": "pat@example.org"})
        slot = free(_db, alice)[0]
    start(client, token)
    manage_path = confirm(client, alice, slot.starts_at).headers["Location"]
    page = client.get(manage_path).get_data(as_text=True)
    assert f'<a href="http://localhost{manage_path}">' in page  # the test client's address, not :5101
    with app.app_context():
        email = _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")).one()
        assert f"http://127.0.0.1:5101{manage_path}" in body_of(email)
        assert f"http://127.0.0.1:5101{manage_path}" in ics_of(email).replace("\r\n ", "")  # the invite too


def make_dry_run(*args, **environ):
    """What `make -n run ...` would run, with `environ` added to (or, for None, removed from) the environment."""
    env = {key: value for key, value in os.environ.items() if key != "PUBLIC_BASE_URL"}
    env.update({key: value for key, value in environ.items() if value is not None})
    result = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout


def test_make_run_lines_public_base_url_up_with_host_and_port():
    lines = make_dry_run("PORT=5101")
    assert "PUBLIC_BASE_URL=http://127.0.0.1:5101 BOOKING_ENV=development" in lines
    assert "flask run --host 127.0.0.1 --port 5101" in lines
    assert "PUBLIC_BASE_URL=http://127.0.0.1:5101 .venv/bin/flask seed-demo" in lines  # prints the sign-in URL
    assert "Serving on http://127.0.0.1:5101/" in lines and "flask outbox where" in lines


def test_make_run_keeps_a_public_base_url_that_is_set_and_never_links_to_0_0_0_0():
    assert "PUBLIC_BASE_URL=https://book.example" in make_dry_run(PUBLIC_BASE_URL="https://book.example")
    everywhere = make_dry_run("HOST=0.0.0.0", "PORT=8000")
    assert "PUBLIC_BASE_URL=http://127.0.0.1:8000" in everywhere and "--host 0.0.0.0" in everywhere


def test_seed_demo_prints_the_sign_in_page_on_public_base_url(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:5101")
    output = app.test_cli_runner().invoke(args=["seed-demo"]).output
    assert "Demo staff sign-ins (http://127.0.0.1:5101/staff/login):" in output
    assert ":5000" not in output


def test_outbox_where_says_where_mail_goes(make_app):
    assert "as .eml files in /srv/outbox" in where_mail_goes(FolderBackend("/srv/outbox"))
    assert "by SMTP through mail.example:2525" in where_mail_goes(SMTPBackend("mail.example", 2525))
    app = make_app()
    output = app.test_cli_runner().invoke(args=["outbox", "where"]).output
    assert "outbox send" in output and ".eml files in" in output
