"""The staff menu: each entry names an endpoint; what a role sees is what it may open."""

from booking.staff.access import allowed_roles_for

# (label, endpoint, description). The roles come from the views themselves, so the menu
# can never offer a page that would answer 403.
STAFF_SECTIONS = [
    ("Intake queue", "intake_review.queue", "New intakes, most urgent first."),
    ("Patients", "patients.search", "Find a patient by name, phone, email or date of birth."),
    ("Schedule", "schedule.day", "Day and week views, phone bookings, arrivals."),
    ("Waitlist", "waitlist.desk", "Patients waiting for a time that suits; book them from here."),
    ("Opening hours", "schedule.hours", "Weekly hours, holidays and blocked time."),
    ("Calendars", "calendar.my_feed", "Subscribe to a schedule in a calendar app, or export a date range."),
    ("Outbox", "outbox.status", "Emails waiting to be sent, and failures."),
    ("Staff accounts", "staff.staff_list", "Create accounts, change roles, reset passwords."),
    ("Audit log", "staff.audit_log", "Every sign-in, view of an intake and change."),
]


def nav_for(role):
    """The sections `role` may open, in menu order."""
    sections = []
    for label, endpoint, description in STAFF_SECTIONS:
        roles = allowed_roles_for(endpoint) or ()  # None for an endpoint that does not exist
        if role in roles:
            sections.append({"label": label, "endpoint": endpoint, "description": description})
    return sections
