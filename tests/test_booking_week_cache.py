"""The cached week view never shows an older schedule than the database holds.

Each test warms the cache first (and checks that it is warm: the repeat request sends fewer
statements), then changes something through the app and expects the very next request to
show it.
"""

import re
from datetime import date, time, timedelta

import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant, week_start
from booking.appointments.schedule_version import read_version
from booking.appointments.views import week_view
from booking.appointments.web import slot_value
from booking.appointments.week_cache import RecentViews, cache_for
from booking.extensions import db as _db
from booking.models import Booking, StaffUser
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_clinician, add_intake, context, utc
from tests.patient_factories import make_patient
from tests.test_booking_queries import page_queries

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}
SLOT = re.compile(r'data-slot="([^"]+)"')


def shown(client, week):
    """The slot values the week page for `week` offers (first available)."""
    response = client.get(f"/book/?clinician=any&week={week}")
    assert response.status_code == 200
    return SLOT.findall(response.get_data(as_text=True))


def patient(app, db):
    """A test client whose session holds a fresh intake that may book."""
    _intake_id, token = add_intake(db.session, app.config)
    client = app.test_client()
    assert client.get(f"/book/start/{token}").status_code == 302
    return client


def warm(app, client, week):
    """Show `week` twice and check that the second time came from the cache."""
    path = f"/book/?clinician=any&week={week}"
    first = page_queries(app, client, path)
    assert page_queries(app, client, path) < first  # the week itself was not read again
    return shown(client, week)


def next_week():
    """The Monday of the week after the first bookable one (every slot then is days away)."""
    return week_start(clinic_day(utcnow() + timedelta(days=1), ZONE)) + timedelta(days=7)


def test_a_new_booking_and_its_cancellation_show_at_once(app, db):
    add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    viewer, booker = patient(app, db), patient(app, db)
    week = next_week()
    before = warm(app, viewer, week)
    taken = before[3]
    booked = booker.post("/book/confirm", data={"clinician": "any", "start": taken, "name": "Pat Booker",
                                                "email": "booker@example.org", "tz": ""})
    assert booked.status_code == 302
    after = shown(viewer, week)
    assert taken not in after and len(after) == len(before) - 1
    token = booked.headers["Location"].rsplit("/", 1)[1]
    assert booker.post(f"/book/manage/{token}/cancel", data={"reason": ""}).status_code == 302
    assert shown(viewer, week) == before


def test_a_closed_day_and_a_settings_change_show_at_once(app, db, make_staff, login):
    add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    viewer, reception = patient(app, db), app.test_client()
    login(make_staff("receptionist"), test_client=reception)
    week = next_week()
    before = warm(app, viewer, week)
    wednesday = week + timedelta(days=2)
    on_wednesday = slot_value(local_instant(wednesday, time(9), ZONE))
    assert on_wednesday in before
    closed = reception.post("/staff/schedule/hours/exceptions", data={
        "applies_to": "clinic", "kind": "closed", "first_day": wednesday.isoformat(),
        "last_day": wednesday.isoformat(), "note": "Holiday"})
    assert closed.status_code == 302
    after = shown(viewer, week)
    assert on_wednesday not in after and after and len(after) < len(before)
    # Thirty days' notice: this week can no longer be booked at all; the page moves on.
    saved = reception.post("/staff/schedule/hours/settings", data={"min_notice_hours": "720", "horizon_days": "60",
                                                                   "cancel_cutoff_hours": "24"})
    assert saved.status_code == 302
    assert not set(shown(viewer, week)) & set(after)


def test_deactivating_the_clinician_empties_the_week(app, db):
    alice = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    viewer = patient(app, db)
    week = next_week()
    assert warm(app, viewer, week)
    version = read_version(db.session)
    db.session.get(StaffUser, alice).must_change_password = True  # not about availability: no new version
    db.session.commit()
    assert read_version(db.session) == version
    db.session.get(StaffUser, alice).active = False
    db.session.commit()
    assert read_version(db.session) == version + 1
    assert shown(viewer, week) == []


def test_time_passing_the_minimum_notice_removes_a_slot(app, db):
    add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    now = utc(2030, 3, 4, 15, 0)  # Monday 10:00 in New York; 24 hours' notice
    with app.test_request_context("/book/"):
        first = week_view(context(now), None, None, "/x?start=")
        day = first["week"] + timedelta(days=1)  # Tuesday 5 March
        earliest = slot_value(local_instant(day, time(10), ZONE))
        labels = [slot["value"] for slot in first["by_day"][day]]
        assert labels[0] == earliest  # 10:00 Tuesday is exactly 24 hours ahead
        later = week_view(context(now + timedelta(minutes=1)), None, None, "/x?start=")
        assert [slot["value"] for slot in later["by_day"][day]] == labels[1:]
        assert later["count"] == first["count"] - 1


