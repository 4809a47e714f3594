"""Profile what every request pays, in process: time per request and cProfile's top functions.

    .venv/bin/python benchmarks/profile_requests.py [--requests 2000] [--top 25] [PATH ...]
    .venv/bin/python benchmarks/profile_requests.py --posts booking [--requests 300] [--top 25]

Builds the app on a temporary SQLite database with the demo clinic, warms each page once,
then serves it `--requests` times through the WSGI interface (no network, no client) and
prints microseconds per request; with --top, cProfile's most costly functions too. Under
load the absolute times drift, but the proportions between functions hold. With --posts, the
booking or questionnaire-step POSTs the wrk benchmark sends (distinct free times or drafts,
CSRF checked) are prepared first, then each is sent once.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_PATHS = ["/healthz", "/guide/", "/guide/risks", "/intake/start", "/no-such-page"]


def build_app(folder):
    """The app on a fresh SQLite database with the demo clinic."""
    from benchmarks.booking_bench import bench_config
    from booking import create_app

    app = create_app(bench_config(f"sqlite:///{folder}/profile.sqlite"))
    from booking.demo import seed_demo  # after create_app: the blueprints import each other in order
    from booking.extensions import db
    from booking.timeutil import utcnow

    with app.app_context():
        db.create_all()
        seed_demo(db.session, utcnow())
        db.session.commit()
    return app


def serve(app, path, count):
    """Call the WSGI app `count` times for GET `path`; seconds per request."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, base_url="http://127.0.0.1").get_environ()

    def start_response(status, headers, exc_info=None):
        return None

    started = time.perf_counter()
    for _ in range(count):
        body = app(dict(environ), start_response)
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()
    return (time.perf_counter() - started) / count


def serve_posts(app, posts):
    """Send each prepared (method, path, cookie, body) once; seconds per request."""
    from werkzeug.test import EnvironBuilder

    environs = [EnvironBuilder(method=method, path=path, base_url="http://127.0.0.1", data=body,
                               content_type="application/x-www-form-urlencoded",
                               headers={"Cookie": cookie}).get_environ()
                for method, path, cookie, body in posts]
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    started = time.perf_counter()
    for environ in environs:
        body = app(environ, start_response)
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()
    elapsed = time.perf_counter() - started
    refused = [status for status in statuses if not status.startswith(("302", "303"))]
    assert not refused, f"POSTs were refused: {refused[:3]}"
    return elapsed / len(environs)


def profile_posts(folder, kind, count, top):
    """Time (and with `top`, profile) `count` booking or questionnaire-step POSTs, CSRF checked."""
    from benchmarks import bench_prepare
    from benchmarks.booking_bench import bench_config
    from booking import create_app
    from booking.demo import seed_demo
    from booking.extensions import db
    from booking.timeutil import utcnow

    app = create_app(bench_config(f"sqlite:///{folder}/posts.sqlite", csrf=True))
    with app.app_context():
        db.create_all()
        seed_demo(db.session, utcnow())
        db.session.commit()
    prepare = bench_prepare.booking_posts if kind == "booking" else bench_prepare.step_posts
    posts = prepare(app, 2 * count + 20)
    serve_posts(app, posts[:20])  # warm
    print(f"{kind + ' POST':<28}{serve_posts(app, posts[20:20 + count]) * 1e6:>8.0f} µs")
    if top:
        print(profile_top(lambda: serve_posts(app, posts[20 + count:]), top, "cumulative"))


def profile_top(run, top, order):
    """cProfile's `top` most costly functions while `run()` runs, sorted by `order`, as text."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
    return out.getvalue()


def main():
    """Warm, time, profile, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0, help="also print cProfile's N most costly functions")
    parser.add_argument("--posts", choices=["booking", "step"], help="profile these POSTs instead of GETs")
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    args = parser.parse_args()
    import logging

    from benchmarks.hello_wsgi import app as hello

    with tempfile.TemporaryDirectory(prefix="profile-") as folder:
        app = build_app(folder)
        devnull = open(os.devnull, "w")
        for handler in logging.getLogger("booking").handlers:
            handler.stream = devnull  # the log line is still formatted and written, just not shown
        if args.posts:
            profile_posts(folder, args.posts, min(args.requests, 300), args.top)
            return 0
        serve(hello, "/", 100)
        print(f"{'hello':<28}{serve(hello, '/', args.requests) * 1e6:>8.0f} µs")
        for path in args.paths:
            serve(app, path, 50)  # warm: caches filled, templates compiled
            print(f"{path:<28}{serve(app, path, args.requests) * 1e6:>8.0f} µs")
            if args.top:
                print(profile_top(lambda: serve(app, path, args.requests), args.top, "cumulative"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
