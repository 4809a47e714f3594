"""Patient intake views: parse the form, call booking.intake.service, redirect.

The patient has no account: the intake they are filling in is remembered in the session
cookie by its id only (booking.patient_session); the private links themselves go by email
and are never kept in the cookie.
"""

from flask import current_app, flash, redirect, render_template, request, url_for

from booking.appointments import manage_links
from booking.appointments.lookups import active_booking_for_intake
from booking.crypto import cipher_for
from booking.extensions import db
from booking.intake import bp, service
from booking.intake.consent import consent_text
from booking.intake.forms import check_step, form_class, form_data_from_values, values_from_form
from booking.intake.links import absolute, booking_home_path, correction_path, resume_path
from booking.intake.questionnaires import crisis_questions
from booking.intake.steps import STEP_COUNT, STEP_NUMBER, STEPS, step_at
from booking.models import Intake
from booking.page_cache import render_shared
from booking.patient_session import forget_intake, remember_intake, remembered_intake_id
from booking.patients.record import patient_for_questionnaire
from booking.ratelimit import enforce, rate_limited
from booking.signals import intake_correction_requested
from booking.timeutil import to_zone, utcnow


def _cipher():
    """The Cipher for this app's keys."""
    return cipher_for(current_app.config)


def _search_key():
    """The HMAC key of the patient search index (a new patient's details are indexed)."""
    return current_app.config["PATIENT_SEARCH_KEY"]


def _draft_days():
    """How long drafts and resume links last."""
    return current_app.config["INTAKE_DRAFT_DAYS"]


def current_intake(now):
    """The intake this browser remembers, while its patient may still open it; else None."""
    intake = service.open_intake(db.session, remembered_intake_id(), now)
    if intake is None:
        forget_intake()
    return intake


def current_draft(now):
    """The Draft (service.open_draft) of the intake this browser remembers, while its patient may still
    open it; else None."""
    draft = service.open_draft(db.engine, remembered_intake_id(), now)
    if draft is None:
        forget_intake()
    return draft


def _intake_of(draft):
    """The Intake a Draft was read from, loaded for a step that changes more than its answers."""
    return db.session.get(Intake, draft.id)


def _next_step_number(intake):
    """The step the patient should do next."""
    return min(intake.last_step + 1, STEP_COUNT)


def _go_to_step(number):
    """Redirect to step `number`."""
    return redirect(url_for("intake.step", number=number))


def _no_intake():
    """Send a patient without a (valid) intake back to the start page."""
    flash("We could not find your questionnaire in this browser. Use your private link to continue, "
          "or start a new one.", "warning")
    return redirect(url_for("intake.start"))


def _page_context(intake, now):
    """What every intake page shows: how to come back later (see the resume_box macro), and until when."""
    if intake is not None and intake.previous_id is not None:
        how = "correction"  # its link is the one-time correction link, already used
    else:
        how = "emailed" if intake is not None and intake.last_step >= STEP_NUMBER["about"] else "not_yet"
    return {"resume_how": how, "resume_expires_at": intake.resume_expires_at if intake else None}


@bp.route("/start", methods=["GET", "POST"])
@rate_limited("INTAKE_START_RATE_LIMIT", methods=("POST",))
def start():
    """Where every guide page's call to action leads: explain, then begin a draft."""
    now = utcnow()
    current = current_intake(now)
    if request.method == "POST":
        return _begin(now)
    if current is None:  # the same page for everyone without a questionnaire in this browser
        return render_shared("new", "intake/start.html", current=None, step_count=STEP_COUNT,
                             draft_days=_draft_days())
    return render_template("intake/start.html", current=current, step_count=STEP_COUNT,
                           draft_days=_draft_days())


def _begin(now, patient=None):
    """Start a draft (for `patient`, or a new patient record) and go to its first step."""
    # The start token is never shown: the link is emailed once the patient gives an address.
    intake, _token = service.start_intake(db.session, cipher=_cipher(), search_key=_search_key(), now=now,
                                          draft_days=_draft_days(), patient=patient)
    db.session.commit()
    remember_intake(intake.id)
    return _go_to_step(1)


@bp.route("/invited/<token>", methods=["GET", "POST"])
@rate_limited("INTAKE_START_RATE_LIMIT", methods=("POST",))
def invited(token):
    """A questionnaire link the clinic sent to one patient: what is filled in joins their record.

    The link works once (then the patient has their own resume link) and expires.
    """
    now = utcnow()
    patient = patient_for_questionnaire(db.session, token, now)
    if patient is None:
        return render_template("intake/link_error.html", message=(
            "This questionnaire link has expired or was already used. Start the questionnaire from our "
            "website, or call the clinic for a new link.")), 404
    if request.method == "POST":
        patient.questionnaire_token_hash = patient.questionnaire_expires_at = None
        return _begin(now, patient)
    return render_template("intake/start.html", current=None, step_count=STEP_COUNT, draft_days=_draft_days(),
                           invited_token=token)


