"""The per-process caches: bounded, time-limited, and never serving what the database no longer says."""

from datetime import timedelta

import icalendar

from booking.cache import TTLCache, approximate_size
from booking.calendar.feed_cache import cache_for
from booking.models import Booking
from booking.timeutil import utcnow
from tests.calendar_factories import add_booking
from tests.test_calendar_feed import new_feed_link


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_entries_expire_after_their_lifetime():
    clock = Clock()
    cache = TTLCache(60, size=8, clock=clock)
    assert cache.put("week", [1, 2]) == [1, 2]
    clock.now = 59.9
    assert cache.get("week") == [1, 2]
    clock.now = 60.0
    assert cache.get("week") is None


def test_the_least_recently_used_entry_goes_when_full():
    cache = TTLCache(60, size=2, clock=Clock())
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_zero_seconds_turns_the_cache_off():
    cache = TTLCache(0, size=8, clock=Clock())
    assert cache.put("a", 1) == 1
    assert cache.get("a") is None


def test_the_cache_stays_inside_its_byte_budget_dropping_the_least_recently_used():
    cache = TTLCache(60, size=100, clock=Clock(), max_bytes=10_000)
    for name in "abcde":
        cache.put(name, name * 3000)  # about 3 KB each
    assert cache.bytes_used() <= 10_000
    assert cache.get("a") is None and cache.get("e") == "e" * 3000


def test_a_value_bigger_than_the_budget_is_returned_but_not_kept():
    cache = TTLCache(60, size=100, clock=Clock(), max_bytes=1_000)
    assert cache.put("page", "x" * 5000) == "x" * 5000
    assert cache.get("page") is None


def test_sizes_follow_containers_and_objects():
    class Week:
        def __init__(self):
            self.slots = ["9:00 AM " * 100] * 1 + ["10:00 AM " * 100]

    assert approximate_size(Week()) > 1800
    assert approximate_size(("x" * 1000, {"k": "y" * 1000})) > 2000


def uids(response):
    return sorted(str(event["UID"]) for event in icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT"))


def test_the_feed_answers_304_while_unchanged_and_shows_a_change_on_the_next_poll(app, db, client, make_staff,
                                                                                  login):
    clinician = make_staff("clinician")
    now = utcnow()
    add_booking(db.session, clinician.id, starts_at=now + timedelta(days=2))
    db.session.commit()
    login(clinician)
    path = new_feed_link(client)
    client.post("/staff/logout")

    first = client.get(path)
    assert first.status_code == 200 and len(uids(first)) == 1 and first.headers["ETag"]
    assert len(cache_for(app)._data) == 1
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""

    booking = db.session.scalars(db.select(Booking)).one()
    booking.status = "cancelled"
    add_booking(db.session, clinician.id, starts_at=now + timedelta(days=4))
    db.session.commit()
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert len(uids(changed)) == 1 and uids(changed) != uids(first)
