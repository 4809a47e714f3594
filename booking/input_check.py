"""Control characters are refused in one place: a request carrying them gets a clear 400.

No one types a NUL, an escape or a backspace into a form, a link or a header: such characters
come from scripts and broken clients, and they break what comes after (PostgreSQL refuses NUL
in text; a CR/LF in a name lands in an email's header or calendar line). Newline and tab are
text in a form field (long answers, a cancel reason), so form values may hold them; single-line
fields refuse line breaks with a message on the field (`one_line`, a WTForms validator).
"""

import re

from flask import request
from wtforms.validators import ValidationError

# C0 controls, DEL and the C1 controls, except tab, newline and carriage return.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# ...and in a path, a query argument or a form field name, not even those.
_CONTROL_ANYWHERE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Header values are latin-1 decoded bytes (so \x80-\x9f is part of UTF-8 text there); tab is allowed.
_CONTROL_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]")


def control_character_in(path, args, form, headers):
    """Where a control character was found ("path", "query", "form", "header"), or None.

    `args` and `form` are (name, value) pairs; `headers` (name, value) pairs as received.
    """
    if _CONTROL_ANYWHERE.search(path):
        return "path"
    if any(_CONTROL_ANYWHERE.search(name) or _CONTROL_ANYWHERE.search(value) for name, value in args):
        return "query"
    if any(_CONTROL_ANYWHERE.search(name) or _CONTROL_IN_TEXT.search(value) for name, value in form):
        return "form"
    if any(_CONTROL_IN_HEADER.search(value) for _name, value in headers):
        return "header"
    return None


def query_args(environ):
    """The request's query arguments as (name, value) pairs, or the raw query string alone when it is
    ASCII without a percent escape: then decoding cannot bring in a character the raw text lacks
    (raw UTF-8 arrives as latin-1 text, whose bytes 0x80-0x9f are not control characters once decoded)."""
    query = environ.get("QUERY_STRING", "")
    if "%" in query or not query.isascii():
        return request.args.items(multi=True)
    return (("", query),)


def header_values(environ):
    """Every header value as received, as one (name, value) pair: tab, allowed in a value, joins them."""
    values = [value for key, value in environ.items()
              if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")]
    return (("", "\t".join(values)),)


def one_line(form, field):
    """WTForms validator: the value is a single line (names, subjects: anything that may reach a header)."""
    if isinstance(field.data, str) and _LINE_BREAK.search(field.data):
        raise ValidationError("Write this on one line, without line breaks.")


def init_app(app):
    """Refuse, with a 400 page that says why, any request carrying a control character."""
    from booking.errors import render_error

    @app.before_request
    def refuse_control_characters():
        current = request._get_current_object()  # noqa: SLF001  one context lookup, not one per attribute
        environ = current.environ
        where = control_character_in(current.path, query_args(environ),
                                     current.form.items(multi=True) if current.method == "POST" else (),
                                     header_values(environ))
        if where is not None:
            return render_error(400, "That request held characters we cannot accept",
                                "Something sent with this page held invisible control characters (such as a NUL "
                                "byte). Go back, retype the text by hand rather than pasting it, and try again.")
        return None
