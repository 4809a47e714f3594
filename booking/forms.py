"""The base of every form: Flask-WTF's FlaskForm, its CSRF token signed only for a page that shows it.

Flask-WTF signs the token (a timed HMAC of the session's secret) when a form is built, so a
POST that passes and redirects signed one it never showed: a thirtieth of a booking POST.
Here the hidden field signs it when it is rendered, through Flask-WTF's own generate_csrf
(one token per request, as before). Checking a posted token is unchanged: the app's
before-request hook (booking.init_csrf) checks every unsafe request, and the form's own check
then sees it done.
"""

import flask_wtf
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import HiddenField


class _TokenFieldSignedWhenShown(CSRFTokenField):
    """The hidden CSRF field, whose value is signed when rendered, not when the form is built."""

    def process(self, *args, **kwargs):
        """Take the posted value as any hidden field does, without signing a new token."""
        HiddenField.process(self, *args, **kwargs)

    def _value(self):
        """The token to render: this request's, signed now if not yet."""
        return self.csrf_impl.generate_csrf_token(self)


class _SignedWhenShown(flask_wtf.FlaskForm.Meta.csrf_class):
    """Flask-WTF's form CSRF (the same token and check) with the field above."""

    field_class = _TokenFieldSignedWhenShown


class FlaskForm(flask_wtf.FlaskForm):
    """Flask-WTF's FlaskForm with its CSRF token signed when shown; every form of the app is one."""

    class Meta:
        """WTForms merges this with FlaskForm's own Meta: only the CSRF class changes."""

        csrf_class = _SignedWhenShown
