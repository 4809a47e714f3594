"""The real app with the benchmark's configuration (BENCH_DATABASE_URL), for gunicorn."""

import os

from benchmarks.booking_bench import bench_config
from booking import create_app
from booking.serving import settle_heap

app = create_app(bench_config(os.environ["BENCH_DATABASE_URL"], csrf=os.environ.get("BENCH_CSRF") == "1"))
settle_heap()  # as wsgi.py does
