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
import functools
import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from booking.cookies import cookie

# The browsers active lately. A patient's cookie is a few hundred bytes and browsers cap a
# cookie at 4 KB, so even 1,024 of the largest hold a few megabytes.
VERIFIED_COOKIES = 1024


class CheapSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface with its serializer built once per (secret key, fallbacks), and
    the contents of the cookies it verified lately remembered (least recently used go first).

    `clock()` gives the time in seconds since the epoch, as itsdangerous reads it.
    """

    def __init__(self, clock=time.time):
        self._serializers = {}
        # A forged cookie raises, and lru_cache keeps no exception: it is checked every time.
        self._verified = functools.lru_cache(maxsize=VERIFIED_COOKIES)(self._verify)
        self.clock = clock

    @staticmethod
    def _verify(serializer, value, max_age):
        """(contents, signing time) of a cookie with a valid signature that was not expired when checked."""
        data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        return data, int(signed_at.timestamp())

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
        value = cookie(request, self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = self._verified(serializer, value, max_age)
        except BadSignature:  # forged, or expired (SignatureExpired)
            return self.session_class()
        # itsdangerous's own rule: older than max_age, or signed in the future, is expired.
        if not 0 <= int(self.clock()) - signed_at <= max_age:
            return self.session_class()
        # A copy: a view that changes a list inside the session must not change what is remembered.
        return self.session_class({name: copy.deepcopy(item) if isinstance(item, (dict, list)) else item
                                   for name, item in data.items()})

    def save_session(self, app, session, response):
        """Flask's, minus reading seven cookie settings when no cookie will be written or deleted.

        Flask writes or deletes the cookie only for a changed session, or a permanent one when
        SESSION_REFRESH_EACH_REQUEST is on; in every other case it only adds `Vary: Cookie` if
        the session was read.
        """
        if not session.modified and not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            if session.accessed:
                if "Vary" in response.headers:
                    response.vary.add("Cookie")  # merged into the view's own Vary
                else:
                    response.headers["Vary"] = "Cookie"
            return
        super().save_session(app, session, response)


def init_app(app):
    """Use the cheaper interface for this app."""
    app.session_interface = CheapSessionInterface()
