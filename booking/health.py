"""/healthz for load balancers: 200 when the database answers."""

import sqlalchemy as sa
from flask import Blueprint, Response

from booking.extensions import DriverRead, db

bp = Blueprint("health", __name__)

# A probe asks several times a second: the statement runs on the driver's cursor (DriverRead,
# whose errors are SQLAlchemy's, so a lost connection is still replaced), on PostgreSQL in the
# read pool's autocommit connections (no switch to autocommit and back: 11% of the request's
# instructions), and the two answers are fixed text, spared the JSON encoder.
_PING = DriverRead(sa.text("SELECT 1"), read_pool=True)
_OK = '{"status":"ok"}\n'
_DOWN = '{"status":"database unavailable"}\n'


@bp.get("/healthz")
def healthz():
    """Answer 200 if a trivial query succeeds, 503 otherwise."""
    try:
        _PING.first(db.engine)
    except sa.exc.SQLAlchemyError:
        return Response(_DOWN, 503, mimetype="application/json")
    return Response(_OK, 200, mimetype="application/json")
