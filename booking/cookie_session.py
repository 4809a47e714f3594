"""Flask's signed cookie session, without the per-request cost a browser without a cookie never needed.

Flask builds a new signing serializer (key list, signer, salt) on every request, even when
the request carries no session cookie at all (every first visit, every load balancer probe).
This interface skips it when there is no cookie, and otherwise builds it once per secret
key set. Signing, expiry and cookie flags are Flask's own, unchanged.
"""

from flask.sessions import SecureCookieSessionInterface


class CheapSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface with its serializer built once per (secret key, fallbacks)."""

    def __init__(self):
        self._serializers = {}

    def get_signing_serializer(self, app):
        """Flask's serializer for the app's current keys, built on first use of those keys."""
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        found = self._serializers.get(key)
        if found is None:
            found = self._serializers[key] = super().get_signing_serializer(app)
        return found

    def open_session(self, app, request):
        """An empty session without signing work when the request has no session cookie."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app):
    """Use the cheaper interface for this app."""
    app.session_interface = CheapSessionInterface()
