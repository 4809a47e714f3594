"""Flask's signed cookie session, without per-request work that a repeated cookie never needed.

Flask builds a new signing serializer (key list, signer, salt) on every request, even when
the request carries no session cookie at all (every first visit, every load balancer probe),
and checks the signature and decodes the JSON of a cookie it saw a moment ago. This interface
skips the serializer when there is no cookie, builds it once per secret key set, and
remembers what each cookie it verified holds, with the time it was signed. A remembered
cookie is still refused once it is older than the session lifetime, and a new key set
starts afresh (the serializer is part of the key), so it opens exactly the sessions Flask
would. Signing, expiry and cookie flags are Flask's own, unchanged.
"""

import copy
import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from booking.cache import TTLCache

# The browsers active in the last minutes; a session cookie is a few hundred bytes.
VERIFIED_COOKIES = 2048
VERIFIED_BYTES = 2 * 1024 * 1024
VERIFIED_SECONDS = 300


class CheapSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface with its serializer built once per (secret key, fallbacks), and
    each verified cookie's contents remembered for a few minutes.

    `clock()` gives the time in seconds since the epoch, as itsdangerous reads it.
    """

    def __init__(self, clock=time.time):
        self._serializers = {}
        self._verified = TTLCache(VERIFIED_SECONDS, VERIFIED_COOKIES, max_bytes=VERIFIED_BYTES)
        self.clock = clock

    def get_signing_serializer(self, app):
        """Flask's serializer for the app's current keys, built on first use of those keys."""
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        found = self._serializers.get(key)
        if found is None:
            found = self._serializers[key] = super().get_signing_serializer(app)
        return found

    def open_session(self, app, request):
        """The cookie's session: empty without a cookie, or when it is forged or older than the lifetime."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        remembered = self._verified.get((serializer, value))
        if remembered is None:
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:  # forged, or expired (SignatureExpired)
                return self.session_class()
            remembered = self._verified.put((serializer, value), (data, int(signed_at.timestamp())))
        data, signed_at = remembered
        # itsdangerous's own rule: older than max_age, or signed in the future, is expired.
        if not 0 <= int(self.clock()) - signed_at <= max_age:
            return self.session_class()
        # A copy: a view that changes a list inside the session must not change what is remembered.
        return self.session_class(copy.deepcopy(data))

    def save_session(self, app, session, response):
        """Flask's, minus reading seven cookie settings when no cookie will be written or deleted.

        Flask writes or deletes the cookie only for a changed session, or a permanent one when
        SESSION_REFRESH_EACH_REQUEST is on; in every other case it only adds `Vary: Cookie` if
        the session was read.
        """
        if not session.modified and not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app):
    """Use the cheaper interface for this app."""
    app.session_interface = CheapSessionInterface()