@bp.get("/resume/<token>")
def resume(token):
    """Open a draft (or a sent questionnaire's status page) from the private link."""
    now = utcnow()
    try:
        intake = service.find_by_resume_token(db.session, token, now)
    except service.ResumeLinkInvalid as error:
        return render_template("intake/link_error.html", message=error.message), 404
    remember_intake(intake.id)
    if intake.status != "draft":
        return redirect(url_for("intake.done"))
    flash("Welcome back. Your answers so far are saved.", "info")
    return _go_to_step(_next_step_number(intake))


@bp.route("/step/<number>", methods=["GET", "POST"])
def step(number):
    """Show or save one step. Every valid submit is saved at once as a draft.

    The intake is read as a service.Draft (one statement, no entity): showing a step and saving
    the usual one need nothing more."""
    now = utcnow()
    intake = current_draft(now)
    if intake is None:
        return _no_intake()
    if intake.status != "draft":
        flash("Your questionnaire has already been sent. It can no longer be changed here.", "info")
        return redirect(url_for("intake.done"))
    if service.needs_crisis_panel(intake):
        return redirect(url_for("intake.crisis"))
    # ASCII digits only: "²".isdigit() is True but int("²") fails.
    number = int(number) if number.isascii() and number.isdigit() and len(number) <= 3 else None
    allowed = _next_step_number(intake)
    if step_at(number) is None or number > allowed:
        flash(f"Please continue with step {allowed}: the earlier steps need to be finished first.", "warning")
        return _go_to_step(allowed)
    current = step_at(number)
    if current.kind == "review":
        return _review(intake, number, now)
    return _form_step(intake, current, number, now)


def _form_step(intake, current, number, now):
    """A step with questions (the consent step included); `intake` is a Draft."""
    cipher = _cipher()
    form_cls = form_class(current)
    returning = request.args.get("return") == "review"
    if request.method == "GET":
        saved = service.read_answers(intake, cipher).get(current.key)
        form = form_cls(formdata=None, data=form_data_from_values(current, saved))
        form.step.data = str(number)
        return _render_step(intake, current, number, form, now, returning)
    form = form_cls()
    page_error = None
    if form.step.data != str(number):
        # A tampered or stale step number: keep what was typed, save nothing, say so.
        page_error = "This page was sent for a different step. Check your answers below and save again."
        form.step.data = str(number)
    today = to_zone(now, current_app.config["CLINIC_TIMEZONE"]).date()
    valid = form.validate()
    valid = check_step(current, form, today) and valid
    if page_error or not valid:
        return _render_step(intake, current, number, form, now, returning, page_error), 422
    if current.kind == "consent":
        loaded = _intake_of(intake)
        return _submit(loaded, form, now) if loaded is not None else _no_intake()
    try:
        saved = service.save_draft_step(db.session, intake, current, values_from_form(current, form), cipher=cipher,
                                        search_key=_search_key(), now=now, draft_days=_draft_days(),
                                        resume_link=lambda token: absolute(resume_path(token)))
    except service.IntakeError as error:
        db.session.rollback()
        flash(error.message, "warning")
        return redirect(url_for("intake.start"))
    crisis = service.needs_crisis_panel(saved)  # asked before the commit, which would expire an Intake
    if saved is not intake:  # the Intake was loaded and saved in the session; the usual step is committed
        db.session.commit()
    if crisis:
        return redirect(url_for("intake.crisis"))
    return _go_to_step(STEP_NUMBER["review"] if returning else number + 1)


def _render_step(intake, current, number, form, now, returning=False, page_error=None):
    """Render a step's form (with errors, if any)."""
    extra = {"crisis_watch": crisis_questions(current.key)}
    if current.kind == "consent":
        extra["consent_text"] = consent_text(current_app.config["CONSENT_VERSION"])
        extra["consent_version"] = current_app.config["CONSENT_VERSION"]
    return render_template("intake/step.html", step=current, number=number, step_count=STEP_COUNT, form=form,
                           returning=returning, page_error=page_error, **extra, **_page_context(intake, now))


def _review(intake, number, now):
    """Step 10: every answer on one page, each step with a link to change it (`intake`: a Draft)."""
    if request.method == "POST":
        loaded = _intake_of(intake)
        if loaded is None:
            return _no_intake()
        try:
            service.mark_review_seen(loaded, now, _draft_days())
        except service.StepsMissing as error:
            db.session.rollback()
            flash(error.message, "warning")
            return _go_to_step(error.step_number)
        db.session.commit()
        return _go_to_step(number + 1)
    answers = service.read_answers(intake, _cipher())
    return render_template("intake/review.html", number=number, step_count=STEP_COUNT, steps=STEPS,
                           answers=answers, step_numbers=STEP_NUMBER, **_page_context(intake, now))


