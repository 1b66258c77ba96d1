"""Fixtures every test can use. The browser ones live in tests/browser.py (with their helpers)."""
from browser import chromium, lab, page  # noqa: F401  (registers the fixtures)
