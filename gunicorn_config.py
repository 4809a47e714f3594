"""gunicorn settings for `make serve` (`-c gunicorn_config.py`): shared rate limits, or a refusal saying why.

Not named gunicorn.conf.py on purpose: gunicorn would load that for every app started here,
the benchmarks' bare hello app included.
"""

import os


def on_starting(server):
    """Before any worker starts: load the app once and check where its rate limits are counted."""
    from booking.serving import prepare

    prepare(server.app.wsgi(), server.cfg.workers, os.environ)
