"""Staff forms. Lengths are bounded here so overlong input is a message, not an error."""

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from booking.forms import FlaskForm
from booking.models import ROLES

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]


class LoginForm(FlaskForm):
    """Sign-in."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def no_control_characters(form, field):
    """Refuse NUL and other control characters (PostgreSQL cannot store NUL; none belongs here)."""
    if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
        raise ValidationError("Remove the control characters from this field.")


class CodeForm(FlaskForm):
    """The second sign-in step: a six-digit code, or a recovery code."""

    code = StringField("Code from your authenticator app (or a recovery code)",
                       validators=[DataRequired(), Length(max=40)])


class ChangePasswordForm(FlaskForm):
    """A staff member changes their own password, current password first."""

    current = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    password = PasswordField("New password (at least 12 characters, hard to guess)",
                             validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])


class ButtonForm(FlaskForm):
    """A form that is only a button (end a session, reset a second factor): the CSRF token."""


class NewStaffForm(FlaskForm):
    """An admin creates a staff account."""

    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    # The least privilege unless the admin chooses otherwise.
    role = SelectField("Role", choices=ROLE_CHOICES, default="receptionist")
    password = PasswordField("Initial password (at least 12 characters)",
                             validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])


class EditStaffForm(FlaskForm):
    """An admin corrects the name or email, changes a role or deactivates an account."""

    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Account active")


class ResetPasswordForm(FlaskForm):
    """An admin sets a new password, which signs the person out everywhere."""

    password = PasswordField("New password (at least 12 characters)",
                             validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])


class AuditFilterForm(FlaskForm):
    """Filters for the audit log (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField("Action", validators=[Optional()])
    actor = StringField("Staff email contains", validators=[Optional(), Length(max=254), no_control_characters])
    since = StringField("From (YYYY-MM-DD)", validators=[Optional(), Length(max=10), no_control_characters])
    until = StringField("To (YYYY-MM-DD)", validators=[Optional(), Length(max=10), no_control_characters])
