"""Waitlist forms. Choices are set by the view (the clinicians) or fixed here (days, parts)."""

from wtforms import SelectField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from booking.forms import FlaskForm
from booking.waitlist.rules import DAY_NAMES, PART_LABELS


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes (each labelled), not a multi-select box."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class JoinForm(FlaskForm):
    """Join the waitlist: which clinician (or anyone), which days, which parts of the day."""

    clinician = SelectField("Clinician", choices=[("any", "Any clinician")], validate_choice=False)
    days = CheckboxesField("Days that suit you", choices=[(str(n), name) for n, name in enumerate(DAY_NAMES)],
                           default=[str(n) for n in range(5)])
    parts = CheckboxesField("Times of day that suit you", choices=list(PART_LABELS.items()),
                            default=list(PART_LABELS))


class OfferForm(FlaskForm):
    """Take the offered time (only the CSRF token: the link says which time and who)."""


class LeaveForm(FlaskForm):
    """Leave the waitlist."""
