"""A fuzz over every route in app.url_map (issue 10): GET and POST, anonymous and signed in as each
role, with absurd dates, overlong ids, control characters and junk. No answer may be a 5xx.

Bounded so the suite stays quick: FUZZ_EXAMPLES examples per route, method and identity
(override with the environment variable of the same name for a longer run).
"""

import os
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from booking.extensions import db as _db
from booking.intake.steps import STEPS
from booking.models import StaffUser
from booking.models.staff import SignInFailure
from booking.timeutil import utcnow
from tests.booking_factories import add_booking, add_clinician, add_intake

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
ROLES = ("anonymous", "receptionist", "clinician", "admin")
# Names the views read from the query string or a form, and every intake question.
NAMES = sorted({
    "accepts_bookings", "action", "active", "agree", "applies_to", "buffer_minutes", "cancel_cutoff_hours",
    "clinician", "clinician_id", "confirm", "consultation_minutes", "date", "decision", "email", "end",
    "end_time", "first_day", "first_time", "form", "from", "horizon_days", "kind", "last_day", "last_time",
    "min_notice_hours", "name", "next", "note", "notes", "page", "password", "phone", "reason", "return", "role",
    "signature", "since", "start", "start_time", "status", "step", "time", "to", "tz", "until", "view", "week",
    "weekday", *(question.name for step in STEPS for question in step.questions)})
ABSURD = ["9999-12-31", "0000-01-01", "2026-02-30", "2026-13-01", "-1", "0", "1", "2", "3", "9" * 30, "1e308",
          "2026-03-08T07:00Z", "9999-12-31T23:59Z", "24:00", "23:59", "-05:00", "any", "week", "day", "clinic",
          "booked", "cancelled", "suitable", "admin", "clinician", "y", "on", "", " ", "%", "../..", "x" * 3000,
          "America/New_York", "Mars/Olympus", "//evil.example", "javascript:alert(1)", "\u202e", "😀",
          "\x00", "a\x00b", "\x1b[31m", "line\r\nbreak", "tab\there"]
VALUES = st.one_of(st.sampled_from(ABSURD), st.text(max_size=40), st.integers(-10**20, 10**20).map(str))
FIELDS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6)
# Besides the random examples, every route gets each of these in every name at once: the
# absurd dates and the overlong number that once made 500s (year 9999 overflowed a date
# range, 30 digits overflowed an integer column).
EVERYWHERE = ("9999-12-31", "0000-01-01", "2026-02-30", "9" * 30, "a\x00b")


def path_value(converter, known):
    """A strategy for one URL variable, by its converter: known ids and tokens, and absurd ones."""
    if type(converter).__name__ == "RecordIdConverter":
        return st.one_of(st.sampled_from(known["ids"]), st.integers(1, 999_999_999)).map(str)
    return st.one_of(st.sampled_from(known["tokens"]), st.sampled_from(ABSURD[:20]),
                     st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#"), min_size=1,
                             max_size=60))


def everywhere_examples(rule, known):
    """Decorator: hypothesis examples with each EVERYWHERE value in every name (known ids in the path)."""
    def decorate(test):
        for value in EVERYWHERE:
            fields = dict.fromkeys(NAMES, value)
            path = {name: str(known["ids"][0]) if type(converter).__name__ == "RecordIdConverter"
                    else known["tokens"][0] for name, converter in rule._converters.items()}
            test = example(values=path, args=fields, form=fields)(test)
        return test
    return decorate


def routes(app):
    """(rule, method) for every rule and each of its GET/POST methods; sign-out last, so it ends nothing early."""
    found = [(rule, method) for rule in app.url_map.iter_rules() for method in ("GET", "POST")
             if method in rule.methods and rule.endpoint != "static"]
    return sorted(found, key=lambda pair: ("logout" in pair[0].endpoint, pair[0].rule, pair[1]))


def seed(app):
    """Something for the ids and tokens to find: a clinician, an intake, bookings, each role's account."""
    with app.app_context():
        clinician = add_clinician(_db.session, hours={day: [(time(9), time(17))] for day in range(7)})
        intake_id, booking_token = add_intake(_db.session, app.config)
        booking_id, manage_token = add_booking(_db.session, clinician, utcnow() + timedelta(days=3),
                                               intake_id=intake_id)
        _old, old_token = add_booking(_db.session, clinician, utcnow() - timedelta(days=90), status="completed")
        ids = sorted({clinician, intake_id, booking_id, _old})
    return {"ids": ids, "tokens": [booking_token, manage_token, old_token]}


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_with_a_server_error(app, make_staff, login, role):
    known = seed(app)
    client = app.test_client()
    user = None if role == "anonymous" else make_staff(role)
    cases = {"count": 0}

    def sign_in_again():
        """Undo what a fuzzed request may have done to the account (role, deactivation, sign-out)."""
        if user is None:
            return
        with app.app_context():
            _db.session.execute(sa.update(StaffUser).where(StaffUser.id == user.id)
                                .values(role=role, active=True, must_change_password=False))
            _db.session.execute(sa.delete(SignInFailure))
            _db.session.commit()
        login(user, test_client=client)

    sign_in_again()
    for rule, method in routes(app):
        variables = {name: path_value(converter, known) for name, converter in rule._converters.items()}

        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.filter_too_much])
        @given(values=st.fixed_dictionaries(variables), args=FIELDS, form=FIELDS)
        @everywhere_examples(rule, known)
        def check(values, args, form):
            try:
                path = rule.build(values, append_unknown=False)[1]
            except Exception:  # a value this rule's converter refuses: not a URL anyone can send
                return
            response = client.open(path, method=method, query_string=args, data=form if method == "POST" else None)
            cases["count"] += 1
            assert response.status_code < 500, (method, rule.rule, values, args, form,
                                                response.get_data(as_text=True)[:300])

        check()
        if "logout" in rule.endpoint or "staff_edit" in rule.endpoint:
            sign_in_again()
    print(f"\nroute fuzz as {role}: {cases['count']} requests over {len(routes(app))} route/method pairs")
    assert cases["count"] >= len(routes(app))  # every route was reached at least once
