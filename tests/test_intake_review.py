"""The clinician's queue and review pages, access by role, the audit log, and maintenance commands."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.intake.service import read_answers, read_contact
from booking.models import AuditEvent, Intake
from booking.signals import intake_cleared
from booking.timeutil import utcnow
from booking.tokens import token_hash
from tests.intake_factories import answers_with, create_intake, queue_badges

NOW = utcnow()


def make_four(app):
    """Four intakes made in an order that is not the queue's: clean, review, clearance, urgent."""
    specs = [
        ("Clean Oldest", {}, 4),
        ("Review Person", dict(medical={"conditions": ["seizures"]}), 3),
        ("Clearance Person", dict(medical={"pregnant": "yes"}), 2),
        ("Urgent Newest", dict(phq9={"phq9_9": 1}), 1),
    ]
    ids = {}
    with app.app_context():
        for name, changes, days_ago in specs:
            answers = answers_with(about={"legal_name": name}, **changes)
            intake = create_intake(_db.session, app.config, answers, now=NOW - timedelta(days=days_ago))
            ids[name] = intake.id
    return ids


def names_in_order(page, names):
    return sorted(names, key=page.index)


def audit_actions(app, action):
    with app.app_context():
        return _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_queue_orders_urgent_then_clearance_then_review_then_the_rest(app, client, make_staff, login):
    names = make_four(app)
    with app.app_context():  # an older clean one still comes after every flagged one
        create_intake(_db.session, app.config, answers_with(about={"legal_name": "Clean Ancient"}),
                      now=NOW - timedelta(days=9))
    login(make_staff("clinician"))
    page = client.get("/staff/intakes").get_data(as_text=True)
    assert names_in_order(page, list(names) + ["Clean Ancient"]) == [
        "Urgent Newest", "Clearance Person", "Review Person", "Clean Ancient", "Clean Oldest"]
    assert "Urgent: crisis answer" in page and "Needs clearance" in page


def test_queue_filters_by_status_and_date(app, client, make_staff, login):
    names = make_four(app)
    with app.app_context():
        create_intake(_db.session, app.config, answers_with(about={"legal_name": "Quiet Draft"}), submit=False)
    login(make_staff("clinician"))
    assert "Quiet Draft" not in client.get("/staff/intakes").get_data(as_text=True)
    assert "Quiet Draft" in client.get("/staff/intakes?status=draft").get_data(as_text=True)
    since = (NOW - timedelta(days=2)).date().isoformat()
    page = client.get(f"/staff/intakes?status=submitted&since={since}").get_data(as_text=True)
    assert "Urgent Newest" in page and "Clean Oldest" not in page
    page = client.get("/staff/intakes?since=2026-02-31&status=nonsense").get_data(as_text=True)
    assert "Use a real date" in page and all(name in page for name in names)


def test_receptionist_sees_the_list_but_not_the_answers(app, client, make_staff, login):
    names = make_four(app)
    login(make_staff("receptionist"))
    page = client.get("/staff/intakes").get_data(as_text=True)
    assert "Clearance Person" in page and "jordan@example.org" in page and "555 010 0199" in page
    assert "PHQ-9" not in page and f"/staff/intakes/{names['Clearance Person']}" not in page
    # Neither urgency nor flags, not even through the order: oldest first, in front-desk words.
    assert "badge--urgent" not in page and "crisis answer" not in page and "Needs clearance" not in page
    assert names_in_order(page, list(names)) == ["Clean Oldest", "Review Person", "Clearance Person",
                                                 "Urgent Newest"]
    assert "waiting for a clinician" in page
    assert "Intake queue" in client.get("/staff/").get_data(as_text=True)
    assert client.get(f"/staff/intakes/{names['Clearance Person']}").status_code == 403
    assert client.post(f"/staff/intakes/{names['Clearance Person']}/clear").status_code == 403
    assert audit_actions(app, "view_intake") == []


