"""Forms for the clinician's review pages."""

from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from booking.forms import FlaskForm
from booking.intake_review.decisions import DECISION_LABELS, STATUS_FILTERS


class QueueFilterForm(FlaskForm):
    """Filter the queue by status and by the date an intake arrived."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    status = SelectField("Status", choices=[SelectChoice(k, v) for k, v in STATUS_FILTERS.items()], default="waiting",
                         validate_choice=False)  # an unknown status falls back to "waiting" in the view
    since = StringField("Arrived on or after", validators=[Optional(), Length(max=10)])
    until = StringField("Arrived on or before", validators=[Optional(), Length(max=10)])


class DecisionForm(FlaskForm):
    """The clinician's decision and notes."""

    decision = RadioField("Decision", choices=[SelectChoice(k, v) for k, v in DECISION_LABELS.items()],
                          validators=[InputRequired("Choose a decision.")])
    notes = TextAreaField("Notes (kept encrypted; the patient does not see them)",
                          validators=[Length(max=5000, message="Keep notes to 5,000 characters or fewer.")])


class ClearForm(FlaskForm):
    """A button: clear the patient for booking (CSRF-protected)."""