def test_the_window_is_cut_as_of_the_second_and_worked_out_once_in_it(app, db):
    add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    version = read_version(db.session)
    tuesday_ten = local_instant(date(2030, 3, 5), time(10), ZONE)
    notice_ends = tuesday_ten - timedelta(hours=24)  # from this instant on, Tuesday 10:00 is within the notice

    def view(seconds_after):
        return week_view(context(notice_ends + timedelta(seconds=seconds_after)), None, None, "/x?start=",
                         version=version)

    def offers_ten(found):
        return slot_value(tuesday_ten) in [slot["value"] for slot in found["by_day"][date(2030, 3, 5)]]

    with app.test_request_context("/book/"):
        early, late = view(0.2), view(0.9)
        assert offers_ten(late)  # as of the whole second, 10:00 is exactly 24 hours ahead
        assert late is early  # the same second: worked out once
        assert not offers_ten(view(1.0))  # the next second is worked out afresh, and 10:00 is gone
        assert offers_ten(view(0.5))  # a request still in the earlier second (another thread) is exact too


def test_recent_views_hold_one_second_and_a_bounded_number():
    recent = RecentViews(size=2)
    recent.put(1, "a", "view a")
    recent.put(1, "b", "view b")
    recent.put(1, "c", "view c")  # beyond the bound: returned, not kept
    assert (recent.get(1, "a"), recent.get(1, "b"), recent.get(1, "c")) == ("view a", "view b", None)
    assert recent.get(2, "a") is None
    assert recent.put(2, "c", "view c2") == "view c2"
    assert (recent.get(2, "c"), recent.get(1, "a")) == ("view c2", None)  # the earlier second is dropped


def book_outside_the_app(db, clinician, starts_at):
    """A booking written in raw SQL, as another program would: no schedule version bump."""
    outsider = make_patient(db.session, name="Outside").id
    db.session.commit()
    with db.engine.begin() as connection:
        connection.execute(sa.insert(Booking.__table__).values(
            clinician_id=clinician, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30),
            busy_until=starts_at + timedelta(minutes=30), status="booked", patient_id=outsider,
            manage_token_hash="f" * 64, source="phone", sequence=0))
    return slot_value(starts_at)


def test_changes_outside_the_app_heal_when_entries_expire(app, db):
    alice = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    viewer = patient(app, db)
    week = next_week()
    before = warm(app, viewer, week)
    taken = book_outside_the_app(db, alice, local_instant(week + timedelta(days=1), time(9), ZONE))
    assert shown(viewer, week) == before  # still the cached week...
    cache = cache_for(app)
    real_clock = cache.clock
    cache.clock = lambda: real_clock() + app.config["BOOKING_WEEK_CACHE_SECONDS"] + 1
    assert taken not in shown(viewer, week)  # ...until its entries expire


def test_the_cache_can_be_turned_off(make_app):
    app = make_app(BOOKING_WEEK_CACHE_SECONDS=0)
    from booking.extensions import db

    with app.app_context():
        add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
        viewer = patient(app, db)
        week = next_week()
        before = shown(viewer, week)
        assert before and not cache_for(app)._data
        # Off means off: not even kept for the rest of the second (RecentViews).
        taken = book_outside_the_app(db, db.session.scalar(sa.select(StaffUser.id)), local_instant(
            week + timedelta(days=1), time(9), ZONE))
        assert taken in before and shown(viewer, week) == [value for value in before if value != taken]


def test_a_shared_week_page_still_shows_this_browsers_message(app, db):
    # The rendered week page is kept for the next patient, but a message flashed to one
    # browser (here: an unknown clinician) appears on that browser's page, once.
    clinician = add_clinician(db.session, name="Dr Cached Page", hours=EVERY_DAY)
    _intake, token = add_intake(db.session, app.config)
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        browser.get(f"/book/start/{token}")
    monday = week_start(clinic_day(utcnow(), ZONE) + timedelta(days=14))
    plain = first.get(f"/book/?clinician=any&week={monday}").get_data(as_text=True)
    assert "Dr Cached Page" in plain and "not available for booking" not in plain
    flashed = second.get(f"/book/?clinician=999999&week={monday}").get_data(as_text=True)
    assert "not available for booking" in flashed and f'value="{monday.isoformat()}"' in flashed
    again = second.get(f"/book/?clinician=any&week={monday}").get_data(as_text=True)
    assert again == plain  # the shared page, and the message is not shown twice
    assert first.get(f"/book/?clinician={clinician}&week={monday}").get_data(as_text=True) != plain


def test_a_signed_in_staff_members_page_is_never_shared(app, make_staff, login):
    # Staff headers carry their name and a sign-out form; such a page must not reach a patient.
    with app.app_context():
        add_clinician(_db.session, hours=EVERY_DAY)
        _intake, token = add_intake(_db.session, app.config)
    reception, patient = app.test_client(), app.test_client()
    login(make_staff("receptionist", name="Rita Reception"), test_client=reception)
    monday = week_start(clinic_day(utcnow(), ZONE) + timedelta(days=14))
    for browser in (reception, patient):
        browser.get(f"/book/start/{token}")
    assert "Sign out Rita Reception" in reception.get(f"/book/?week={monday}").get_data(as_text=True)
    assert "Sign out" not in patient.get(f"/book/?week={monday}").get_data(as_text=True)
