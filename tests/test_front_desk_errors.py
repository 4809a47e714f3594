"""Refusals that say what happened, with the nearest times as links that keep what was typed."""

import re
from urllib.parse import parse_qs, urlsplit

from booking.appointments.web import parse_slot
from booking.timeutil import to_zone
from tests.booking_factories import ZONE, add_booking
from tests.test_booking_staff import phone_form, staff, text  # noqa: F401 (staff is a fixture)


def suggestion_links(page, path):
    """The query of every suggested-time link to `path` on the page, as dicts."""
    return [{key: values[0] for key, values in parse_qs(urlsplit(href).query).items()}
            for href in re.findall(rf'href="({re.escape(path)}\?[^"#]+)', page)]


def test_a_slot_booked_earlier_says_another_patient_has_it_and_keeps_the_form(client, db, staff):
    add_booking(db.session, staff["alice"], staff["at"](10), name="Earlier Patient")
    page = text(client.post("/staff/schedule/book", data=phone_form(staff)))
    assert "That time is already booked by another patient." in page
    assert "just taken" not in page
    assert 'value="10:00"' in page and f'value="{staff["day"].isoformat()}"' in page
    links = suggestion_links(page, "/staff/schedule/book")
    assert links and all(link["patient"] == str(staff["caller"]) for link in links)  # the patient stays chosen


def test_an_overlap_names_the_consultation_it_overlaps(client, db, staff):
    add_booking(db.session, staff["alice"], staff["at"](9, 45), name="Off Grid")  # 09:45-10:15
    page = text(client.post("/staff/schedule/book", data=phone_form(staff)))
    assert "That time overlaps the 09:45 consultation." in page


def test_an_off_grid_time_names_the_nearest_start_times_as_links(client, db, staff):
    page = text(client.post("/staff/schedule/book", data=phone_form(staff, minute=10)))
    assert "10:10 is not one of Dr Alice Adams's start times; the nearest are " in page
    assert "Please choose a listed time" not in page
    named = re.search(r"the nearest are ([0-9:, ]+)\.", page).group(1).split(", ")
    assert "10:00" in named and "10:30" in named
    assert len(suggestion_links(page, "/staff/schedule/book")) == len(named)


def test_the_move_forms_suggestions_are_links_that_fill_the_form(client, db, staff):
    moving, _ = add_booking(db.session, staff["bob"], staff["at"](11), name="Mover")
    add_booking(db.session, staff["alice"], staff["at"](15), name="Blocker")
    refused = text(client.post(f"/staff/schedule/booking/{moving}/move",
                               data={"clinician": str(staff["alice"]), "date": staff["day"].isoformat(),
                                     "time": "15:00"}))
    assert "already booked by another patient" in refused
    links = suggestion_links(refused, f"/staff/schedule/booking/{moving}")
    assert links
    chosen = links[0]
    form = text(client.get(f"/staff/schedule/booking/{moving}", query_string=chosen))
    local = to_zone(parse_slot(chosen["start"]), ZONE)
    assert re.search(rf'name="time"[^>]*value="{local:%H:%M}"', form)
    assert re.search(rf'name="date"[^>]*value="{local.date().isoformat()}"', form)
    assert re.search(rf'<option selected value="{chosen["clinician"]}">', form)
