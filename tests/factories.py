"""Test data builders. Features add their own modules beside this one."""

import itertools

from booking.staff.accounts import create_staff

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


def create_staff_user(session, role, *, email=None, name=None, password=DEFAULT_PASSWORD, active=True):
    """Commit a staff account and return it, with the plain password kept on `.password`."""
    number = next(_counter)
    user = create_staff(session, email=email or f"{role}{number}@clinic.example",
                        name=name or f"{role.capitalize()} {number}", role=role, password=password)
    user.active = active
    session.commit()
    session.refresh(user)
    session.expunge(user)
    user.password = password
    return user
