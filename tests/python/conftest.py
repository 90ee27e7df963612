"""Shared fixtures: every test gets its own database file in a fresh temp directory."""

import os
import tempfile

import pytest


@pytest.fixture
def db_path():
    """A path for a new permadict file, under $PD_TEST_TMP when set."""
    base = os.environ.get("PD_TEST_TMP") or None
    with tempfile.TemporaryDirectory(prefix="pd-py-", dir=base) as d:
        yield os.path.join(d, "test.db")
