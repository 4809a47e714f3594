"""The appointments feature: patient booking pages and the booking rules behind them."""

from flask import Blueprint

bp = Blueprint("appointments", __name__, cli_group=None)

from booking.appointments import demo, views, web  # noqa: E402,F401

bp.record_once(web.init_filters)
demo.register()
