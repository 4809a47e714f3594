"""Test data builders. Features add their own modules beside this one."""

import itertools

import pyotp
from flask import current_app

from booking.crypto import cipher_for
from booking.staff.accounts import create_staff
from booking.staff.two_factor import second_factor_required
from booking.timeutil import utcnow

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


def create_staff_user(session, role, *, email=None, name=None, password=DEFAULT_PASSWORD, active=True,
                      enrol=None):
    """Commit a staff account and return it, with the plain password kept on `.password`.

    Roles that need a second factor (or any, with `enrol=True`) get an authenticator secret,
    confirmed as if enrolled; its plain value is kept on `.totp` (None without one).
    """
    number = next(_counter)
    user = create_staff(session, email=email or f"{role}{number}@clinic.example",
                        name=name or f"{role.capitalize()} {number}", role=role, password=password)
    user.active = active
    if enrol is None:
        enrol = second_factor_required(user, current_app.config["STAFF_TOTP_FOR_RECEPTIONISTS"])
    secret = pyotp.random_base32() if enrol else None
    if secret:
        user.totp_secret = cipher_for(current_app.config).encrypt(secret)
        user.totp_confirmed_at = utcnow()
    session.commit()
    session.refresh(user)
    session.expunge(user)
    user.password = password
    user.totp = secret
    return user
