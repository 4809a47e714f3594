"""The app factory and its configuration."""

import pytest

from booking import ConfigurationError, create_app
from booking.config import settings_from_environment
from tests.conftest import TEST_SEARCH_KEY, TEST_SECRET_KEY, base_test_config


def test_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def test_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="32 characters"):
        create_app({"SECRET_KEY": "changeme", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_refuses_an_unknown_time_zone():
    with pytest.raises(ConfigurationError, match="IANA"):
        create_app({"SECRET_KEY": TEST_SECRET_KEY, "PATIENT_SEARCH_KEY": TEST_SEARCH_KEY, "CLINIC_TIMEZONE": "Mars/Olympus"})


def test_production_is_the_default_and_cookies_are_secure(monkeypatch):
    monkeypatch.delenv("BOOKING_ENV", raising=False)
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "PATIENT_SEARCH_KEY": TEST_SEARCH_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["BOOKING_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_mode_allows_plain_http_cookies(monkeypatch):
    monkeypatch.setenv("BOOKING_ENV", "development")
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "PATIENT_SEARCH_KEY": TEST_SEARCH_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_sqlite_file_in_the_instance_folder_by_default():
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "PATIENT_SEARCH_KEY": TEST_SEARCH_KEY})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{app.instance_path}/booking.sqlite"


def test_environment_settings_are_read_and_typed():
    found = settings_from_environment({
        "DATABASE_URL": "postgres://u@h/db", "CLINIC_TIMEZONE": "Australia/Sydney",
        "MAIL_SMTP_PORT": "2525", "UNRELATED": "x",
    })
    assert found == {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/db",
                     "CLINIC_TIMEZONE": "Australia/Sydney", "MAIL_SMTP_PORT": 2525}


def test_instance_config_and_environment_are_applied(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(f"SECRET_KEY = {TEST_SECRET_KEY!r}\nPATIENT_SEARCH_KEY = {TEST_SEARCH_KEY!r}\nCLINIC_NAME = 'From file'\n")
    monkeypatch.setenv("CLINIC_PHONE", "555 0199")
    import booking

    monkeypatch.setattr(booking, "BookingFlask", _flask_with_instance(tmp_path))
    app = create_app()
    assert app.config["CLINIC_NAME"] == "From file"
    assert app.config["CLINIC_PHONE"] == "555 0199"


def _flask_with_instance(path):
    from booking import BookingFlask

    def build(*args, **kwargs):
        return BookingFlask(*args, instance_path=str(path), **kwargs)

    return build


def test_the_factory_creates_no_files(tmp_path):
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "PATIENT_SEARCH_KEY": TEST_SEARCH_KEY,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/never.sqlite"})
    with app.test_client() as client:
        client.get("/guide/")
    assert not (tmp_path / "never.sqlite").exists() or (tmp_path / "never.sqlite").stat().st_size == 0


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_reports_a_dead_database(tmp_path):
    app = create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_refuses_to_start_without_a_search_key_of_its_own(tmp_path):
    config = base_test_config(tmp_path)
    for bad in (None, "short", config["SECRET_KEY"]):
        with pytest.raises(ConfigurationError, match="PATIENT_SEARCH_KEY"):
            create_app({**config, "PATIENT_SEARCH_KEY": bad})
