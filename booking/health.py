"""/healthz for load balancers: 200 when the database answers."""

import sqlalchemy as sa
from flask import Blueprint

from booking.extensions import db, one_statement

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 if a trivial query succeeds, 503 otherwise."""
    # A pooled connection, not the ORM session: a probe needs no transaction bookkeeping.
    try:
        with one_statement(db.engine) as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError:
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}, 200
