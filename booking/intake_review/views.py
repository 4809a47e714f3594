"""Staff views of intakes. Receptionists see the list only; every view of answers is audited."""

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.appointments.availability import DATE_FILTER_ERROR, parse_day
from booking.audit import record_request_event
from booking.crypto import InvalidToken, cipher_for
from booking.extensions import db
from booking.intake.links import absolute, booking_path
from booking.intake.service import compute_scores, read_answers, read_contact
from booking.intake.steps import STEPS
from booking.intake_review import bp
from booking.intake_review.charts import score_bars
from booking.intake_review.decisions import (DECISION_LABELS, STATUS_FILTERS, ReviewError, clear_for_booking,
                                             mark_urgent_seen, queue_page, queue_query, record_decision)
from booking.intake_review.forms import ClearForm, DecisionForm, QueueFilterForm
from booking.models import Intake, StaffUser
from booking.patients.record import STATE_WORDS, questionnaire_state
from booking.signals import intake_cleared
from booking.staff.access import staff_only
from booking.timeutil import parse_date, utcnow

PAGE_SIZE = 50
MAX_PAGE = 10_000  # larger offsets (or ids) overflow the database's integers: a 404 or an empty page, not a 500
ANSWER_ROLES = ("clinician", "admin")


def _parse_day(field):
    """A YYYY-MM-DD filter field as a date, or None with an error on the field."""
    if not field.data or field.errors:
        return None
    day = parse_day(field.data)
    if day is None:
        field.errors = list(field.errors) + [DATE_FILTER_ERROR]
    return day


@bp.get("")
@staff_only("admin", "receptionist", "clinician")
def queue():
    """The intake queue: urgent, then clearance, then review, then the rest; oldest first in each."""
    form = QueueFilterForm(request.args)
    status = form.status.data if form.status.data in STATUS_FILTERS else "waiting"
    form.validate()
    since, until = _parse_day(form.since), _parse_day(form.until)
    page = min(MAX_PAGE, max(1, request.args.get("page", 1, type=int) or 1))
    query = queue_query(status, since, until, current_app.config["CLINIC_TIMEZONE"],
                        clinical=current_user.role in ANSWER_ROLES)
    intakes = queue_page(db.session, query, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    cipher = cipher_for(current_app.config)
    clinical = current_user.role in ANSWER_ROLES
    blocks = current_app.config["INTAKE_CLEARANCE_BLOCKS_BOOKING"]
    rows = [{"intake": intake, "contact": _contact_or_blank(intake, cipher),
             "words": STATE_WORDS[questionnaire_state(intake, blocks)],
             **(_clinical_summary(intake, cipher) if clinical else {})} for intake in intakes[:PAGE_SIZE]]
    filters = {key: value for key, value in request.args.items() if key != "page"}
    return render_template("intake_review/queue.html", form=form, rows=rows, page=page,
                           has_next=len(intakes) > PAGE_SIZE, filters=filters,
                           sees_answers=current_user.role in ANSWER_ROLES)


def _clinical_summary(intake, cipher):
    """Scores and the number of flags (decrypted), for clinicians' and admins' queue rows."""
    try:
        return {"scores": cipher.decrypt(intake.scores_encrypted) or {},
                "flag_count": len(cipher.decrypt(intake.flags_encrypted) or [])}
    except InvalidToken:
        return {"scores": {}, "flag_count": None}


def _contact_or_blank(intake, cipher):
    """The decrypted contact details, or a placeholder if no key opens them."""
    try:
        return read_contact(intake, cipher)
    except InvalidToken:
        return {"name": "(cannot be decrypted with the configured keys)"}


def _intake_or_404(intake_id):
    """The intake with `intake_id`, or a 404."""
    return db.session.get(Intake, intake_id) or abort(404)


@bp.get("/<id:intake_id>")
@staff_only(*ANSWER_ROLES)
def detail(intake_id):
    """Summary (scores as bars, flags with reasons), then every answer by section. Audited."""
    intake = _intake_or_404(intake_id)
    return _render_detail(intake, DecisionForm(prefix="decide", data={"decision": intake.decision}),
                          ClearForm(prefix="clear"))


def _render_detail(intake, decision_form, clear_form, status=200):
    """Show an intake's summary and answers; every showing is written to the audit log first."""
    record_request_event(db.session, "view_intake", target_type="intake", target_id=intake.id)
    mark_urgent_seen(intake, staff=current_user, now=utcnow())
    db.session.commit()  # the view is on record even if showing it fails below
    cipher = cipher_for(current_app.config)
    try:
        answers, contact = read_answers(intake, cipher), read_contact(intake, cipher)
        flags = cipher.decrypt(intake.flags_encrypted) or []
        notes = cipher.decrypt(intake.decision_notes_encrypted)
    except InvalidToken:
        return render_template("errors/error.html", code=503, title="This intake cannot be decrypted",
                               message="None of the configured INTAKE_ENCRYPTION_KEYS opens it. "
                                       "Ask the administrator to restore the key it was written with."), 503
    scores = compute_scores(answers, current_app.config["PCL5_CUTOFF"])
    if decision_form.notes.data is None and not decision_form.errors:
        decision_form.notes.data = notes
    corrections = db.session.scalars(sa.select(Intake).where(Intake.previous_id == intake.id)
                                     .order_by(Intake.id)).all()
    staff_names = {user.id: user.name for user in db.session.scalars(
        sa.select(StaffUser).where(StaffUser.id.in_([intake.decided_by_id or 0, intake.cleared_by_id or 0])))}
    charts = {key: score_bars(score) for key, score in scores.items()}
    return render_template("intake_review/detail.html", intake=intake, answers=answers, contact=contact,
                           flags=flags, scores=scores, charts=charts, steps=STEPS, corrections=corrections,
                           decision_form=decision_form, clear_form=clear_form, decision_labels=DECISION_LABELS,
                           staff_names=staff_names,
                           clearance_blocks=current_app.config["INTAKE_CLEARANCE_BLOCKS_BOOKING"]), status


@bp.post("/<id:intake_id>/decision")
@staff_only("clinician")
def decide(intake_id):
    """Record the decision and notes."""
    intake = _intake_or_404(intake_id)
    form = DecisionForm(prefix="decide")
    if not form.validate():
        return _render_detail(intake, form, ClearForm(prefix="clear"), 422)
    try:
        record_decision(intake, staff=current_user, decision=form.decision.data, notes=form.notes.data,
                        cipher=cipher_for(current_app.config), now=utcnow())
    except ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("intake_review.detail", intake_id=intake_id))
    record_request_event(db.session, "decide_intake", target_type="intake", target_id=intake.id)
    db.session.commit()
    flash("Decision saved.", "success")
    return redirect(url_for("intake_review.detail", intake_id=intake_id))


@bp.post("/<id:intake_id>/clear")
@staff_only("clinician")
def clear(intake_id):
    """Clear the patient for booking and send them a booking link (through the intake_cleared signal)."""
    intake = _intake_or_404(intake_id)
    form = ClearForm(prefix="clear")
    if not form.validate():
        abort(400)
    now = utcnow()
    try:
        clear_for_booking(db.session, intake, staff=current_user._get_current_object(), now=now,
                          link_for=lambda token: absolute(booking_path(token)))
    except ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("intake_review.detail", intake_id=intake_id))
    record_request_event(db.session, "clear_intake", target_type="intake", target_id=intake.id)
    db.session.commit()
    flash("Cleared for booking. The patient is sent a booking link by email.", "success")
    return redirect(url_for("intake_review.detail", intake_id=intake_id))
