"""Private-link tokens: random, shown once, stored only as a SHA-256 hash."""

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits; the design asks for at least 128
MAX_TOKEN_LENGTH = 128  # anything longer is not one of ours


def new_token():
    """A fresh URL-safe token for a private link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token):
    """The SHA-256 hex digest stored in place of `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def plausible_token(token):
    """Cheap shape check before any lookup: URL-safe characters and a sane length."""
    return bool(token) and len(token) <= MAX_TOKEN_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in token)


def same_token(token, stored_hash):
    """Constant-time comparison of a presented token with a stored hash."""
    return stored_hash is not None and hmac.compare_digest(token_hash(token), stored_hash)
