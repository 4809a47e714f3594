"""Appointments tables (filled in by the appointments feature)."""

__all__ = []
