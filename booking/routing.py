"""URL converters shared by every blueprint."""

import re

from werkzeug.routing import IntegerConverter


class RecordIdConverter(IntegerConverter):
    """`<id:name>`: a positive record id that fits every database's integer column.

    A plain `<int:>` accepts 30-digit numbers, which overflow SQLite and PostgreSQL
    integers and turn a mistyped URL into a server error; these simply do not match (404).
    """

    regex = r"[1-9]\d{0,8}"


def parse_record_id(text):
    """`text` as a record id if it is one (see RecordIdConverter), else None: no overflow reaches the database."""
    return int(text) if isinstance(text, str) and re.fullmatch(RecordIdConverter.regex, text, re.ASCII) else None


def init_app(app):
    """Register the converters before any blueprint's rules are added."""
    app.url_map.converters["id"] = RecordIdConverter
