"""Entry point for gunicorn: `gunicorn wsgi:app`."""

from booking import create_app
from booking.serving import settle_heap

app = create_app()
settle_heap()  # after the app is built: see settle_heap
