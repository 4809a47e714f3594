"""The patient's intake through the test client: drafts, resume links, crisis path, submit."""

import pathlib
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.intake import service
from booking.intake.consent import consent_digest, consent_text
from booking.models import Intake
from booking.signals import intake_started, intake_submitted, intake_urgent
from booking.timeutil import utcnow
from booking.tokens import token_hash
from tests.conftest import POSTGRES
from tests.intake_factories import PLANTED, answers_with, complete_intake, default_values, form_data
from tests.outbox_helpers import emailed_path

QUESTIONNAIRE_FIRST = "Before you choose a time, we ask you to fill in a short health questionnaire"
RESUME_LINK = re.compile(r"/intake/resume/([A-Za-z0-9_-]+)")


@contextmanager
def captured(signal):
    """Collect the keyword arguments of every send of `signal`."""
    calls = []

    def receiver(sender, **kwargs):
        intake = kwargs.get("intake")
        calls.append({**kwargs, "intake_id": getattr(intake, "id", None)})

    with signal.connected_to(receiver):
        yield calls


def only_intake(app):
    with app.app_context():
        intake = _db.session.scalars(sa.select(Intake).order_by(Intake.id.desc())).first()
        _db.session.expunge_all()
        return intake


def resume_token(app):
    """The token of the latest resume link emailed (the only place a resume link is written)."""
    return RESUME_LINK.search(emailed_path(app, "intake_resume", RESUME_LINK.pattern)).group(1)


def test_start_page_explains_and_begins_a_draft(client):
    page = client.get("/intake/start").get_data(as_text=True)
    assert "11 short steps" in page and "not watched in real time" in page
    response = client.post("/intake/start")
    assert response.location.endswith("/intake/step/1")
    page = client.get("/intake/step/1").get_data(as_text=True)
    assert "Step 1 of 11" in page and "Your private link" in page


