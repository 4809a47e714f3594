"""The one-cookie fast path reads what werkzeug's parser reads."""

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from booking.cookies import cookie


@pytest.mark.parametrize("header", [
    "session=eyJpbnRha2UiOjF9.Z0k3Yg.abc-DEF_123",
    "other=value",
    "session=a; other=b",
    "other=b; session=a",
    'session="quoted value"',
    "session=",
    " session=padded ",
    "session=a=b",
    "Session=case",
    "session=caf%C3%A9",
    "",
])
@pytest.mark.parametrize("name", ["session", "other"])
def test_a_cookie_reads_as_werkzeug_parses_it(header, name):
    request = Request(EnvironBuilder(headers={"Cookie": header} if header else {}).get_environ())
    assert cookie(request, name) == request.cookies.get(name)


def test_a_lone_plain_cookie_is_read_without_the_parser():
    request = Request(EnvironBuilder(headers={"Cookie": "session=abc.DEF-_1"}).get_environ())
    assert cookie(request, "session") == "abc.DEF-_1" and cookie(request, "staff") is None
    assert "cookies" not in request.__dict__  # werkzeug's parsed cookies were never built
