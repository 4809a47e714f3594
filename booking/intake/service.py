"""The patient's side of the intake: drafts, resume links, the crisis path and submission.

Plain functions over an SQLAlchemy session: no request, no session cookie, no flash.
Everything that depends on the time takes `now`; encryption goes through a
booking.crypto.Cipher; settings come as a mapping (app.config or a dict).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from booking.extensions import DriverRead, DriverWrite, single_write
from booking.intake import questionnaires as q
from booking.intake.consent import consent_digest, consent_text
from booking.intake.screening import highest_level, screen
from booking.intake.steps import ANSWER_STEPS, STEP_NUMBER, ratings
from booking.models import Intake
from booking.patients.record import contact_of, create_patient, set_contact
from booking.signals import intake_started, intake_submitted, intake_urgent
from booking.timeutil import UTCDateTime, from_driver
from booking.tokens import new_token, plausible_token, token_hash

SENDER = "intake"


class IntakeError(Exception):
    """A request the intake cannot carry out; `message` is shown to the patient."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class ResumeLinkInvalid(IntakeError):
    """The resume link is unknown, made up or expired."""


class AlreadySubmitted(IntakeError):
    """The intake was submitted; it can no longer change."""


class StepsMissing(IntakeError):
    """A step the patient has not completed yet; `step_number` is the first one missing."""

    def __init__(self, message, step_number):
        super().__init__(message)
        self.step_number = step_number


@dataclass
class SaveResult:
    """What saving a step changed that the caller must react to."""

    email_first_known: bool = False
    newly_urgent: bool = False


def _touch(intake, now, draft_days):
    """Note a save at `now`. The link lives as long as the draft: each save keeps both for `draft_days`."""
    intake.updated_at = now
    # Written even when unchanged, so the column's onupdate (the wall clock) never overrides `now`.
    flag_modified(intake, "updated_at")
    intake.resume_expires_at = now + timedelta(days=draft_days)


def start_intake(session, *, cipher, search_key, now, draft_days, answers=None, previous=None, patient=None):
    """Create a draft and its private resume token. Returns (intake, token); the token is shown once.

    The draft belongs to `patient` (a link the clinic sent them, or a correction), or else to a
    new patient record: it never attaches itself to an existing record by matching details.
    """
    if patient is None:
        patient = create_patient(session, {}, cipher=cipher, key=search_key, now=now)
    token = new_token()
    intake = Intake(status="draft", created_at=now, updated_at=now, resume_token_hash=token_hash(token),
                    answers_encrypted=cipher.encrypt(answers or {}), previous=previous, patient=patient,
                    resume_expires_at=now + timedelta(days=draft_days))
    session.add(intake)
    session.flush()
    return intake, token


def find_by_resume_token(session, token, now):
    """The intake a resume token opens. Raises ResumeLinkInvalid if made up, unknown or expired.

    A link expires `draft_days` after the last save, sent or not: a sent questionnaire's link
    shows only its status, and even that not forever.
    """
    invalid = ResumeLinkInvalid(
        "This link does not open a questionnaire. Check that you copied the whole link, or start again.")
    if not plausible_token(token):
        raise invalid
    intake = session.scalar(sa.select(Intake).where(Intake.resume_token_hash == token_hash(token)))
    if intake is None:
        raise invalid
    if not link_open(intake, now):
        raise ResumeLinkInvalid("This link has expired: questionnaires can be opened from their link for a "
                                "limited time after the last change. Please start a new one, or call the clinic.")
    return intake


def link_open(intake, now):
    """True while the intake may be opened by its patient (its resume link, or this browser)."""
    return intake.resume_expires_at is not None and intake.resume_expires_at > now


def open_intake(session, intake_id, now):
    """The intake with id `intake_id` if its patient may still open it, else None."""
    intake = session.get(Intake, intake_id) if intake_id is not None else None
    return intake if intake is not None and link_open(intake, now) else None


class Draft(NamedTuple):
    """What a questionnaire step reads of its intake: enough to show, check and save the step.

    The same attributes as the Intake it was read from, so the step's checks and pages take
    either. Read in one statement without loading the entity (open_draft); a step that needs
    more (the "about" step, a first urgent answer, the review and consent steps) loads the
    Intake itself.
    """

    id: int
    status: str
    last_step: int
    previous_id: int | None
    urgent: bool
    crisis_acknowledged_at: object
    resume_expires_at: object
    answers_encrypted: str | None