def test_starting_questionnaires_is_limited_per_address_and_drafts_stay_reachable(make_app):
    app = make_app(INTAKE_START_RATE_LIMIT="2 per hour")
    client = app.test_client()
    for _ in range(2):
        assert client.post("/intake/start").status_code == 302
    refused = client.post("/intake/start")
    assert refused.status_code == 429 and "call the clinic" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 60
    assert client.get("/intake/start").status_code == 200  # reading the page is not counted
    assert client.get("/intake/step/1").status_code == 200  # the draft already begun goes on
    other = app.test_client().post("/intake/start", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 302
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 3


def test_guide_pages_link_to_the_intake(client):
    assert 'href="/intake/start"' in client.get("/guide/").get_data(as_text=True)


def test_a_full_intake_is_stored_encrypted_scored_and_signed(app, client):
    answers = answers_with(about={"legal_name": f"Jordan {PLANTED}"},
                           medications={"medications": f"sertraline {PLANTED}"},
                           medical={"other_conditions": f"asthma {PLANTED}"})
    with captured(intake_started) as started, captured(intake_submitted) as submitted:
        response = complete_intake(client, answers, signature=f"Jordan {PLANTED}")
    assert response.location.endswith("/intake/done")
    intake = only_intake(app)
    assert intake.status == "submitted" and intake.last_step == 10
    cipher = cipher_for(app.config)
    assert cipher.decrypt(intake.scores_encrypted) == {"phq9": 8, "gad7": 7, "pcl5": 20}
    assert cipher.decrypt(intake.flags_encrypted) == [] and intake.flag_level is None and not intake.urgent
    assert intake.consent_version == app.config["CONSENT_VERSION"]
    assert intake.consent_sha256 == consent_digest(consent_text(app.config["CONSENT_VERSION"]))
    assert intake.consent_at is not None and intake.consent_ip == "127.0.0.1"
    assert intake.consent_user_agent.startswith("Werkzeug")
    assert [call["email"] for call in started] == ["jordan@example.org"]
    assert RESUME_LINK.search(started[0]["link"]) and started[0]["link"].startswith("http")
    assert [call["intake_id"] for call in submitted] == [intake.id]
    with app.app_context():
        rows = _db.session.execute(sa.text("SELECT * FROM intake")).all()
        assert PLANTED not in repr(rows)
        assert PLANTED not in repr(_db.session.execute(sa.text("SELECT * FROM patient")).all())
        assert PLANTED not in repr(_db.session.execute(sa.text("SELECT * FROM audit_event")).all())
    if not POSTGRES:
        # In WAL mode new rows live in the -wal file until a checkpoint: read both, then checkpoint
        # and read the main file again. The user agent, stored in the clear, proves the bytes read
        # hold this intake's row.
        path = pathlib.Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert intake.consent_user_agent.encode() in on_disk and PLANTED.encode() not in on_disk
        with app.app_context(), _db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpointed = path.read_bytes()
        assert intake.consent_user_agent.encode() in checkpointed and PLANTED.encode() not in checkpointed


def test_no_clearance_flag_offers_booking_at_once(app, client):
    complete_intake(client)
    page = client.get("/intake/done").get_data(as_text=True)
    assert 'href="/book/">Book a consultation' in page
    assert QUESTIONNAIRE_FIRST not in client.get("/book/").get_data(as_text=True)  # the booking pages know it


def test_a_clearance_flag_explains_the_wait_and_blocks_booking(app, client):
    complete_intake(client, answers_with(medical={"pregnant": "yes"}))
    page = client.get("/intake/done").get_data(as_text=True)
    assert "A clinician will read your answers and contact you within two working days" in page
    assert 'href="/book/"' not in page
    assert QUESTIONNAIRE_FIRST in client.get("/book/").get_data(as_text=True)  # nothing to book yet
    intake = only_intake(app)
    assert intake.booking_token_hash is None and intake.flag_level == "clearance"
    assert [flag["code"] for flag in cipher_for(app.config).decrypt(intake.flags_encrypted)] == ["pregnancy"]
    with app.app_context():  # the code says what the patient has: it is stored only encrypted
        assert "pregnancy" not in repr(_db.session.execute(sa.text("SELECT * FROM intake")).all())


def test_clearance_can_be_set_not_to_block_booking(make_app):
    app = make_app(INTAKE_CLEARANCE_BLOCKS_BOOKING=False, INTAKE_REVIEW_RESPONSE_TIME="one day")
    client = app.test_client()
    complete_intake(client, answers_with(medical={"pregnant": "yes"}))
    assert 'href="/book/"' in client.get("/intake/done").get_data(as_text=True)


@pytest.mark.parametrize("changes", [dict(phq9={"phq9_9": 1}), dict(seeking={"self_harm_thoughts": "yes"})])
def test_crisis_answer_shows_the_panel_keeps_the_intake_and_marks_it_urgent(app, client, changes):
    answers = answers_with(**changes)
    client.post("/intake/start")
    step_key = next(iter(changes))
    with captured(intake_urgent) as urgent:
        for key in ("about", "seeking", "phq9"):
            response = client.post(f"/intake/step/{form_data(key)['step']}", data=form_data(key, answers[key]))
            if key == step_key:
                break
    assert response.location.endswith("/intake/crisis")
    assert len(urgent) == 1
    page = client.get("/intake/crisis").get_data(as_text=True)
    for text in ("988", "988lifeline.org", "911", "This form is not watched in real time"):
        assert text in page
    assert client.get("/intake/step/4").location.endswith("/intake/crisis")  # acknowledged before going on
    intake = only_intake(app)
    assert intake.urgent and intake.status == "draft" and intake.crisis_acknowledged_at is None
    next_step = client.post("/intake/crisis").location
    assert next_step.endswith(f"/intake/step/{intake.last_step + 1}")
    assert client.get(next_step).status_code == 200
    assert only_intake(app).crisis_acknowledged_at is not None


def test_crisis_intake_can_be_completed_and_stays_urgent(app, client):
    with captured(intake_urgent) as urgent:
        complete_intake(client, answers_with(phq9={"phq9_9": 2}))
    assert len(urgent) == 1
    intake = only_intake(app)
    assert intake.status == "submitted" and intake.urgent
    assert "988" in client.get("/intake/done").get_data(as_text=True)


def test_resume_link_opens_the_draft_in_another_browser(app, client):
    client.post("/intake/start")
    client.post("/intake/step/1", data=form_data("about"))
    token = resume_token(app)
    assert len(token) >= 22  # at least 128 bits
    other = app.test_client()
    response = other.get(f"/intake/resume/{token}")
    assert response.location.endswith("/intake/step/2")
    page = other.get("/intake/step/1").get_data(as_text=True)
    assert 'value="Jordan Example"' in page
    assert only_intake(app).resume_token_hash == token_hash(token)


# A NUL in the path (%00) is the shared 400 for control characters: tests/test_email_abuse.py.
@pytest.mark.parametrize("token", ["made-up-token", "x" * 200, "a" * 43])
def test_made_up_resume_links_get_a_clear_page(client, token):
    response = client.get(f"/intake/resume/{token}")
    assert response.status_code == 404
    assert "does not open a questionnaire" in response.get_data(as_text=True)


def test_an_expired_resume_link_says_so(app, client):
    client.post("/intake/start")
    client.post("/intake/step/1", data=form_data("about"))
    token = resume_token(app)
    with app.app_context():
        _db.session.execute(sa.update(Intake).values(resume_expires_at=utcnow() - timedelta(minutes=1)))
        _db.session.commit()
    response = app.test_client().get(f"/intake/resume/{token}")
    assert response.status_code == 404 and "expired" in response.get_data(as_text=True)


def test_another_intakes_booking_token_is_not_a_resume_link(app, client):
    complete_intake(client)
    with app.app_context():
        intake = _db.session.get(Intake, only_intake(app).id)
        booking_token = service.issue_booking_token(intake)
        _db.session.commit()
    assert app.test_client().get(f"/book/start/{booking_token}").status_code == 302  # a working booking link...
    response = app.test_client().get(f"/intake/resume/{booking_token}")
    assert response.status_code == 404  # ...is no resume link


def test_steps_cannot_be_skipped_or_invented(client):
    client.post("/intake/start")
    for path in ("/intake/step/5", "/intake/step/0", "/intake/step/99", "/intake/step/abc", "/intake/step/-1",
                 "/intake/step/²", "/intake/step/" + "9" * 40):
        response = client.get(path)
        assert response.location.endswith("/intake/step/1"), path
    assert "Please continue with step 1" in client.get("/intake/step/1").get_data(as_text=True)


def test_a_tampered_step_number_saves_nothing_and_keeps_what_was_typed(app, client):
    client.post("/intake/start")
    data = {**form_data("about"), "step": "7"}
    response = client.post("/intake/step/1", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "sent for a different step" in page and 'value="Jordan Example"' in page
    assert only_intake(app).last_step == 0


@pytest.mark.parametrize("step_key, changes, field_id, message", [
    ("about", {"legal_name": "N" * 10_000}, "legal_name", "120 characters or fewer"),
    ("about", {"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
    # Ten years old whenever the suite runs (a fixed birth date would turn 18 one day).
    ("about", {"date_of_birth": (utcnow().date() - timedelta(days=3653)).isoformat()}, "date_of_birth",
     "need to be 18 or over"),
    ("about", {"date_of_birth": "1985-02-30"}, "date_of_birth", "real date"),
    ("about", {"date_of_birth": "02/30/1985"}, "date_of_birth", "real date"),
    ("about", {"date_of_birth": "05/14/2020"}, "date_of_birth", "need to be 18 or over"),
    ("about", {"email": "not-an-email"}, "email", "email address like"),
    ("about", {"weight_kg": "abc"}, "weight_kg", "Enter your weight as a number"),
    ("about", {"weight_kg": "700", "weight_kg_unit": "lb"}, "weight_kg", "from 30 to 300 kg (66 to 661 lb)"),
    ("about", {"weight_kg": "20.5"}, "weight_kg", "from 30 to 300 kg"),
    ("about", {"weight_kg": "9e999999"}, "weight_kg", "Enter your weight as a number"),
    ("about", {"weight_kg": "NaN"}, "weight_kg", "Enter your weight as a number"),
    ("about", {"weight_kg": "7" * 40}, "weight_kg", "Enter your weight as a number"),
    ("medical", {"conditions": ["none", "liver"]}, "conditions", "untick one of them"),
    ("medical", {"bp_systolic": "400", "bp_diastolic": "20"}, "bp_systolic", "from 70 to 250"),
    ("medical", {"bp_systolic": "400", "bp_diastolic": "20"}, "bp_diastolic", "from 40 to 150"),
    ("medical", {"bp_systolic": "80", "bp_diastolic": "90"}, "bp_systolic", "top number is normally higher"),
    ("phq9", {"phq9_3": "7"}, "phq9_3", "Choose one of the answers shown"),
    ("phq9", {"phq9_3": "abc"}, "phq9_3", "Choose one of the answers shown"),
    ("seeking", {"conditions": ["other"]}, "conditions_other", "describe what else"),
])
def test_bad_answers_get_a_message_on_the_field_and_keep_what_was_typed(app, client, step_key, changes,
                                                                        field_id, message):
    number = int(form_data(step_key)["step"])
    client.post("/intake/start")
    for key in list(default_values())[:number - 1]:
        client.post(f"/intake/step/{form_data(key)['step']}", data=form_data(key))
    before = only_intake(app)
    response = client.post(f"/intake/step/{number}", data={**form_data(step_key), **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field_id}-error">([^<]*)<', page)
    assert error and message in error.group(1), page[page.find("error-summary"):][:800]
    typed = changes.get(field_id, "")
    if isinstance(typed, str) and typed and field_id not in ("phq9_3",):
        assert f'value="{typed}"' in page or f">{typed}<" in page
    after = only_intake(app)
    assert (after.last_step, after.answers_encrypted) == (before.last_step, before.answers_encrypted)


def test_consent_needs_the_tick_and_a_name(app, client):
    complete_intake(client, signature="")
    page = client.post("/intake/step/11", data={"step": "11", "signature": "Jordan Example"}).get_data(as_text=True)
    assert "Tick the box to agree" in page and 'value="Jordan Example"' in page
    assert only_intake(app).status == "draft"
    assert "version 2026-11" in page and "not watched in real time" in page


def test_a_double_submit_is_harmless(app, client):
    complete_intake(client)
    with captured(intake_submitted) as submitted:
        again = client.post("/intake/step/11", data={"step": "11", "signature": "Jordan Example", "agree": "y"})
    assert again.location.endswith("/intake/done") and submitted == []
    assert "already been sent" in client.get("/intake/done").get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 1


def test_a_sent_intake_cannot_change_and_a_correction_is_a_new_version(app, client):
    complete_intake(client)
    first = only_intake(app)
    response = client.post("/intake/step/1", data=form_data("about", answers_with(about={"legal_name": "X"})["about"]))
    assert response.location.endswith("/intake/done")
    assert client.post("/intake/correct").location.endswith("/intake/done")  # a link is emailed instead
    link = emailed_path(app, "intake_correction", r"/intake/correct/[A-Za-z0-9_-]+")
    response = client.post(link)
    assert response.location.endswith("/intake/step/10")  # straight to the summary
    page = client.get("/intake/step/1").get_data(as_text=True)
    assert 'value="Jordan Example"' in page  # answers copied
    complete_rest = client.post("/intake/step/10")
    assert complete_rest.location.endswith("/intake/step/11")
    client.post("/intake/step/11", data={"step": "11", "signature": "Jordan Example", "agree": "y"})
    second = only_intake(app)
    assert second.id != first.id and second.previous_id == first.id and second.status == "submitted"
    with app.app_context():
        unchanged = _db.session.get(Intake, first.id)
        assert (unchanged.answers_encrypted, unchanged.status) == (first.answers_encrypted, "submitted")


def test_review_page_lists_every_answer_with_change_links(client):
    complete_intake(client, signature="")
    page = client.get("/intake/step/10").get_data(as_text=True)
    assert "Step 10 of 11" in page and "Jordan Example" in page and "Nearly every day" not in page
    assert "Several days (1)" in page
    assert 'href="/intake/step/7?return=review"' in page
    response = client.post("/intake/step/7?return=review", data=form_data("medical"))
    assert response.location.endswith("/intake/step/10")


def test_csrf_is_required_on_the_intake(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post("/intake/start").status_code == 400