def _submit(intake, form, now):
    """The consent step: sign and send."""
    try:
        service.submit_intake(db.session, intake, signature=form.signature.data.strip(), cipher=_cipher(),
                              now=now, settings=current_app.config, ip=request.remote_addr,
                              user_agent=request.user_agent.string)
    except service.StepsMissing as error:
        db.session.rollback()
        flash(error.message, "warning")
        return _go_to_step(error.step_number)
    except service.AlreadySubmitted as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(url_for("intake.done"))
    db.session.commit()
    return redirect(url_for("intake.done"))


@bp.route("/crisis", methods=["GET", "POST"])
def crisis():
    """The crisis panel, shown after a crisis answer; the patient acknowledges it and goes on."""
    now = utcnow()
    intake = current_intake(now)
    if intake is None:
        return _no_intake()
    if request.method == "POST":
        service.acknowledge_crisis(intake, now)
        db.session.commit()
        if intake.status != "draft":
            return redirect(url_for("intake.done"))
        return _go_to_step(_next_step_number(intake))
    return render_template("intake/crisis.html", **_page_context(intake, now))


@bp.get("/done")
def done():
    """A sent questionnaire's status (never its answers): book now, or wait for a clinician's clearance."""
    now = utcnow()
    intake = current_intake(now)
    if intake is None:
        return _no_intake()
    if intake.status == "draft":
        return _go_to_step(_next_step_number(intake))
    allowed = intake.booking_allowed(current_app.config["INTAKE_CLEARANCE_BLOCKS_BOOKING"])
    booking = active_booking_for_intake(db.session, intake.id)
    # This browser remembers the intake, so the booking pages know it: the link needs no token.
    return render_template("intake/done.html", intake=intake, booking_allowed=allowed,
                           booking_link=booking_home_path() if allowed else None, booking=booking,
                           link_version=manage_links.link_version(booking) if booking else None,
                           response_time=current_app.config["INTAKE_REVIEW_RESPONSE_TIME"],
                           **_page_context(intake, now))


@bp.post("/correct")
@rate_limited("INTAKE_CORRECTION_ADDRESS_RATE_LIMIT")
def correct():
    """Email a one-time link that opens a correction of the sent questionnaire (not the answers here)."""
    now = utcnow()
    intake = current_intake(now)
    if intake is None:
        return _no_intake()
    enforce("INTAKE_CORRECTION_RATE_LIMIT", "intake.correct", intake.id)
    email = service.read_contact(intake, _cipher()).get("email")
    if not email:
        flash("We have no email address for this questionnaire. Please call the clinic to correct it.", "warning")
        return redirect(url_for("intake.done"))
    try:
        token = service.issue_correction_token(intake, now=now,
                                               minutes=current_app.config["INTAKE_CORRECTION_LINK_MINUTES"])
    except service.IntakeError as error:
        db.session.rollback()
        flash(error.message, "info")
        return _go_to_step(_next_step_number(intake))
    intake_correction_requested.send(current_app._get_current_object(), session=db.session, now=now, intake=intake,
                                     email=email, link=absolute(correction_path(token)))
    db.session.commit()
    flash("We have emailed you a link to correct your answers, to the address you gave. "
          "It works once, within the next hour.", "success")
    return redirect(url_for("intake.done"))


@bp.route("/correct/<token>", methods=["GET", "POST"])
def open_correction(token):
    """The emailed one-time link: a button (so a mail scanner's visit uses nothing), then a new draft."""
    now = utcnow()
    if request.method == "GET":
        if service.find_by_correction_token(db.session, token, now) is None:
            return _correction_link_error()
        return render_template("intake/correct.html", token=token)
    try:
        sent = service.redeem_correction_token(db.session, token, now)
        draft, _token = service.start_correction(db.session, sent, cipher=_cipher(), search_key=_search_key(),
                                                 now=now, draft_days=_draft_days())
    except service.IntakeError:
        db.session.rollback()
        return _correction_link_error()
    db.session.commit()
    remember_intake(draft.id)
    flash("Your earlier answers are copied below. Change what you need, then sign and send again.", "info")
    return _go_to_step(draft.last_step + 1)


def _correction_link_error():
    """The page for a correction link that is made up, used or expired."""
    message = ("This link has expired or has already been used. Open your questionnaire link and ask for "
               "a new one, or call the clinic.")
    return render_template("intake/link_error.html", message=message), 410
