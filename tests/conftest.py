"""Fixtures every test can use. The browser ones live in tests/browser.py (with their helpers)."""
import pytest
from browser import chromium, lab, page  # noqa: F401  (registers the fixtures)

from course_utils import data


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty offline source folder and an empty (not yet created) writable cache."""
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    monkeypatch.setenv(data.DATA_ENV, str(src))
    monkeypatch.setenv(data.CACHE_ENV, str(cache))
    return src, cache
