"""Patient forms. Lengths are bounded so overlong input is a message, not an error."""

from wtforms import EmailField, IntegerField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from booking.appointments.forms import PHONE
from booking.forms import FlaskForm


class PatientForm(FlaskForm):
    """A new patient, typed by staff while the person is on the phone."""

    name = StringField("Full name", validators=[DataRequired("Enter the patient's name."), Length(max=120)])
    date_of_birth = StringField("Date of birth (YYYY-MM-DD)", validators=[Optional(), Length(max=10)])
    email = EmailField("Email", validators=[Optional(), Length(max=254),
                                            Email("Enter an email address like name@example.com.")])
    phone = TelField("Phone", validators=[DataRequired("Enter a phone number."), Length(max=40), PHONE])


class NoteForm(FlaskForm):
    """A staff note (non-clinical)."""

    text = TextAreaField("Note (no health details)", validators=[DataRequired("Write the note first."),
                                                                 Length(max=1000)])


class MergeForm(FlaskForm):
    """Merge another record into this one."""

    other = IntegerField("Record number to merge into this one",
                         validators=[DataRequired("Enter the record number."), NumberRange(min=1, max=2**31 - 1)])


class EraseForm(FlaskForm):
    """Erase a record: the admin types the record number again to confirm."""

    confirm = StringField("Type the record number to confirm", validators=[DataRequired("Type the record number."),
                                                                           Length(max=12)])
