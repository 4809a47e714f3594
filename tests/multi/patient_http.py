"""Every HTTP step the harness takes, in one place, so a change to a form is fixed here only.

A Browser keeps its own cookies (so its session) and never follows redirects, so a test
sees each answer's status. Forms are read for their CSRF token as a browser would.
"""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SLOT = re.compile(r'data-slot="([^"]+)"')
TIMEOUT = 60


@dataclass
class Answer:
    """What came back: status, body text and headers."""

    status: int
    text: str
    headers: dict


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser, talking to whichever instance each call names (`base`)."""

    def __init__(self, client_address=None):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())
        # Instances trust one proxy: X-Forwarded-For stands for the client's own address.
        self.headers = {"X-Forwarded-For": client_address} if client_address else {}

    def get(self, base, path):
        """GET base+path."""
        return self._open(urllib.request.Request(base + path, headers=self.headers))

    def post(self, base, path, form):
        """POST the form fields (with a CSRF token taken from `form_page` by the caller)."""
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(base + path, data=data, headers=self.headers, method="POST"))

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return Answer(response.status, response.read().decode("utf-8", "replace"), dict(response.headers))
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx: an answer like any other
            return Answer(error.code, error.read().decode("utf-8", "replace"), dict(error.headers))


def csrf_token(answer):
    """The CSRF token of the form on a page (None if it has none)."""
    found = CSRF.search(answer.text)
    return found.group(1) if found else None


def open_booking(browser, base, booking_token):
    """Follow an intake's private booking link, so this browser's session may book."""
    answer = browser.get(base, f"/book/start/{booking_token}")
    assert answer.status == 302, answer.status
    return answer


def offered_slots(browser, base, clinician_id, week):
    """The slot values the week page offers for one clinician and week."""
    answer = browser.get(base, f"/book/?clinician={clinician_id}&week={week}")
    assert answer.status == 200, answer.status
    return SLOT.findall(answer.text)


def booking_form(browser, base, clinician_id, slot):
    """Open the confirm form for a slot; returns the fields a patient would send."""
    page = browser.get(base, f"/book/confirm?clinician={clinician_id}&start={slot}")
    assert page.status == 200, page.status
    return {"csrf_token": csrf_token(page), "clinician": str(clinician_id), "start": slot,
            "name": "Racing Patient", "email": "race@example.org", "phone": "", "tz": ""}


def book(browser, base, form):
    """Send the confirm form: 302 (booked), 409 (just taken) or an error."""
    return browser.post(base, "/book/confirm", form)


def sign_in_attempt(browser, base, email, password):
    """One staff sign-in attempt through the real form: 401 wrong, 429 limited."""
    page = browser.get(base, "/staff/login")
    return browser.post(base, "/staff/login", {"csrf_token": csrf_token(page), "email": email,
                                               "password": password})


def start_questionnaire(browser, base):
    """Begin a new questionnaire: 302 to its first step, 429 when limited."""
    page = browser.get(base, "/intake/start")
    return browser.post(base, "/intake/start", {"csrf_token": csrf_token(page)})


def try_to_book(browser, base, clinician_id, slot):
    """Open the form and send it, as under load: the answers, stopping at the first that is not OK."""
    page = browser.get(base, f"/book/confirm?clinician={clinician_id}&start={slot}")
    if page.status != 200:
        return [page]
    form = {"csrf_token": csrf_token(page), "clinician": str(clinician_id), "start": slot,
            "name": "Load Patient", "email": "load@example.org", "phone": "", "tz": ""}
    return [page, browser.post(base, "/book/confirm", form)]
