"""WTForms classes built from the step declarations, and the checks that span fields.

Bounds live here so that overlong text, impossible dates and out-of-range numbers are a
message on the field, never an error page.
"""

import math
import re
from decimal import Decimal, DecimalException
from functools import lru_cache

from wtforms import (BooleanField, EmailField, Field, HiddenField, IntegerField, RadioField, SelectChoice,
                     SelectMultipleField, StringField, TelField, TextAreaField)
from wtforms import widgets
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, ValidationError

from booking.forms import FlaskForm
from booking.input_check import one_line
from booking.intake.steps import NONE_OF_THESE
from booking.timeutil import parse_date

ADULT_AGE = 18
EARLIEST_BIRTH_YEAR = 1900
PHONE_PATTERN = re.compile(r"^[0-9 +().\-]{7,30}$")
KG_PER_UNIT = {"kg": Decimal(1), "lb": Decimal("0.45359237")}  # the international pound, exactly
WEIGHT_MAX_CHARACTERS = 12  # "1234.5678901": anything longer is not a weight


class ChoiceOf:
    """Each submitted value must be one of the question's choices (a tampered value is a message)."""

    def __init__(self, choices, message="Choose one of the answers shown."):
        self.allowed = {str(key) for key, _label in choices}
        self.message = message

    def __call__(self, form, field):
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(value not in self.allowed for value in values if value not in (None, "")):
            raise ValidationError(self.message)


def typed_date(form, field):
    """A real calendar date, written as MM/DD/YYYY or YYYY-MM-DD (what a native date input sends)."""
    if field.data and parse_date(field.data) is None:
        raise ValidationError("Enter a real date, for example 05/14/1990 (month, day, year) or 1990-05-14.")


def phone_number(form, field):
    """Digits, spaces and + ( ) - only, 7 to 30 characters."""
    if field.data and not PHONE_PATTERN.match(field.data.strip()):
        raise ValidationError("Enter a phone number using digits, spaces and + ( ) - only.")


class WeightField(Field):
    """A weight typed in kg or lb, decimals allowed; `data` is in kg. The unit is posted as `<name>_unit`."""

    widget = widgets.TextInput()

    @property
    def unit_name(self):
        """The name (and id) of the unit chooser beside the number."""
        return f"{self.name}_unit"

    def process(self, formdata, data=unset_value, extra_filters=None):
        """Read the unit before the number, so the number can be converted."""
        unit = formdata.get(self.unit_name) if formdata is not None else None
        self.unit = unit if unit in KG_PER_UNIT else "kg"
        super().process(formdata, data, extra_filters)

    def process_formdata(self, valuelist):
        """The typed number in kg (to 0.1 kg), None when blank; a message when it is not a number."""
        text = (valuelist[0] if valuelist else "").strip().replace(",", ".")
        self.data = None
        if not text:
            return
        not_a_number = ValueError("Enter your weight as a number, for example 72.5.")
        if len(text) > WEIGHT_MAX_CHARACTERS:
            raise not_a_number
        try:
            amount = Decimal(text)
            if not amount.is_finite():
                raise not_a_number
            self.data = float(round(amount * KG_PER_UNIT[self.unit], 1))
        except DecimalException as error:  # not a number, or "9e999999" overflowing the arithmetic
            raise not_a_number from error

    def _value(self):
        """What the box shows: the text as typed, or a saved weight in kg."""
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:g}" if self.data is not None else ""


def weight_range(minimum, maximum):
    """A validator: the weight (in kg) from `minimum` to `maximum`, said in both units."""
    pounds = lambda kg: round(kg / float(KG_PER_UNIT["lb"]))  # noqa: E731
    message = f"Enter a weight from {minimum} to {maximum} kg ({pounds(minimum)} to {pounds(maximum)} lb)."

    def check(form, field):
        if field.data is not None and not (math.isfinite(field.data) and minimum <= field.data <= maximum):
            raise ValidationError(message)
    return check


class MultiCheckboxField(SelectMultipleField):
    """Tick-boxes for several choices; rendered by the intake's own macro inside a fieldset."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _required(question, message):
    """The required (or optional) validator for a choice or number question."""
    return InputRequired(message) if question.required else Optional()


def _choices(question):
    """The question's choices as WTForms SelectChoices (values as strings, as posted)."""
    return [SelectChoice(str(key), label) for key, label in question.choices]


