"""A questionnaire step read as a Draft and saved by one UPDATE of the draft as it was read."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.intake import service
from booking.intake.steps import STEP_NUMBER, step_at
from booking.models import Intake
from booking.timeutil import from_driver, utcnow
from tests.conftest import postgres_only
from tests.intake_factories import complete_intake, default_values, form_data, walk_to


def latest_intake_id(app):
    with app.app_context():
        return _db.session.scalar(sa.select(sa.func.max(Intake.id)))


def stored_answers(app, intake_id):
    with app.app_context():
        return service.read_answers(_db.session.get(Intake, intake_id), cipher_for(app.config))


def save_stale(app, draft, step_key, values):
    """Save `values` for `step_key` onto `draft` as read earlier, then commit; what it returned."""
    with app.app_context():
        saved = service.save_draft_step(_db.session, draft, step_at(STEP_NUMBER[step_key]), values,
                                        cipher=cipher_for(app.config), search_key=app.config["PATIENT_SEARCH_KEY"],
                                        now=utcnow(), draft_days=30)
        _db.session.commit()
        return saved


def read_draft(app, intake_id):
    with app.app_context():
        return service.open_draft(_db.engine, intake_id, utcnow())


def test_a_step_saved_from_another_tab_meanwhile_is_kept(app, client):
    # Tab A reads the draft for its step 3; tab B saves step 2 again before tab A's save lands.
    walk_to(client, "phq9")
    intake_id = latest_intake_id(app)
    draft = read_draft(app, intake_id)
    changed = {**default_values()["seeking"], "conditions": ["anxiety", "ptsd"]}
    assert client.post("/intake/step/2", data=form_data("seeking", changed)).status_code == 302
    save_stale(app, draft, "phq9", default_values()["phq9"])
    answers = stored_answers(app, intake_id)
    assert answers["seeking"]["conditions"] == ["anxiety", "ptsd"]  # tab B's answer, not the one tab A read
    assert answers["phq9"] == default_values()["phq9"]
    assert client.get("/intake/step/4").status_code == 200  # and the draft moved on past step 3


def test_a_review_seen_meanwhile_stays_seen(app, client):
    # Tab A reads the draft to change step 2 from the review page; tab B confirms the review
    # (progress moves on, the answers do not change) before tab A's save lands.
    walk_to(client, "substance")
    assert client.post(f"/intake/step/{STEP_NUMBER['substance']}", data=form_data("substance")).status_code == 302
    intake_id = latest_intake_id(app)
    draft = read_draft(app, intake_id)
    assert client.post(f"/intake/step/{STEP_NUMBER['review']}").status_code == 302
    save_stale(app, draft, "seeking", {**default_values()["seeking"], "conditions": ["ptsd"]})
    assert stored_answers(app, intake_id)["seeking"]["conditions"] == ["ptsd"]
    consent = STEP_NUMBER["review"] + 1
    assert client.get(f"/intake/step/{consent}").status_code == 200  # not sent back to the review


def test_a_step_saved_after_the_questionnaire_was_sent_changes_nothing(app, client):
    walk_to(client, "substance")
    intake_id = latest_intake_id(app)
    draft = read_draft(app, intake_id)  # read for the last step, in another tab
    complete_intake_from(client, "substance")
    before = stored_answers(app, intake_id)
    with pytest.raises(service.AlreadySubmitted):
        save_stale(app, draft, "substance", {**default_values()["substance"], "alcohol": "daily"})
    assert stored_answers(app, intake_id) == before


def complete_intake_from(client, key):
    """Save `key` and every step after it, review and sign (the intake was walked to `key`)."""
    keys = list(default_values())
    for later in keys[keys.index(key):]:
        assert client.post(f"/intake/step/{STEP_NUMBER[later]}", data=form_data(later)).status_code == 302
    assert client.post(f"/intake/step/{STEP_NUMBER['review']}").status_code == 302
    number = STEP_NUMBER["review"] + 1
    response = client.post(f"/intake/step/{number}", data={"step": str(number), "signature": "Jordan Example",
                                                            "agree": "y"})
    assert response.location.endswith("/intake/done")


def test_the_step_page_shows_the_links_expiry_in_the_clinics_zone(app, client):
    # 02:30 UTC is the evening before in New York: a timestamp read raw from the driver and
    # taken for local time would show the next day.
    walk_to(client, "seeking")
    expires = datetime.combine(utcnow().date() + timedelta(days=20), datetime.min.time(), timezone.utc) \
        + timedelta(hours=2, minutes=30)
    with app.app_context():
        _db.session.execute(sa.update(Intake).where(Intake.id == latest_intake_id(app))
                            .values(resume_expires_at=expires))
        _db.session.commit()
    page = client.get("/intake/step/2").get_data(as_text=True)
    evening_before = expires - timedelta(days=1)
    assert f"it works until {evening_before.day} {evening_before:%B %Y}" in page


def test_an_expired_draft_is_not_opened_by_its_browser(app, client):
    walk_to(client, "seeking")
    with app.app_context():
        _db.session.execute(sa.update(Intake).values(resume_expires_at=utcnow() - timedelta(seconds=1)))
        _db.session.commit()
    response = client.post("/intake/step/2", data=form_data("seeking"))
    assert response.location.endswith("/intake/start")
    assert stored_answers(app, latest_intake_id(app)).get("seeking") is None


def test_an_answer_that_first_makes_the_intake_urgent_still_marks_it_and_shows_the_panel(app, client):
    walk_to(client, "seeking")
    crisis = {**default_values()["seeking"], "self_harm_thoughts": "yes"}
    assert client.post("/intake/step/2", data=form_data("seeking", crisis)).location.endswith("/intake/crisis")
    with app.app_context():
        assert _db.session.get(Intake, latest_intake_id(app)).urgent


def test_timestamps_read_from_the_driver_are_aware_utc():
    assert from_driver(None) is None
    assert from_driver("2026-03-08 07:30:00.000000") == datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc)
    assert from_driver("2026-03-08 07:30:00.000000").tzinfo is timezone.utc
    new_york = datetime(2026, 3, 8, 2, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert from_driver(new_york) == datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc)
    assert from_driver(new_york).tzinfo is timezone.utc


def test_postgresql_the_usual_step_is_saved_by_one_update_in_autocommit(app, client):
    # One UPDATE is atomic on its own: on PostgreSQL it is sent without BEGIN and COMMIT around
    # it, two round trips of the three the save cost. (What it saves is checked above.)
    postgres_only()
    walk_to(client, "phq9")
    updates = []

    def record(connection, cursor, statement, *args):
        if statement.startswith("UPDATE intake"):
            updates.append(connection.connection.dbapi_connection.autocommit)

    with app.app_context():
        engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.post("/intake/step/3", data=form_data("phq9", default_values()["phq9"])).status_code == 302
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert updates == [True]
    assert stored_answers(app, latest_intake_id(app))["phq9"] == default_values()["phq9"]