_c = Intake.__table__.c
_DRAFT_READ = DriverRead(sa.select(_c.id, _c.status, _c.last_step, _c.previous_id, _c.urgent,
                                   _c.crisis_acknowledged_at, _c.resume_expires_at, _c.answers_encrypted)
                         .where(_c.id == sa.bindparam("intake_id")), read_pool=True)
# One step saved, only onto the draft as it was read: sent since, or changed by another tab
# (answers or progress), and it matches nothing.
# Run on the connection's driver cursor (DriverWrite).
_SAVE_READ_DRAFT = DriverWrite(
    sa.update(Intake.__table__)
    .where(_c.id == sa.bindparam("intake_id"), _c.status == "draft", _c.last_step == sa.bindparam("read_last_step"),
           _c.answers_encrypted.is_not_distinct_from(sa.bindparam("read_answers", type_=sa.Text)))
    .values(answers_encrypted=sa.bindparam("answers"), last_step=sa.bindparam("new_last_step"),
            updated_at=sa.bindparam("now", type_=UTCDateTime()),
            resume_expires_at=sa.bindparam("expires", type_=UTCDateTime())))


def open_draft(engine, intake_id, now):
    """The Draft of intake `intake_id` if its patient may still open it, else None (one statement;
    on PostgreSQL on the read pool, in autocommit)."""
    row = _DRAFT_READ.first(engine, intake_id=intake_id) if intake_id is not None else None
    if row is None:
        return None
    draft = Draft(row[0], row[1], row[2], row[3], bool(row[4]), from_driver(row[5]), from_driver(row[6]), row[7])
    return draft if link_open(draft, now) else None


def issue_resume_token(intake):
    """A new private resume link token for `intake` (any earlier one stops working)."""
    token = new_token()
    intake.resume_token_hash = token_hash(token)
    return token


class CorrectionLinkInvalid(IntakeError):
    """The one-time correction link is unknown, used already, or expired."""


def issue_correction_token(intake, *, now, minutes):
    """A one-time token that opens a correction of sent `intake` for `minutes`. Raises IntakeError for a draft."""
    if intake.status == "draft":
        raise IntakeError("This questionnaire has not been sent yet: you can still change it directly.")
    token = new_token()
    intake.correction_token_hash = token_hash(token)
    intake.correction_expires_at = now + timedelta(minutes=minutes)
    return token


def redeem_correction_token(session, token, now):
    """The sent intake a correction token opens, using the token up. Raises CorrectionLinkInvalid.

    The token is cleared by one UPDATE that only an unused, unexpired token matches, so two
    clicks at once open one correction.
    """
    invalid = CorrectionLinkInvalid("This link has expired or has already been used. Open your questionnaire "
                                    "link and ask for a new one, or call the clinic.")
    if not plausible_token(token):
        raise invalid
    digest = token_hash(token)
    intake_id = session.scalar(sa.select(Intake.id).where(Intake.correction_token_hash == digest))
    used = session.execute(sa.update(Intake).where(Intake.id == intake_id, Intake.correction_token_hash == digest,
                                                   Intake.correction_expires_at > now)
                           .values(correction_token_hash=None, correction_expires_at=None)
                           .execution_options(synchronize_session=False))
    if intake_id is None or used.rowcount != 1:
        raise invalid
    intake = session.get(Intake, intake_id)
    session.refresh(intake)
    return intake


def find_by_correction_token(session, token, now):
    """The sent intake an unused, unexpired correction token would open, or None (nothing is used up)."""
    if not plausible_token(token):
        return None
    return session.scalar(sa.select(Intake).where(Intake.correction_token_hash == token_hash(token),
                                                  Intake.correction_expires_at > now))


def read_answers(intake, cipher):
    """The intake's answers by step key (decrypted)."""
    return cipher.decrypt(intake.answers_encrypted) or {}


def read_contact(intake, cipher):
    """The intake's patient's contact dict (decrypted): {"name", "date_of_birth", "email", "phone"}."""
    return contact_of(intake.patient, cipher)


def _refuse_if_submitted(intake):
    """Raise AlreadySubmitted unless `intake` is still a draft (a sent intake never changes)."""
    if intake.status != "draft":
        raise AlreadySubmitted("Your questionnaire has already been sent, so it can no longer be changed here.")


