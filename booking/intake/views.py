"""Intake views. (Only the entry point exists until the intake feature lands.)"""

from flask import render_template

from booking.intake import bp


@bp.get("/start")
def start():
    """Where every guide page's call to action leads."""
    return render_template("intake/start.html")
