"""Outbox tables (filled in by the outbox feature)."""

__all__ = []
