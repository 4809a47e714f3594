"""Intake tables (filled in by the intake feature)."""

__all__ = []