def save_step(session, intake, step, values, *, cipher, search_key, now, draft_days, resume_link=None):
    """Store one validated step's answers (all of them or none) and note what changed.

    The "about" step also updates the patient record's contact details (and search index).
    When the patient's email first becomes known, issues the resume token and sends intake_started
    with `resume_link(token)` (that email is the link's one copy); sends intake_urgent when an
    answer first makes the intake urgent.
    """
    _refuse_if_submitted(intake)
    number = STEP_NUMBER[step.key]
    if number > intake.last_step + 1:
        raise StepsMissing(f"Please finish step {intake.last_step + 1} first.", intake.last_step + 1)
    answers = read_answers(intake, cipher)
    answers[step.key] = values
    intake.answers_encrypted = cipher.encrypt(answers)
    result = SaveResult()
    if step.key == "about":
        # The first save of this questionnaire's "about" step: its resume link goes to that address (a
        # patient invited by the clinic already has an email on their record, and still needs the link).
        result.email_first_known = intake.last_step < number and bool(values.get("email"))
        set_contact(session, intake.patient, {"name": values.get("legal_name"), "email": values.get("email"),
                                              "phone": values.get("phone"),
                                              "date_of_birth": values.get("date_of_birth")},
                    cipher=cipher, key=search_key, now=now)
    if q.crisis_triggered(answers) and not intake.urgent:
        # Urgency is never taken back by a later answer: someone may have reason to look.
        intake.urgent = result.newly_urgent = True
    intake.last_step = max(intake.last_step, number)
    _touch(intake, now, draft_days)
    session.flush()
    if result.email_first_known:
        token = issue_resume_token(intake)
        intake_started.send(SENDER, session=session, now=now, intake=intake, email=values.get("email"),
                            link=resume_link(token) if resume_link else None)
    if result.newly_urgent:
        intake_urgent.send(SENDER, session=session, now=now, intake=intake)
    return result


def save_draft_step(session, draft, step, values, *, cipher, search_key, now, draft_days, resume_link=None):
    """Save one validated step onto `draft` (an open_draft); returns what to ask needs_crisis_panel of.

    The usual step is one UPDATE of the draft as it was read, committed at once: nothing else
    changes. The "about" step (it updates the patient record and may send the resume link), an
    answer that first makes the intake urgent (it sends the alert), and a draft that changed
    after it was read (another tab saved, or the questionnaire was sent) go through save_step on
    the loaded Intake instead, which the caller commits; its refusals are raised as there.
    """
    _refuse_if_submitted(draft)
    number = STEP_NUMBER[step.key]
    answers = read_answers(draft, cipher)
    answers[step.key] = values
    if step.key != "about" and number <= draft.last_step + 1 and (draft.urgent or not q.crisis_triggered(answers)):
        # Its own connection and transaction: the session has written nothing in this request
        # (on SQLite a write held there would wait on this one). One statement: on PostgreSQL
        # in autocommit, without the BEGIN and COMMIT round trips (single_write).
        with single_write(session.get_bind()) as connection:
            saved = _SAVE_READ_DRAFT.execute(connection, {
                "intake_id": draft.id, "read_last_step": draft.last_step, "read_answers": draft.answers_encrypted,
                "answers": cipher.encrypt(answers), "new_last_step": max(draft.last_step, number), "now": now,
                "expires": now + timedelta(days=draft_days)})
        if saved == 1:
            return draft
    intake = session.get(Intake, draft.id)
    if intake is None:
        raise IntakeError("We could not find your questionnaire. Please start again.")
    save_step(session, intake, step, values, cipher=cipher, search_key=search_key, now=now, draft_days=draft_days,
              resume_link=resume_link)
    return intake


def needs_crisis_panel(intake):
    """True while a crisis answer has not yet been followed by the patient reading the crisis panel."""
    return intake.urgent and intake.crisis_acknowledged_at is None and intake.status == "draft"


def acknowledge_crisis(intake, now):
    """Record that the patient read the crisis panel."""
    if intake.crisis_acknowledged_at is None:
        intake.crisis_acknowledged_at = now


