"""Fill in the deployment files' @PLACEHOLDERS@ for one installation.

    python deploy/render.py --out /tmp/booking-deploy --app-dir /srv/booking --user booking \\
        --server-name book.clinic.example --tls-cert /etc/ssl/certs/book.pem --tls-key /etc/ssl/private/book.key

writes the systemd units and the nginx site into --out, ready to copy into place.
"""

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = ("booking-web.service", "booking-outbox.service", "booking-reminders.service", "booking-reminders.timer",
             "booking-purge.service", "booking-purge.timer", "booking-nginx.conf")
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def defaults(app_dir):
    """Settings for an installation at `app_dir` (the checkout), virtualenv in .venv."""
    app_dir = Path(app_dir)
    return {"APP_DIR": str(app_dir), "VENV": str(app_dir / ".venv"), "USER": "booking", "WORKERS": "4",
            "PORT": "8000", "HTTP_PORT": "80", "HTTPS_PORT": "443", "ENV_FILE": "/etc/booking/booking.env", "SERVER_NAME": "book.clinic.example",
            "TLS_CERT": "/etc/ssl/certs/booking.pem", "TLS_KEY": "/etc/ssl/private/booking.key"}


def render(text, values):
    """`text` with every @NAME@ replaced; KeyError names a placeholder without a value."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def render_all(out, values):
    """Write every template, rendered, into the folder `out`; returns the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TEMPLATES:
        target = out / name
        target.write_text(render((HERE / name).read_text(), values))
        written.append(target)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--app-dir", default=str(HERE.parent))
    for name in ("venv", "user", "workers", "port", "http-port", "https-port", "env-file", "server-name", "tls-cert", "tls-key"):
        parser.add_argument(f"--{name}")
    args = parser.parse_args()
    values = defaults(args.app_dir)
    for name, value in vars(args).items():
        if value is not None and name not in ("out", "app_dir"):
            values[name.upper()] = value
    for path in render_all(args.out, values):
        print(path)


if __name__ == "__main__":
    main()
