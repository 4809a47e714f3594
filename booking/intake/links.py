"""Links the intake hands out: the private resume link and the booking link."""

from flask import current_app, url_for

BOOKING_ENDPOINT = "appointments.start_from_intake"


def absolute(path):
    """`path` on the public base URL, for links that leave the site (emails)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def resume_path(token):
    """The private resume link's path: it carries the token and nothing else."""
    return url_for("intake.resume", token=token)


def correction_path(token):
    """The one-time "correct my answers" link's path."""
    return url_for("intake.open_correction", token=token)


def booking_home_path():
    """Where a browser that remembers a bookable intake chooses a time."""
    if "appointments.choose" in current_app.view_functions:
        return url_for("appointments.choose")
    return "/book/"


def booking_path(token):
    """The booking link's path; the booking feature owns the route, which may not be registered yet."""
    if BOOKING_ENDPOINT in current_app.view_functions:
        return url_for(BOOKING_ENDPOINT, token=token)
    return f"/book/start/{token}"
