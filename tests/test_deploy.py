"""The deployment files in deploy/ render for this checkout, pass `systemd-analyze verify` and
`nginx -t`, and nginx in front of gunicorn passes the client address as TRUSTED_PROXIES = 1 expects.
"""

import importlib.util
import os
import pwd
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import require_or_skip

ROOT = Path(__file__).resolve().parent.parent
UNITS = ("booking-web.service", "booking-outbox.service", "booking-reminders.service", "booking-reminders.timer",
         "booking-purge.service", "booking-purge.timer")


def load_renderer():
    spec = importlib.util.spec_from_file_location("deploy_render", ROOT / "deploy" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_certificate(folder):
    """A self-signed certificate and key for the nginx site (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
                   .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    cert, private = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, private


def rendered(tmp_path, **values):
    """Every deployment file rendered with this checkout's paths and this Python's virtualenv."""
    renderer = load_renderer()
    settings = renderer.defaults(ROOT)
    settings.update(VENV=str(Path(sys.executable).parent.parent), USER="root", **values)
    renderer.render_all(tmp_path / "deploy", settings)
    return tmp_path / "deploy"


def tool(name):
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if not found:
        require_or_skip(f"{name} is not installed (.ci/run installs it)")
    return found


def test_every_placeholder_is_filled(tmp_path):
    folder = rendered(tmp_path)
    for path in folder.iterdir():
        text = path.read_text()
        assert "@" not in text.replace("$remote_addr", ""), path.name
    assert f"WorkingDirectory={ROOT}" in (folder / "booking-web.service").read_text()


def test_systemd_units_verify(tmp_path):
    analyze = tool("systemd-analyze")
    folder = rendered(tmp_path)
    result = subprocess.run([analyze, "verify", *[str(folder / unit) for unit in UNITS]], capture_output=True,
                            text=True, timeout=120)
    # verify exits 0 on unknown keys but warns about them: any word about our files is a defect.
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "booking-" in line]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr


def nginx_main_config(tmp_path, site):
    """A minimal nginx.conf around the site, with every runtime file in tmp_path."""
    config = tmp_path / "nginx.conf"
    temp = tmp_path / "nginx-temp"
    temp.mkdir(exist_ok=True)
    # Workers run as this test's own user: nginx's default ("nobody") cannot read a checkout
    # inside a private folder, such as the one CI clones into.
    user = pwd.getpwuid(os.geteuid()).pw_name
    config.write_text(
        f"user {user};\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/nginx-error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n client_body_temp_path {temp}/body;\n"
        f" proxy_temp_path {temp}/proxy;\n fastcgi_temp_path {temp}/fastcgi;\n uwsgi_temp_path {temp}/uwsgi;\n"
        f" scgi_temp_path {temp}/scgi;\n include {site};\n}}\n")
    return config


def test_nginx_site_passes_nginx_t(tmp_path):
    nginx = tool("nginx")
    cert, key = write_certificate(tmp_path)
    folder = rendered(tmp_path, TLS_CERT=str(cert), TLS_KEY=str(key))
    config = nginx_main_config(tmp_path, folder / "booking-nginx.conf")
    result = subprocess.run([nginx, "-t", "-c", str(config), "-e", str(tmp_path / "nginx-error.log")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def fetch(url, headers=None, data=None):
    """(status, body) over HTTPS, trusting the test's own certificate."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.multi_instance
def test_nginx_in_front_of_gunicorn_serves_static_files_and_passes_the_real_client_address(tmp_path):
    """Through the rendered site: static files come from booking/static, and a client that
    forges X-Forwarded-For is still counted under the address nginx saw (TRUSTED_PROXIES = 1)."""
    from tests.conftest import base_test_config
    from tests.multi.cluster import Processes, flask, free_port

    nginx = tool("nginx")
    app_port, https_port = free_port(), free_port()
    # Its own SQLite file on either pass: the subject is nginx, not the database.
    config = base_test_config(tmp_path, TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT="2 per minute",
                              SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'deploy.sqlite'}")
    flask(config, "db", "upgrade")
    cert, key = write_certificate(tmp_path)
    folder = rendered(tmp_path, TLS_CERT=str(cert), TLS_KEY=str(key), PORT=str(app_port),
                      HTTP_PORT=str(free_port()), HTTPS_PORT=str(https_port))
    site = folder / "booking-nginx.conf"
    site.write_text(site.read_text().replace("/var/log/nginx/booking.access.log", str(tmp_path / "access.log")))
    main = nginx_main_config(tmp_path, site)
    processes = Processes(config, tmp_path)
    try:
        processes.gunicorn_on(app_port, "behind-nginx", workers=1)  # memory:// limits count per process
        processes.start("nginx", [nginx, "-c", str(main), "-e", str(tmp_path / "nginx-error.log"),
                                  "-g", "daemon off;"])
        base = f"https://127.0.0.1:{https_port}"
        from tests.multi.cluster import wait_until_answers

        wait_until_answers(lambda: fetch(base + "/healthz")[0] == 200)
        status, css = fetch(base + "/static/css/site.css")
        assert status == 200 and css == (ROOT / "booking" / "static" / "css" / "site.css").read_bytes()
        form = b"email=nobody%40clinic.example&password=wrong+password+123"
        statuses = [fetch(base + "/staff/login", {"X-Forwarded-For": f"10.9.8.{n}"}, form)[0] for n in range(3)]
        assert statuses == [401, 401, 429]
    finally:
        processes.stop_all()
