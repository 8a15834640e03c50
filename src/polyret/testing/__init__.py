"""Tiny offline models and fixtures for tests and smoke runs."""
