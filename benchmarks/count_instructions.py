"""Count the CPU instructions one request costs, in process, under valgrind's callgrind.

    .venv/bin/python benchmarks/count_instructions.py [--requests 1500] /guide/risks /healthz
    .venv/bin/python benchmarks/count_instructions.py --posts step [--requests 300]

The wall clock on a shared machine moves by 10-20% between identical runs; an instruction
count is the same whatever else the machine does, so it shows a change of a few percent that
wrk cannot. Each figure is one run of N requests less one run of none (the same start-up,
seeding excluded), divided by N; both runs go side by side under callgrind, some fifty times
slower than normal. SQLite, the demo clinic; the POSTs are the ones the wrk benchmark sends
(bench_prepare: distinct drafts or free times, CSRF checked), prepared before either run.
Needs valgrind (`apt-get install valgrind`).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOTALS = re.compile(r"^totals: (\d+)", re.MULTILINE)
WARM = 20  # requests before the counted ones: templates compiled, caches filled


def prepare(folder, kind, count):
    """Seed `folder`/template.sqlite with the demo clinic; with `kind`, write `count` prepared POSTs to posts.json."""
    from benchmarks.booking_bench import bench_config
    from booking import create_app

    app = create_app(bench_config(f"sqlite:///{folder}/template.sqlite", csrf=True))
    from booking.demo import seed_demo  # after create_app: the blueprints import each other in order
    from booking.extensions import db
    from booking.timeutil import utcnow

    with app.app_context():
        db.create_all()
        seed_demo(db.session, utcnow())
        db.session.commit()
    if kind:
        from benchmarks import bench_prepare

        posts = (bench_prepare.booking_posts if kind == "booking" else bench_prepare.step_posts)(app, count + WARM)
        Path(folder, "posts.json").write_text(json.dumps(posts))
    with app.app_context():
        db.engine.dispose()


def serve_counted(folder, target, count):
    """The measured process: a copy of the template database, WARM requests, then `count` of `target`."""
    import logging

    from benchmarks.booking_bench import bench_config
    from benchmarks.profile_requests import serve, serve_posts
    from booking import create_app

    scratch = tempfile.mkdtemp(dir=folder)
    shutil.copy(Path(folder, "template.sqlite"), Path(scratch, "run.sqlite"))
    app = create_app(bench_config(f"sqlite:///{scratch}/run.sqlite", csrf=True))
    devnull = open(os.devnull, "w")
    for handler in logging.getLogger("booking").handlers:
        handler.stream = devnull  # the access line is still formatted and written, just not shown
    if target in ("booking", "step"):
        posts = [tuple(post) for post in json.loads(Path(folder, "posts.json").read_text())]
        serve_posts(app, posts[:WARM])
        if count:
            serve_posts(app, posts[WARM:WARM + count])
    else:
        serve(app, target, WARM)
        if count:
            serve(app, target, count)


def instructions(folder, target, count):
    """Instructions per request of `target`: callgrind runs of `count` and of no requests, side by side."""
    runs = {}
    for n in (0, count):
        out = Path(folder, f"callgrind.{n}.out")
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                   "--serve", folder, target, str(n)]
        runs[n] = (subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out)
    totals = {}
    for n, (process, out) in runs.items():
        if process.wait() != 0:
            raise SystemExit(f"the callgrind run of {n} requests of {target} failed (exit {process.returncode})")
        totals[n] = int(TOTALS.search(out.read_text()).group(1))
    return (totals[count] - totals[0]) / count


def main():
    """Prepare once, then count each target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, help="requests per counted run (default 1500, POSTs 300)")
    parser.add_argument("--posts", choices=["booking", "step"], help="count these POSTs instead of GETs")
    parser.add_argument("--serve", nargs=3, metavar=("FOLDER", "TARGET", "N"), help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", default=["/guide/risks", "/healthz"])
    args = parser.parse_args()
    if args.serve:
        folder, target, count = args.serve
        serve_counted(folder, target, int(count))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    count = args.requests or (300 if args.posts else 1500)
    with tempfile.TemporaryDirectory(prefix="instructions-") as folder:
        prepare(folder, args.posts, count)
        for target in [args.posts] if args.posts else args.paths:
            label = f"{target} POST" if args.posts else target
            print(f"{label:<28}{instructions(folder, target, count) / 1e6:>8.2f} M instructions per request", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
