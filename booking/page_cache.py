"""Pages that are the same for every visitor, rendered once per content version and served from memory.

A page qualifies when everything on it is determined by its cache key (which must carry the
content's version: the guide files' modification times, the schedule version, the settings)
plus what is checked here: a message flashed to this browser, or a signed-in staff member's
header, make it personal, so those requests are rendered afresh. A CSRF token is the one
per-browser part such a page may hold: it is rendered as a marker and each request puts its
own token in (Flask-WTF's, so the session gets it exactly as before).
"""

import secrets

from flask import current_app, render_template, request, session
from flask_wtf.csrf import generate_csrf

from booking.cache import TTLCache

# Unguessable, so no content can contain it by accident; one per process.
CSRF_MARKER = "csrf-marker-" + secrets.token_hex(16)
MAX_ENTRIES = 256  # guide pages, error pages and start pages: a few dozen in practice
MAX_BYTES = 8 * 1024 * 1024
# The settings a shared page may show (the clinic's details, the costs block): part of every key,
# so a changed setting is a new version.
SHOWN_SETTINGS = ("CLINIC_NAME", "CLINIC_EMAIL", "CLINIC_PHONE", "CLINIC_ADDRESS", "CLINIC_TIMEZONE",
                  "CONSULTATION_PRICE", "CONSULTATION_COSTS_TEXT", "INTAKE_DRAFT_DAYS")


def cache_for(app):
    """The app's shared-page cache (one per app and process)."""
    cache = app.extensions.get("booking_page_cache")
    if cache is None:
        seconds = float(app.config.get("SHARED_PAGE_CACHE_SECONDS", 300))
        cache = app.extensions["booking_page_cache"] = TTLCache(seconds, MAX_ENTRIES, max_bytes=MAX_BYTES)
    return cache


def personal():
    """True when this request's page may differ from everyone else's (flashed message, staff header)."""
    from booking.staff import web_session  # here: the staff blueprint imports the error pages, which use this

    return "_flashes" in session or web_session.has_cookie()


def shared(key, render, cache=None):
    """The page `render()` gives, from the cache (as UTF-8 bytes) when another visitor already saw
    this version of it.

    `key` must determine the whole page; the address in use (scheme, host and script root: pages may show
    absolute links) and the shown settings are added here.
    """
    if personal():
        return render()
    app = current_app._get_current_object()  # noqa: SLF001  one context lookup, not three
    cache = cache or cache_for(app)
    full_key = (key, address_of(request.environ), tuple(map(app.config.get, SHOWN_SETTINGS)))
    parts = cache.get(full_key)
    if parts is None:
        parts = cache.put(full_key, encoded_parts(render()))
    # The marker's places were found once, when the page was stored: a request only joins.
    return parts[0] if len(parts) == 1 else generate_csrf().encode().join(parts)


def encoded_parts(html):
    """`html` as UTF-8, cut where the CSRF marker stands (one part when it has none).

    Stored encoded, a shared page is sent as it is. Encoding the week page (20 KB, with a few
    characters beyond ASCII, so Python encodes it one character at a time) on every request,
    and searching it for the marker, were 18% of that page's instructions."""
    return tuple(part.encode() for part in html.split(CSRF_MARKER))


def address_of(environ):
    """What an absolute link on a page is built from: scheme, host (as sent, or the server's name
    and port) and script root, read from the WSGI environment as received (after ProxyFix)."""
    return (environ["wsgi.url_scheme"], environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME"))


def render_shared(key, template, **context):
    """`render_template(template, **context)` through `shared`, with the CSRF token left as a marker."""
    def render():
        return render_template(template, csrf_token=lambda: CSRF_MARKER if not personal() else generate_csrf(),
                               **context)
    return shared((template, key), render)