def test_queue_needs_a_sign_in(client):
    assert "/staff/login" in client.get("/staff/intakes").location


def test_detail_shows_scores_flags_and_answers_and_is_audited(app, client, make_staff, login):
    names = make_four(app)
    clinician = make_staff("clinician")
    login(clinician)
    page = client.get(f"/staff/intakes/{names['Urgent Newest']}").get_data(as_text=True)
    assert "PHQ-9: 9 of 27, mild" in page and "Item 9 (thoughts of being better off dead or self-harm): 1" in page
    assert "GAD-7: 7 of 21, mild" in page and "PCL-5: 20 of 80, below cutoff" in page
    assert 'role="img"' in page and "Urgent:" in page
    assert "Medications and allergies" in page and "sertraline 100 mg" in page
    page = client.get(f"/staff/intakes/{names['Clearance Person']}").get_data(as_text=True)
    assert "Clearance needed" in page and "Reports being pregnant." in page
    views = audit_actions(app, "view_intake")
    assert [(v.actor_id, v.actor_role, v.target_type) for v in views] == [(clinician.id, "clinician", "intake")] * 2
    assert [v.target_id for v in views] == [str(names["Urgent Newest"]), str(names["Clearance Person"])]
    assert all(v.ip == "127.0.0.1" and v.at is not None for v in views)


def test_admin_views_are_audited_too_but_admins_do_not_decide(app, client, make_staff, login):
    names = make_four(app)
    login(make_staff("admin"))
    assert client.get(f"/staff/intakes/{names['Clean Oldest']}").status_code == 200
    assert [v.actor_role for v in audit_actions(app, "view_intake")] == ["admin"]
    assert client.post(f"/staff/intakes/{names['Clean Oldest']}/decision",
                       data={"decide-decision": "suitable"}).status_code == 403


def test_decision_is_recorded_encrypted_and_audited(app, client, make_staff, login):
    names = make_four(app)
    login(make_staff("clinician"))
    url = f"/staff/intakes/{names['Review Person']}"
    response = client.post(f"{url}/decision", data={"decide-notes": "Call about seizures"})
    assert response.status_code == 422 and "Choose a decision." in response.get_data(as_text=True)
    assert "Call about seizures" in response.get_data(as_text=True)
    assert len(audit_actions(app, "view_intake")) == 1  # showing the answers again is a view too
    response = client.post(f"{url}/decision",
                           data={"decide-decision": "need_info", "decide-notes": "Call about seizures"})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Recorded: <strong>Need more information</strong>" in page and "Call about seizures" in page
    with app.app_context():
        intake = _db.session.get(Intake, names["Review Person"])
        assert intake.status == "reviewed" and intake.decision == "need_info"
        assert "seizures" not in intake.decision_notes_encrypted
    decided = audit_actions(app, "decide_intake")
    assert [(d.target_id, d.detail) for d in decided] == [(str(names["Review Person"]), None)]


def test_clearing_sends_a_booking_link_and_opens_booking(app, client, make_staff, login):
    names = make_four(app)
    clinician = make_staff("clinician")
    login(clinician)
    calls = []

    def receiver(sender, **kwargs):
        calls.append((kwargs["intake"].id, kwargs["actor"].id, kwargs["link"]))

    with intake_cleared.connected_to(receiver):
        response = client.post(f"/staff/intakes/{names['Clearance Person']}/clear")
    assert response.status_code == 302
    [(intake_id, actor_id, link)] = calls
    assert (intake_id, actor_id) == (names["Clearance Person"], clinician.id)
    token = re.fullmatch(r"http://127\.0\.0\.1:5000/book/start/([A-Za-z0-9_-]{43})", link).group(1)
    with app.app_context():
        intake = _db.session.get(Intake, intake_id)
        assert intake.booking_token_hash == token_hash(token) and intake.cleared_by_id == clinician.id
        assert intake.booking_allowed(True)
    assert [c.target_id for c in audit_actions(app, "clear_intake")] == [str(intake_id)]


