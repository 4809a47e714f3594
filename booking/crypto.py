"""Encryption at rest for health data: Fernet keys from configuration, rotatable.

INTAKE_ENCRYPTION_KEYS is a list of Fernet keys. The first encrypts; every key decrypts,
so a new key can be put first and old rows re-encrypted (`flask rotate-intake-key`)
before the old key is removed.
"""

import json
import threading

import cachetools
from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class EncryptionNotConfigured(RuntimeError):
    """No usable INTAKE_ENCRYPTION_KEYS: health data cannot be stored."""


class Cipher:
    """Encrypts and decrypts JSON-serialisable values with a MultiFernet."""

    def __init__(self, keys):
        keys = [keys] if isinstance(keys, (str, bytes)) else list(keys or [])
        if not keys:
            raise EncryptionNotConfigured(
                "INTAKE_ENCRYPTION_KEYS is empty. `make run` writes one into instance/config.py; "
                "or generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as error:
            raise EncryptionNotConfigured(f"INTAKE_ENCRYPTION_KEYS holds an invalid Fernet key: {error}") from error

    def encrypt(self, value):
        """Encrypt a JSON-serialisable value; returns text safe for a Text column."""
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def decrypt(self, token):
        """Decrypt what `encrypt` produced. Raises InvalidToken if no key fits."""
        if token is None:
            return None
        return json.loads(self._fernet.decrypt(token.encode()))

    def rotate(self, token):
        """Re-encrypt `token` under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()


def cipher_for(config):
    """The Cipher for an app's configuration (`app.config` or any mapping); one per key set, reused."""
    keys = config.get("INTAKE_ENCRYPTION_KEYS")
    return _cipher(keys if isinstance(keys, (str, bytes)) or keys is None else tuple(keys))


# A schedule page asks for the cipher once per patient name it shows (hundreds of times), and
# building one parses every key: a few key sets (the app's, a test's) are kept, keyed by the keys.
@cachetools.cached(cachetools.LRUCache(maxsize=8), lock=threading.Lock())
def _cipher(keys):
    return Cipher(keys)


__all__ = ["Cipher", "EncryptionNotConfigured", "InvalidToken", "cipher_for"]
