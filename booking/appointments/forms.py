"""Booking forms (patient and staff). Lengths are bounded so overlong input is a message."""

from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from booking.forms import FlaskForm
from booking.input_check import one_line

PHONE = Regexp(r"^[0-9+()\-. ]{5,40}$", message="Use digits, spaces and + ( ) - only.")


class ContactMixin:
    """Name, email and phone of the person booking."""

    name = StringField("Full name", validators=[DataRequired("Enter your full name."), Length(max=120), one_line])
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254),
                                            Email("Enter an email address like name@example.com.")])
    phone = TelField("Phone", validators=[Optional(), Length(max=40), PHONE])


class ConfirmForm(ContactMixin, FlaskForm):
    """The patient confirms a time. The hidden fields are re-checked on the server."""

    clinician = HiddenField()
    start = HiddenField()
    tz = HiddenField()


class RescheduleForm(FlaskForm):
    """The patient moves their booking to `start` with `clinician` (empty: the same clinician)."""

    start = HiddenField()
    clinician = HiddenField()


class CancelForm(FlaskForm):
    """Cancel with an optional reason."""

    reason = TextAreaField("Reason (optional)", validators=[Optional(), Length(max=300)])


class BeyondHorizonMixin:
    """The confirmation staff give to book past the booking horizon (shown once they are told)."""

    beyond_horizon = BooleanField("Yes, book beyond the horizon")


class RepeatedHourMixin:
    """Which of a clock time repeated when clocks go back: "0" the first, "1" the second.

    Shown only for such a time (the view sets its choices and label); any value sent is checked
    by timeutil.resolve_clock_time, which names a wrong one in words.
    """

    fold = RadioField("Which one?", choices=[], validate_choice=False, validators=[Optional()])


class PhoneBookingForm(RepeatedHourMixin, BeyondHorizonMixin, FlaskForm):
    """Staff book a patient who called (the patient was found or created first)."""

    off_grid_reason = StringField("Reason to book off the grid (optional; no health details)",
                                  validators=[Optional(), Length(max=120), one_line])
    patient = HiddenField()
    clinician = SelectField("Clinician", coerce=str)
    # Native pickers (type=date/time); the server still reads typed text, for browsers without them.
    date = StringField("Date (YYYY-MM-DD)", validators=[DataRequired("Enter the date."), Length(max=10)],
                       render_kw={"type": "date"})
    time = StringField("Time (HH:MM, 24-hour, clinic time)", validators=[DataRequired("Enter the time."),
                                                                          Length(max=5)], render_kw={"type": "time"})


class WalkInForm(FlaskForm):
    """"Book now": the patient at the desk takes the current or next free time today."""

    patient = HiddenField()
    clinician = SelectField("Walk-in clinician", coerce=str)


class MoveForm(RepeatedHourMixin, BeyondHorizonMixin, FlaskForm):
    """Staff move a booking to another clinician, date or time."""

    clinician = SelectField("Clinician", coerce=str)
    date = StringField("New date (YYYY-MM-DD)", validators=[DataRequired("Enter the date."), Length(max=10)],
                       render_kw={"type": "date"})
    time = StringField("New time (HH:MM, 24-hour, clinic time)", validators=[DataRequired("Enter the time."),
                                                                              Length(max=5)], render_kw={"type": "time"})


class StatusForm(FlaskForm):
    """A status button on the schedule (arrived / completed / no-show)."""

    status = HiddenField()
