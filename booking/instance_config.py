"""Write instance/config.py with fresh secrets, once: `python -m booking.instance_config PATH`.

Run by `make run`. An existing file is never touched, so keys survive restarts and the
encrypted intake answers stay readable.
"""

import base64
import os
import secrets
import sys

from booking.filemodes import PRIVATE_DIRECTORY, PRIVATE_FILE

TEMPLATE = '''"""Settings for this installation. Generated once by `make run`; keep it secret."""

SECRET_KEY = {secret_key!r}

# Fernet keys for intake answers. The first encrypts; all of them decrypt. To rotate, put a
# new key first, run `flask rotate-intake-key`, then remove the old key.
INTAKE_ENCRYPTION_KEYS = [{intake_key!r}]

# HMAC key of the patient search indexes (not an encryption key). After changing it, run
# `flask rotate-search-key`.
PATIENT_SEARCH_KEY = {search_key!r}
'''


def new_fernet_key():
    """A Fernet key: 32 random bytes, URL-safe base64."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def write_instance_config(path):
    """Create `path` with generated secrets unless it exists. Returns True if written."""
    if os.path.exists(path):
        return False
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=PRIVATE_DIRECTORY, exist_ok=True)
    # The checkout ships instance/ (for its .gitkeep) with the usual 0755; makedirs' mode is also
    # filtered by the umask. Either way the folder that will hold the secrets becomes owner-only.
    os.chmod(folder, PRIVATE_DIRECTORY)

    content = TEMPLATE.format(secret_key=secrets.token_urlsafe(48), intake_key=new_fernet_key(),
                              search_key=secrets.token_urlsafe(48))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    return True


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "instance/config.py"
    print(("Wrote " if write_instance_config(target) else "Kept existing ") + target)
