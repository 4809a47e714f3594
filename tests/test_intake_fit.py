"""The questionnaire fits real people: weights in lb, US dates, 'None of these', honest words."""

import re
from datetime import date

import pytest
import sqlalchemy as sa

from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.intake import service
from booking.models import Intake
from booking.timeutil import parse_date
from tests.intake_factories import answers_with, form_data, walk_to

from tests.test_intake_screening import codes


@pytest.mark.parametrize("text, expected", [
    ("1990-05-14", date(1990, 5, 14)),
    ("05/14/1990", date(1990, 5, 14)),
    ("5/4/1990", date(1990, 5, 4)),
    (" 1990-5-4 ", date(1990, 5, 4)),
    ("02/30/1990", None),   # not a real day
    ("14/05/1990", None),   # day first is not a format we read: month 14
    ("1990/05/14", None),
    ("May 14 1990", None),
    ("", None),
    (None, None),
])
def test_parse_date_reads_iso_and_us_month_first(text, expected):
    assert parse_date(text) == expected


def saved_about(app):
    """The stored answers of the newest intake's first step."""
    with app.app_context():
        intake = _db.session.scalars(sa.select(Intake).order_by(Intake.id.desc())).first()
        return service.read_answers(intake, cipher_for(app.config))["about"]


@pytest.mark.parametrize("typed, unit, kg", [("160.5", "lb", 72.8), ("72.5", "kg", 72.5), ("72,5", "kg", 72.5),
                                             ("70", None, 70.0)])
def test_weight_in_kg_or_lb_with_decimals_is_stored_in_kg(app, client, typed, unit, kg):
    client.post("/intake/start")
    data = {**form_data("about"), "weight_kg": typed, "date_of_birth": "05/14/1990"}
    if unit:
        data["weight_kg_unit"] = unit
    assert client.post("/intake/step/1", data=data).status_code == 302
    about = saved_about(app)
    assert about["weight_kg"] == kg
    assert about["date_of_birth"] == "1990-05-14"  # stored one way, however it was typed
    page = client.get("/intake/step/1").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="date_of_birth"[^>]*type="date"[^>]*value="1990-05-14"', page)


def test_a_refused_weight_keeps_the_number_and_the_unit(client):
    client.post("/intake/start")
    page = client.post("/intake/step/1", data={**form_data("about"), "weight_kg": "9999",
                                               "weight_kg_unit": "lb"}).get_data(as_text=True)
    assert 'value="9999"' in page
    assert re.search(r'<option value="lb" selected>', page)


def test_the_blood_pressure_date_takes_us_format_too(app, client):
    client.post("/intake/start")
    for key in ("about", "seeking", "phq9", "gad7", "pcl5", "treatment"):
        client.post(f"/intake/step/{form_data(key)['step']}", data=form_data(key))
    response = client.post("/intake/step/7", data={**form_data("medical"), "bp_date": "11/01/2026"})
    assert response.status_code == 302
    with app.app_context():
        intake = _db.session.scalars(sa.select(Intake)).one()
        assert service.read_answers(intake, cipher_for(app.config))["medical"]["bp_date"] == "2026-11-01"


def test_tick_all_that_apply_boxes_are_not_each_required(client):
    page = walk_to(client, "seeking")
    boxes = re.findall(r'<input[^>]*name="conditions"[^>]*>', page)
    assert len(boxes) == 7 and not any("required" in box for box in boxes)
    radios = re.findall(r'<input[^>]*name="self_harm_thoughts"[^>]*>', page)
    assert radios and all("required" in radio for radio in radios)  # a radio group shares one `required`


def test_medical_step_offers_none_of_these_and_the_new_conditions_under_a_true_heading(client):
    page = walk_to(client, "medical")
    for words in ("None of these", "Schizophrenia or schizoaffective disorder, with symptoms at present",
                  "Schizophrenia or schizoaffective disorder, without symptoms at present",
                  "High blood pressure that is under control"):
        assert words in page
    assert "now or in the past" not in page
    response = client.post("/intake/step/7", data={**form_data("medical"), "conditions": []})
    assert response.status_code == 422 and "Tick at least one" in response.get_data(as_text=True)


@pytest.mark.parametrize("ticked, expected", [
    (["schizophrenia"], {"schizophrenia": "review"}),
    (["schizophrenia_current"], {"schizophrenia_symptomatic": "clearance"}),
    (["bp_controlled"], {"treated_hypertension": "review"}),
    (["none"], {}),
])
def test_new_medical_boxes_raise_the_designs_flags(ticked, expected):
    assert codes(answers_with(medical={"conditions": ticked})) == expected


def test_substance_page_says_answers_shape_care(client):
    page = walk_to(client, "substance")
    assert "change nothing about how you are treated" not in page
    assert "plan your care" in page and "not used to judge you" in page


def test_pcl5_page_says_the_event_need_not_be_described_and_one_can_stop(client):
    page = walk_to(client, "pcl5")
    assert "You do not need to describe what happened" in page
    assert "you can stop and come back later" in page
    assert "Below is a list of problems that people sometimes have" in page  # the standard text stays


def test_gad7_page_has_its_difficulty_item_and_it_is_stored(app, client):
    page = walk_to(client, "gad7")
    assert "how difficult have these problems made it for you" in page
    assert client.post("/intake/step/4", data={**form_data("gad7"), "gad7_difficulty": "very"}).status_code == 302
    with app.app_context():
        intake = _db.session.scalars(sa.select(Intake)).one()
        assert service.read_answers(intake, cipher_for(app.config))["gad7"]["gad7_difficulty"] == "very"