def mark_review_seen(intake, now, draft_days):
    """The patient has checked their answers: the consent step is now open."""
    _refuse_if_submitted(intake)
    missing = first_missing_step(intake)
    if missing is not None:
        raise StepsMissing(f"Please finish step {missing} first.", missing)
    intake.last_step = max(intake.last_step, STEP_NUMBER["review"])
    _touch(intake, now, draft_days)


def first_missing_step(intake, answers=None):
    """The number of the first answer step not yet saved, or None."""
    for step in ANSWER_STEPS:
        number = STEP_NUMBER[step.key]
        if number > intake.last_step or (answers is not None and step.key not in answers):
            return number
    return None


def compute_scores(answers, pcl5_cutoff=q.DEFAULT_PCL5_CUTOFF):
    """{"phq9": Score, "gad7": Score, "pcl5": Score} for the questionnaires that are complete."""
    scorers = {"phq9": q.score_phq9, "gad7": q.score_gad7,
               "pcl5": lambda values: q.score_pcl5(values, cutoff=pcl5_cutoff)}
    scores = {}
    for key, scorer in scorers.items():
        values = ratings(answers, key)
        if values is not None:
            scores[key] = scorer(values)
    return scores


def submit_intake(session, intake, *, signature, cipher, now, settings, ip=None, user_agent=None):
    """Sign, score, screen and submit a draft. Returns a booking token if booking is open at once.

    Sends intake_submitted. Raises AlreadySubmitted (a double submit), StepsMissing, or KeyError for
    an unknown consent version.
    """
    _refuse_if_submitted(intake)
    answers = read_answers(intake, cipher)
    missing = first_missing_step(intake, answers)
    if missing is not None:
        raise StepsMissing(f"Please finish step {missing} before signing.", missing)
    text = consent_text(settings["CONSENT_VERSION"])
    # Claim the row: only one of two simultaneous submits finds it still a draft.
    claimed = session.execute(sa.update(Intake).where(Intake.id == intake.id, Intake.status == "draft")
                              .values(status="submitted").execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise AlreadySubmitted("Your questionnaire has already been sent. You do not need to send it again.")
    answers["consent"] = {"signature": signature}
    scores = compute_scores(answers, settings.get("PCL5_CUTOFF", q.DEFAULT_PCL5_CUTOFF))
    flags = screen(answers, settings)
    intake.status = "submitted"
    intake.submitted_at = now
    _touch(intake, now, settings.get("INTAKE_DRAFT_DAYS", 30))  # sending is a save: the link's 30 days restart
    intake.answers_encrypted = cipher.encrypt(answers)
    intake.scores_encrypted = cipher.encrypt({key: score.total for key, score in scores.items()})
    intake.urgent = intake.urgent or q.crisis_triggered(answers)
    intake.flags_encrypted = cipher.encrypt([flag.as_dict() for flag in flags])
    intake.flag_level = highest_level(flags)
    intake.consent_version = settings["CONSENT_VERSION"]
    intake.consent_sha256 = consent_digest(text)
    intake.consent_at = now
    intake.consent_ip = (ip or "")[:64] or None
    intake.consent_user_agent = (user_agent or "")[:255] or None
    token = None
    if intake.booking_allowed(settings.get("INTAKE_CLEARANCE_BLOCKS_BOOKING", True)):
        token = issue_booking_token(intake)
    session.flush()
    intake_submitted.send(SENDER, session=session, now=now, intake=intake)
    return token


def issue_booking_token(intake):
    """A new private booking link token for `intake` (any earlier one stops working)."""
    token = new_token()
    intake.booking_token_hash = token_hash(token)
    return token


def start_correction(session, intake, *, cipher, search_key, now, draft_days):
    """A new draft that copies a submitted intake's answers and points back at it. Returns (draft, token)."""
    if intake.status == "draft":
        raise IntakeError("This questionnaire has not been sent yet: you can still change it directly.")
    answers = read_answers(intake, cipher)
    answers.pop("consent", None)  # a correction is signed again
    draft, token = start_intake(session, cipher=cipher, search_key=search_key, now=now, draft_days=draft_days,
                                answers=answers, previous=intake, patient=intake.patient)
    draft.last_step = STEP_NUMBER["review"] - 1
    # Urgency carries over until a clinician has seen the corrected version.
    draft.urgent, draft.crisis_acknowledged_at = intake.urgent, intake.crisis_acknowledged_at
    session.flush()
    return draft, token
