"""Random posts to every intake step: never a server error, never a partial write."""

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.intake import service
from booking.intake.steps import STEP_NUMBER, STEPS
from booking.models import Intake
from tests.intake_factories import create_intake, form_data

POSTABLE = [step for step in STEPS if step.kind in ("form", "consent")]


def values_for(step):
    """A strategy for one field's posted value(s): valid, near-valid and junk."""
    valid = sorted({str(key) for question in step.questions for key, _ in question.choices}) or ["1"]
    scalar = st.one_of(
        st.text(max_size=300),
        st.sampled_from(valid + ["", "-1", "7", "abc", "400", "2999-01-01", "1985-02-30", "y", "x" * 5000]),
        st.integers(min_value=-10**6, max_value=10**6).map(str),
    )
    return st.one_of(scalar, st.lists(scalar, max_size=3))


def posts_for(step):
    """A strategy for a whole POST body to `step`."""
    names = [question.name for question in step.questions] + ["step", "agree", "csrf_token", "unexpected"]
    return st.dictionaries(st.sampled_from(names), values_for(step), max_size=len(names)).map(
        lambda data: data if "step" in data or not data else {**data, "step": str(STEP_NUMBER[step.key])})


def fresh_draft(app, client):
    """A draft with every step saved and the summary seen, opened in `client`'s session."""
    with app.app_context():
        intake = create_intake(_db.session, app.config, submit=False)
        service.mark_review_seen(intake, intake.updated_at, 30)
        _db.session.commit()
        intake_id = intake.id
    with client.session_transaction() as session:
        session["patient_intake_id"] = intake_id
    return intake_id


def snapshot(app, intake_id):
    with app.app_context():
        intake = _db.session.get(Intake, intake_id)
        return intake.status, intake.last_step, intake.answers_encrypted, intake.urgent


@pytest.mark.parametrize("step", POSTABLE, ids=[step.key for step in POSTABLE])
def test_random_posts_never_fail_and_never_half_save(app, step):
    client = app.test_client()
    number = STEP_NUMBER[step.key]
    state = {"id": fresh_draft(app, client)}
    statuses, saves = set(), []
    cipher = cipher_for(app.config)
    # A valid post, always tried first: random posts alone almost never pass validation, and the
    # "a success saves the whole step and nothing else" branch must run every time.
    valid = ({"step": str(number), "signature": "Jordan Example", "agree": "y"} if step.kind == "consent"
             else form_data(step.key))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
    @given(data=posts_for(step))
    @example(data=valid)
    def check(data):
        status, last_step, before, _urgent = snapshot(app, state["id"])
        if status != "draft":
            state["id"] = fresh_draft(app, client)
            status, last_step, before, _urgent = snapshot(app, state["id"])
        response = client.post(f"/intake/step/{number}", data=data)
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        statuses.add(response.status_code)
        after_status, after_last, after, _ = snapshot(app, state["id"])
        if response.status_code == 422:
            assert (after_status, after_last, after) == (status, last_step, before)
        elif after != before:
            old, new = cipher.decrypt(before), cipher.decrypt(after)
            changed = {key for key in set(old) | set(new) if old.get(key) != new.get(key)}
            assert changed <= {step.key, "consent"}
            saved = new.get(step.key) if step.kind == "form" else new["consent"]
            assert set(saved) == {question.name for question in step.questions}
            saves.append(response.status_code)
        if after_status == "draft" and service.needs_crisis_panel(_intake(app, state["id"])):
            client.post("/intake/crisis")

    check()
    assert 422 in statuses  # the random posts did reach validation
    assert saves  # and a successful save was checked too


def _intake(app, intake_id):
    with app.app_context():
        intake = _db.session.scalar(sa.select(Intake).where(Intake.id == intake_id))
        _db.session.expunge(intake)
        return intake
