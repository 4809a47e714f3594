"""What every template can use: the clinic's details, the staff menu, time formatting."""

from flask import current_app, g, url_for
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

    # The cipher is looked up once per request: a schedule asks for a hundred names.
    cipher = g.get("page_cipher")
    if cipher is None:
        cipher = g.page_cipher = cipher_for(current_app.config)
    return contact_of(patient, cipher)


class RecordLinks:
    """`url_for(endpoint, **{argument: id})` for the many records of one page, built once.

    A schedule links each of a hundred bookings, and url_for builds each address afresh through
    the routing map (a twentieth of the day page); the addresses differ only in the id. So the
    address is built once with a placeholder id, and each record's id is put in its place. Ids
    are integers, so nothing else can be put there.
    """

    _PLACEHOLDER = 900719925474099

    def __init__(self, endpoint, argument, **values):
        built = url_for(endpoint, **{argument: self._PLACEHOLDER}, **values)
        self.before, _placeholder, self.after = built.partition(str(self._PLACEHOLDER))

    def __call__(self, record_id):
        return f"{self.before}{int(record_id)}{self.after}"


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
    app.add_template_global(RecordLinks, "record_links")
