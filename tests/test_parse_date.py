"""The one way a typed date is read (booking.timeutil.parse_date), and every place that reads one uses it."""

from datetime import date

import pytest

from booking.timeutil import parse_date


@pytest.mark.parametrize("text, expected", [
    ("2026-11-28", date(2026, 11, 28)),
    ("  2026-11-28 ", date(2026, 11, 28)),
    ("1900-01-01", date(1900, 1, 1)),
    ("9998-12-31", date(9998, 12, 31)),
    ("1899-12-31", None),
    ("9999-01-01", None),
    ("2026-02-30", None),
    ("2026-6-1", date(2026, 6, 1)),
    ("6/1/2026", date(2026, 6, 1)),
    ("1/6/2026 ", date(2026, 1, 6)),
    ("13/01/2026", None),
    ("20261128", None),
    ("2026-11-28T10:00", None),
    ("２０２６-11-28", None),
    ("", None),
    (None, None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_every_date_field_gives_the_same_answer_for_a_non_padded_date(app, client, make_staff, login, db):
    """Once, some pages took 2026-6-1 and others refused it."""
    from booking.appointments.availability import DATE_FILTER_ERROR

    login(make_staff("admin"))
    audit = client.get("/staff/admin/audit?since=2026-6-1")
    assert audit.status_code == 200 and DATE_FILTER_ERROR not in audit.get_data(as_text=True)
    assert DATE_FILTER_ERROR in client.get("/staff/admin/audit?since=2026-6-31").get_data(as_text=True)
    reception = app.test_client()
    login(make_staff("receptionist"), test_client=reception)
    export = reception.get("/staff/calendar/export?clinician=1&start=2026-6-1&end=2026-06-30")
    assert "must be a real date" not in export.get_data(as_text=True)
    refused = reception.get("/staff/calendar/export?clinician=1&start=2026-6-31&end=2026-06-30")
    assert "must be a real date" in refused.get_data(as_text=True)
