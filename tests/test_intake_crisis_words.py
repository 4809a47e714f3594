"""After a crisis answer: the panel while answering, honest words on the last page, the Veterans line."""

import json
import re
from datetime import timedelta

import sqlalchemy as sa

from booking.extensions import db as _db
from booking.models import Intake
from booking.timeutil import utcnow
from tests.booking_factories import add_booking, add_clinician
from tests.intake_factories import answers_with, complete_intake, form_data, walk_to

PANEL_REGION = re.compile(r"data-crisis-answers='([^']*)'")


def test_the_phq9_page_carries_a_hidden_panel_for_item_9_above_0_and_its_script(client):
    page = walk_to(client, "phq9")
    assert json.loads(PANEL_REGION.search(page).group(1)) == {"phq9_9": ["1", "2", "3"]}
    assert 'src="/static/js/crisis.js"' in page
    hidden_panel = page[page.index("data-crisis-answers"):]
    assert "<div hidden>" in hidden_panel[:200] and "838255" in hidden_panel


def test_the_seeking_page_watches_the_self_harm_question_and_other_pages_watch_nothing(client):
    page = walk_to(client, "seeking")
    assert json.loads(PANEL_REGION.search(page).group(1)) == {"self_harm_thoughts": ["yes"]}
    client.post("/intake/step/2", data=form_data("seeking"))
    client.post("/intake/step/3", data=form_data("phq9"))
    gad7 = client.get("/intake/step/4").get_data(as_text=True)
    assert "data-crisis-answers" not in gad7 and "crisis.js" not in gad7


def test_the_crisis_panel_names_the_veterans_crisis_line(client):
    walk_to(client, "phq9")
    client.post("/intake/step/3", data={**form_data("phq9"), "phq9_9": "1"})
    panel = client.get("/intake/crisis").get_data(as_text=True)
    panel = panel[panel.index('class="crisis-panel"'):]
    assert "Veterans Crisis Line" in panel and "press 1" in panel
    assert 'href="sms:838255"' in panel and "VeteransCrisisLine.net/chat" in panel


def urgent_done_page(client, **changes):
    """The last page after sending a questionnaire with PHQ-9 item 9 at 1 (plus `changes`)."""
    answers = answers_with(phq9={"phq9_9": 1}, **changes)
    complete_intake(client, answers)
    return client.get("/intake/done").get_data(as_text=True)


def test_an_urgent_questionnaire_promises_contact_today_not_in_two_working_days(client):
    page = urgent_done_page(client, medical={"conditions": ["aneurysm"]})  # also waits for clearance
    contact = re.search(r'id="urgent-contact">([^<]*)<', page).group(1)
    assert "today, or on the next working day" in contact
    assert "two working days" not in page
    assert "988" in page[page.index('class="crisis-panel"'):]


def test_a_routine_questionnaire_waiting_for_clearance_keeps_the_response_time(client):
    complete_intake(client, answers_with(medical={"conditions": ["aneurysm"]}))
    page = client.get("/intake/done").get_data(as_text=True)
    assert "within two working days" in page and 'id="urgent-contact"' not in page


def test_the_last_page_knows_about_a_booking_already_made(app, client):
    complete_intake(client)
    assert "You can book a consultation now" in client.get("/intake/done").get_data(as_text=True)
    with app.app_context():
        clinician = add_clinician(_db.session, name="Dr Alice Adams")
        intake = _db.session.scalars(sa.select(Intake)).one()
        add_booking(_db.session, clinician, (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0),
                    intake_id=intake.id)
    page = client.get("/intake/done").get_data(as_text=True)
    booked = re.search(r'id="existing-booking">([^<]*)<', page).group(1)
    assert "You have booked a consultation" in booked and "Dr Alice Adams" in booked
    assert "You can book a consultation now" not in page and "Get my booking link" not in page
