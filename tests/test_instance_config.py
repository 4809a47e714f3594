"""`make run`'s instance/config.py: written once with fresh secrets, private, never overwritten."""

import os
import runpy
import stat

from cryptography.fernet import Fernet

from booking.instance_config import write_instance_config


def settings(path):
    """The settings the file defines, as the app would read them."""
    return {key: value for key, value in runpy.run_path(str(path)).items() if key.isupper()}


def test_written_once_with_usable_secrets_readable_only_by_the_owner(tmp_path):
    path = tmp_path / "instance" / "config.py"
    old_umask = os.umask(0)  # even a permissive umask must not widen the file's mode
    try:
        assert write_instance_config(str(path)) is True
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = settings(path)
    assert len(values["SECRET_KEY"]) >= 32
    Fernet(values["INTAKE_ENCRYPTION_KEYS"][0])  # a valid key, or this raises


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "config.py"
    assert write_instance_config(str(path)) is True
    first = path.read_text()
    assert write_instance_config(str(path)) is False
    assert path.read_text() == first
    other = tmp_path / "other.py"
    write_instance_config(str(other))
    assert settings(other)["SECRET_KEY"] != settings(path)["SECRET_KEY"]  # fresh secrets each installation
