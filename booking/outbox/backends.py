"""Delivery backends: a folder of .eml files (the default) or SMTP with STARTTLS."""

import os
import smtplib
import ssl
import tempfile
from email.policy import SMTP as SMTP_POLICY


class DeliveryError(Exception):
    """A message could not be delivered this time; the sender will retry it."""


class FolderBackend:
    """Write each message as `<outbox id>.eml` in a folder, so `make run` shows real mail."""

    name = "folder"

    def __init__(self, directory):
        self.directory = directory

    def send(self, message, outbox_id):
        """Write the message; a retry overwrites the same file instead of adding a second."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"{int(outbox_id):08d}.eml")
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(message.as_bytes(policy=SMTP_POLICY))
            os.replace(temporary, path)  # atomic: a reader never sees half a message
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return path


class SMTPBackend:
    """Send through an SMTP server, upgrading to TLS with STARTTLS unless told not to."""

    name = "smtp"

    def __init__(self, host, port=587, username=None, password=None, starttls=True, timeout=20):
        self.host, self.port = host, int(port)
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, message, outbox_id):
        """Deliver one message; raises DeliveryError (or an OSError/SMTPException) on failure."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                # No fallback to plain text: a server without STARTTLS is an error to fix.
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            refused = smtp.send_message(message)
        if refused:
            raise DeliveryError(f"recipient refused: {sorted(refused.values())}")
        return None


def backend_from_config(config, instance_path):
    """SMTP when MAIL_SMTP_HOST is set, otherwise the .eml folder."""
    if config.get("MAIL_SMTP_HOST"):
        return SMTPBackend(config["MAIL_SMTP_HOST"], config.get("MAIL_SMTP_PORT") or 587,
                           config.get("MAIL_SMTP_USERNAME"), config.get("MAIL_SMTP_PASSWORD"),
                           starttls=config.get("MAIL_SMTP_STARTTLS", True),
                           timeout=config.get("MAIL_SMTP_TIMEOUT", 20))
    return FolderBackend(config.get("OUTBOX_DIR") or os.path.join(instance_path, "outbox"))
