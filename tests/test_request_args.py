"""booking.BookingRequest: query arguments parsed once per distinct query string, exactly as werkzeug parses them."""

import pytest
from flask import Request, request

import booking

QUERIES = [
    "clinician=any&week=2026-12-07",
    "a=1&a=2&b=%E2%82%AC&c=%ZZ&d&e=%FF",  # repeated names, escapes broken and not UTF-8, a name without a value
    "name=caf\xc3\xa9+au+lait&empty=",  # raw UTF-8 as the WSGI server hands it over (latin-1 text), a plus
    "",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_arguments_are_werkzeugs_own(app, query):
    with app.test_request_context("/"):
        request.environ["QUERY_STRING"] = query
        expected = Request(dict(request.environ)).args
        with app.request_context(dict(request.environ)):
            assert list(request.args.items(multi=True)) == list(expected.items(multi=True))


def test_requests_with_the_same_query_share_one_immutable_parse(app):
    # The week page's link is the same for every patient looking at that week.
    with app.test_request_context("/book/?clinician=any&week=2026-12-07"):
        first = request.args
    with app.test_request_context("/book/?clinician=any&week=2026-12-07"):
        assert request.args is first
    with app.test_request_context("/book/?clinician=any&week=2026-12-14"):
        assert request.args is not first and request.args["week"] == "2026-12-14"
    with pytest.raises(TypeError):
        first["week"] = "2027-01-04"  # shared, so it must not change


def test_a_long_query_is_parsed_for_its_request_alone(app):
    query = "q=" + "x" * booking.SHARED_QUERY_MAX
    with app.test_request_context("/?" + query):
        before = booking._parsed_query.cache_info().currsize  # noqa: SLF001
        assert request.args["q"] == "x" * booking.SHARED_QUERY_MAX
        assert booking._parsed_query.cache_info().currsize == before  # noqa: SLF001
