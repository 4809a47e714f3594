"""Delivery backends: a folder of .eml files (the default) or SMTP with STARTTLS.

A backend's `batch()` is a context manager giving a channel whose `send(message, outbox_id)`
delivers one message and returns only once it is delivered (written, or answered 250 by the
mail server); the sender marks the message sent straight after.
"""

import os
import smtplib
import ssl
import tempfile
import time
from contextlib import nullcontext
from email.policy import SMTP as SMTP_POLICY


# However a server spreads its replies, one message's send (opening the connection too, when
# the batch needs one) is given up after this long and retried later. Counted per command, a
# send could otherwise wait MAIL_SMTP_TIMEOUT (20 s) at each of some 15 steps: connecting (to
# each of the host's addresses), the greeting, EHLO, STARTTLS and its handshake, EHLO again, up
# to five AUTH exchanges, MAIL, RCPT, DATA, the data, the reply, and RSET after a refusal: five
# minutes and more. This bound is what a sender's lease (OUTBOX_CLAIM_TIMEOUT_SECONDS) is
# measured against.
SEND_DEADLINE_SECONDS = 60


class DeliveryError(Exception):
    """A message could not be delivered this time; the sender will retry it."""


class DeadlineSMTP(smtplib.SMTP):
    """smtplib.SMTP whose every wait (connecting, each write, each reply) also ends by `deadline`,
    a time.monotonic() reading (None: only the per-command timeout applies).

    Raises TimeoutError once the deadline has passed. What it cannot cut short: the name lookup
    (the system resolver's own timeouts), connecting to a host of several addresses (each gets
    the time left when connecting began), and a server trickling one reply out byte by byte
    (each byte gets the time left when the reply began). The lease's margin is for these.
    """

    deadline = None

    def _wait(self):
        """Seconds the next wait may take: the per-command timeout, or less if the deadline is near."""
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out: the send deadline of this message passed")
        return min(self.timeout, left)

    def _get_socket(self, host, port, timeout):
        """The connected socket, connecting within the time left."""
        return super()._get_socket(host, port, self._wait())

    def send(self, s):
        """Write `s` within the time left."""
        if self.sock:
            self.sock.settimeout(self._wait())
        super().send(s)

    def getreply(self):
        """Read the server's reply within the time left."""
        if self.sock:
            self.sock.settimeout(self._wait())
        return super().getreply()


class FolderBackend:
    """Write each message as `<outbox id>.eml` in a folder, so `make run` shows real mail."""

    name = "folder"

    def __init__(self, directory):
        self.directory = directory

    def batch(self):
        """The folder is its own channel: nothing to open or close."""
        return nullcontext(self)

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

    def __init__(self, host, port=587, username=None, password=None, starttls=True, timeout=20,
                 send_deadline=SEND_DEADLINE_SECONDS):
        self.host, self.port = host, int(port)
        self.username, self.password = username, password
        self.starttls, self.timeout, self.send_deadline = starttls, timeout, send_deadline

    def connect(self, deadline=None):
        """An open connection, greeted, upgraded to TLS and signed in as configured, by `deadline`
        (a time.monotonic() reading; see DeadlineSMTP)."""
        smtp = DeadlineSMTP(timeout=self.timeout)
        smtp.deadline = deadline
        try:
            smtp.connect(self.host, self.port)
            smtp.ehlo()
            if self.starttls:
                # No fallback to plain text: a server without STARTTLS is an error to fix.
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def batch(self):
        """One connection for a batch of messages (see SMTPBatch)."""
        return SMTPBatch(self)


class SMTPBatch:
    """One SMTP connection shared by a batch of messages: opened at the first send (before that
    message's MAIL FROM, so no connection work falls between the server's 250 and the sender's
    mark), dropped after an error (the next send opens a fresh one), closed with QUIT at the end.
    """

    def __init__(self, backend):
        self.backend, self.smtp = backend, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.smtp is not None:
            self.smtp.deadline = None  # the goodbye belongs to no message
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()  # every message is already marked; a failed goodbye changes nothing
            self.smtp = None

    def send(self, message, outbox_id):
        """Deliver one message; returns once the server has accepted it (250 after DATA), within
        the backend's `send_deadline` seconds, connecting included.

        Raises DeliveryError (or an OSError/SMTPException, TimeoutError past the deadline) on failure.
        """
        deadline = time.monotonic() + self.backend.send_deadline
        if self.smtp is None:
            self.smtp = self.backend.connect(deadline)
        self.smtp.deadline = deadline
        try:
            # send_message flattens the message before MAIL FROM and returns on the DATA reply.
            refused = self.smtp.send_message(message)
        except BaseException:
            self.smtp.close()
            self.smtp = None
            raise
        if refused:
            raise DeliveryError(f"recipient refused: {sorted(refused.values())}")


def backend_from_config(config, instance_path):
    """SMTP when MAIL_SMTP_HOST is set, otherwise the .eml folder."""
    if config.get("MAIL_SMTP_HOST"):
        return SMTPBackend(config["MAIL_SMTP_HOST"], config.get("MAIL_SMTP_PORT") or 587,
                           config.get("MAIL_SMTP_USERNAME"), config.get("MAIL_SMTP_PASSWORD"),
                           starttls=config.get("MAIL_SMTP_STARTTLS", True),
                           timeout=config.get("MAIL_SMTP_TIMEOUT", 20))
    return FolderBackend(config.get("OUTBOX_DIR") or os.path.join(instance_path, "outbox"))
