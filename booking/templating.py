"""What every template can use: the clinic's details, the staff menu, time formatting."""

from flask import current_app
from flask_login import current_user

from booking.crypto import cipher_for
from booking.staff import web_session
from booking.timeutil import to_zone, zone_label


def clinic_details():
    """The clinic's public details from configuration."""
    config = current_app.config
    return {
        "name": config["CLINIC_NAME"],
        "email": config["CLINIC_EMAIL"],
        "phone": config["CLINIC_PHONE"],
        "address": config["CLINIC_ADDRESS"],
        "timezone": config["CLINIC_TIMEZONE"],
        "zone_label": zone_label(config["CLINIC_TIMEZONE"]),
    }


def format_local(moment, pattern="%A %-d %B %Y, %-I:%M %p"):
    """Format an instant as wall-clock time in the clinic's zone, with the zone's abbreviation."""
    if moment is None:
        return ""
    local = to_zone(moment, current_app.config["CLINIC_TIMEZONE"])
    return f"{local.strftime(pattern)} {local.tzname()}"


def patient_contact(patient):
    """A patient's decrypted contact dict for a page (booking.patients.record.contact_of)."""
    from booking.patients.record import contact_of

    return contact_of(patient, cipher_for(current_app.config))


def signed_in_staff():
    """The signed-in staff member, or None.

    A request without the staff session cookie (every patient's) does not ask Flask-Login,
    so it costs no session lookup.
    """
    if not web_session.has_cookie():
        return None
    return current_user if current_user.is_authenticated else None


def init_app(app):
    """Register the context processor and filters."""
    from booking.staff.nav import nav_for

    @app.context_processor
    def inject_common():
        staff = signed_in_staff()
        return {"clinic": clinic_details(), "current_user": current_user, "staff_user": staff,
                "staff_nav": nav_for(staff.role) if staff else []}

    app.add_template_filter(format_local, "localtime")
    app.add_template_global(patient_contact, "patient_contact")