def test_not_suitable_cannot_be_cleared(app, client, make_staff, login):
    names = make_four(app)
    login(make_staff("clinician"))
    url = f"/staff/intakes/{names['Clearance Person']}"
    client.post(f"{url}/decision", data={"decide-decision": "not_suitable"})
    client.post(f"{url}/clear")
    assert "Record a different decision before clearing" in client.get(url).get_data(as_text=True)
    assert audit_actions(app, "clear_intake") == []


def test_key_rotation_keeps_every_intake_readable(app, runner, make_staff, login, client):
    names = make_four(app)
    old_key = app.config["INTAKE_ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    app.config["INTAKE_ENCRYPTION_KEYS"] = [new_key, old_key]
    result = runner.invoke(args=["rotate-intake-key"])
    assert result.exit_code == 0 and "Re-encrypted 4 intake(s)" in result.output
    app.config["INTAKE_ENCRYPTION_KEYS"] = [new_key]  # the old key is gone
    with app.app_context():
        cipher = cipher_for(app.config)
        for intake in _db.session.scalars(sa.select(Intake)):
            assert read_answers(intake, cipher)["about"]["legal_name"] in names
            assert read_contact(intake, cipher)["email"] == "jordan@example.org"
            assert cipher.decrypt(intake.flags_encrypted) is not None
    login(make_staff("clinician"))
    assert "Reports being pregnant." in client.get(f"/staff/intakes/{names['Clearance Person']}").get_data(as_text=True)


def test_rotation_refuses_when_a_key_is_missing(app, runner):
    make_four(app)
    app.config["INTAKE_ENCRYPTION_KEYS"] = [Fernet.generate_key().decode()]
    result = runner.invoke(args=["rotate-intake-key"])
    assert result.exit_code != 0 and "nothing was changed" in result.output


def test_an_undecryptable_intake_is_a_clear_page(app, client, make_staff, login):
    names = make_four(app)
    login(make_staff("clinician"))
    app.config["INTAKE_ENCRYPTION_KEYS"] = [Fernet.generate_key().decode()]
    response = client.get(f"/staff/intakes/{names['Clean Oldest']}")
    assert response.status_code == 503 and "cannot be decrypted" in response.get_data(as_text=True)


def test_purge_drafts_removes_only_stale_drafts(app, runner):
    with app.app_context():
        stale = create_intake(_db.session, app.config, submit=False, now=NOW - timedelta(days=31)).id
        fresh = create_intake(_db.session, app.config, submit=False, now=NOW - timedelta(days=29)).id
        sent = create_intake(_db.session, app.config, now=NOW - timedelta(days=90)).id
    result = runner.invoke(args=["purge-drafts"])
    assert result.exit_code == 0 and "Deleted 1 draft" in result.output
    with app.app_context():
        assert set(_db.session.scalars(sa.select(Intake.id))) == {fresh, sent}
        assert _db.session.get(Intake, stale) is None


@pytest.mark.parametrize("path", ["/staff/intakes/999999", "/staff/intakes/" + "9" * 30])
def test_unknown_intake_is_404(client, make_staff, login, path):
    login(make_staff("clinician"))
    assert client.get(path).status_code == 404


def test_an_absurd_page_number_is_an_empty_page(client, make_staff, login):
    login(make_staff("clinician"))
    page = client.get("/staff/intakes?page=" + "9" * 30)
    assert page.status_code == 200 and "No intakes match." in page.get_data(as_text=True)


def test_demo_data_fills_the_queue_in_order(app, runner, client, make_staff, login):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    login(make_staff("clinician"))
    page = client.get("/staff/intakes").get_data(as_text=True)
    assert names_in_order(page, ["Taylor Demo", "Robin Demo", "Morgan Demo", "Casey Demo"]) == [
        "Casey Demo", "Morgan Demo", "Robin Demo", "Taylor Demo"]
