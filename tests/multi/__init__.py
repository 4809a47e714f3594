"""The multi-instance harness: real gunicorn and outbox processes on one database and one Redis."""