def field_for(question):
    """The WTForms field for one declared question."""
    label, kind = question.label, question.kind
    if kind in ("choice", "scale"):
        return RadioField(label, choices=_choices(question), validate_choice=False,
                          validators=[_required(question, "Choose an answer."), ChoiceOf(question.choices)])
    if kind == "multi":
        validators = [InputRequired("Tick at least one.")] if question.required else []
        return MultiCheckboxField(label, choices=_choices(question), validate_choice=False,
                                  validators=validators + [ChoiceOf(question.choices)])
    if kind == "weight":
        return WeightField(label, render_kw={"inputmode": "decimal", "maxlength": WEIGHT_MAX_CHARACTERS},
                           validators=[_required(question, "Enter your weight."),
                                       weight_range(question.minimum, question.maximum)])
    if kind == "integer":
        return IntegerField(label, validators=[
            _required(question, "Enter a whole number."),
            NumberRange(question.minimum, question.maximum,
                        f"Enter a number from {question.minimum} to {question.maximum}.")])
    length = Length(max=question.max_length, message=f"Keep this to {question.max_length} characters or fewer.")
    required = DataRequired("Enter an answer.") if question.required else Optional()
    if kind == "email":
        return EmailField(label, validators=[required, length, Email("Enter an email address like name@example.com.")])
    if kind == "tel":
        return TelField(label, validators=[required, length, phone_number])
    if kind == "date":
        return StringField(label, widget=widgets.DateInput(), validators=[
            required, Length(max=10, message="Write the date as MM/DD/YYYY."), typed_date])
    if kind == "textarea":
        return TextAreaField(label, validators=[required, length])
    return StringField(label, validators=[required, length, one_line])


@lru_cache(maxsize=None)
def form_class(step):
    """The FlaskForm class for a step (built once per step)."""
    attributes = {"step": HiddenField()}
    for question in step.questions:
        attributes[question.name] = field_for(question)
    if step.kind == "consent":
        attributes["agree"] = BooleanField("I have read the consent above and I agree to it",
                                           validators=[DataRequired("Tick the box to agree before you send.")])
    return type(f"{step.key.title()}StepForm", (FlaskForm,), attributes)


def values_from_form(step, form):
    """The step's answers as plain JSON values (blank optional answers become None)."""
    values = {}
    for question in step.questions:
        data = form[question.name].data
        if question.kind == "scale":
            data = int(data) if data not in (None, "") else None
        elif question.kind == "multi":
            data = list(data or [])
        elif question.kind == "date" and data:
            data = parse_date(data).isoformat()  # stored one way, however it was typed
        elif isinstance(data, str):
            data = data.strip() or None
            if data and question.kind == "email":
                data = data.lower()
        values[question.name] = data
    return values


def form_data_from_values(step, values):
    """Stored answers turned back into form data, to show a saved step again."""
    data = {}
    for question in step.questions:
        value = (values or {}).get(question.name)
        if question.kind in ("choice", "scale") and value is not None:
            value = str(value)
        data[question.name] = value
    return data


def check_step(step, form, today):
    """Checks across fields or against today's date; adds errors to `form`. True if none."""
    ok = True

    def error(name, message):
        """Attach `message` to field `name`."""
        nonlocal ok
        form[name].errors.append(message)
        ok = False

    if step.key == "about" and not form.date_of_birth.errors and form.date_of_birth.data:
        born = parse_date(form.date_of_birth.data)
        if born.year < EARLIEST_BIRTH_YEAR:
            error("date_of_birth", "Please check the year of your date of birth.")
        elif born > today:
            error("date_of_birth", "Your date of birth cannot be in the future.")
        elif age_on(born, today) < ADULT_AGE:
            error("date_of_birth", f"This service is for adults: you need to be {ADULT_AGE} or over. "
                                   "Please talk to your family doctor about other options.")
    if step.key == "medical":
        if form.bp_date.data and not form.bp_date.errors and parse_date(form.bp_date.data) > today:
            error("bp_date", "The date of the reading cannot be in the future.")
        ticked = form.conditions.data or []
        if NONE_OF_THESE in ticked and len(ticked) > 1:
            error("conditions", "You ticked “None of these” and a condition: please untick one of them.")
        systolic, diastolic = form.bp_systolic, form.bp_diastolic
        if (systolic.data is not None and diastolic.data is not None and not systolic.errors
                and not diastolic.errors and systolic.data <= diastolic.data):
            error("bp_systolic", "The top number is normally higher than the bottom one. Please check the reading.")
    if step.key == "seeking" and "other" in (form.conditions.data or []) and not form.conditions_other.data:
        error("conditions_other", "Please describe what else you would like help with.")
    return ok


def age_on(born, today):
    """Whole years between `born` and `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


