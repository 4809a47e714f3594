"""One cookie's value, without parsing the Cookie header when it holds just that one pair.

werkzeug parses the whole header (quoting, escapes, every pair) the first time anything reads
`request.cookies`. A patient's browser usually sends one cookie, the session: a header of one
plain `name=value` pair (letters, digits, '.', '_', '-': what a signed cookie or a token is made
of) is read directly, and gives what werkzeug would (tested); any other header goes to werkzeug.
"""

import re

_PLAIN = re.compile(r"[A-Za-z0-9._\-]+")


def cookie(request, name):
    """The value of the cookie `name` in this request, or None."""
    raw = request.environ.get("HTTP_COOKIE")
    if not raw:
        return None
    if ";" not in raw:
        key, sep, value = raw.partition("=")
        if sep and _PLAIN.fullmatch(key) and _PLAIN.fullmatch(value):
            return value if key == name else None
    return request.cookies.get(name)
