"""What every template can use: the clinic's details, the staff menu, time formatting."""

from flask import current_app
from flask_login import current_user

from booking.timeutil import to_zone


def clinic_details():
    """The clinic's public details from configuration."""
    config = current_app.config
    return {
        "name": config["CLINIC_NAME"],
        "email": config["CLINIC_EMAIL"],
        "phone": config["CLINIC_PHONE"],
        "address": config["CLINIC_ADDRESS"],
        "timezone": config["CLINIC_TIMEZONE"],
    }


def format_local(moment, pattern="%A %-d %B %Y, %-I:%M %p"):
    """Format an instant as wall-clock time in the clinic's zone, with the zone's abbreviation."""
    if moment is None:
        return ""
    local = to_zone(moment, current_app.config["CLINIC_TIMEZONE"])
    return f"{local.strftime(pattern)} {local.tzname()}"


def init_app(app):
    """Register the context processor and filters."""
    from booking.staff.nav import nav_for

    @app.context_processor
    def inject_common():
        staff_nav = nav_for(current_user.role) if current_user.is_authenticated else []
        return {"clinic": clinic_details(), "staff_nav": staff_nav}

    app.add_template_filter(format_local, "localtime")
