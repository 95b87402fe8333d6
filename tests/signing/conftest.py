"""Fixtures for tests/signing (helpers live in signing_support.py, importable by tests)."""

from signing_support import keydir, make_key

__all__ = ["keydir", "make_key"]
