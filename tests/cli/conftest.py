"""Shared fixtures for the CLI tests: the tool under test and a scratch dir.

PERMADICT_CLI names the built binary (ctest sets it). Temp files go under
$PD_TEST_TMP when set, else the system temp dir, never into the repository.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

CLI = os.environ.get("PERMADICT_CLI")


def pytest_configure(config):
    if not CLI or not os.access(CLI, os.X_OK):
        raise pytest.UsageError(
            "set PERMADICT_CLI to the built permadict binary (ctest does this)")


class Run:
    """One finished run of the tool."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.out_bytes = proc.stdout
        self.out = proc.stdout.decode("utf-8")
        self.err = proc.stderr.decode("utf-8", "replace")

    def lines(self):
        return self.out.splitlines()

    def __repr__(self):
        return f"<exit {self.code} out={self.out!r} err={self.err!r}>"


def permadict(*args, stdin=None):
    """Run the tool with args; stdin is str or bytes."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    proc = subprocess.run([CLI, *map(str, args)], input=stdin,
                          capture_output=True, timeout=60)
    return Run(proc)


def ok(*args, stdin=None):
    """Run and require exit 0 with nothing on stderr."""
    r = permadict(*args, stdin=stdin)
    assert r.code == 0 and r.err == "", r
    return r


def assert_one_line_error(r, code, subject=None):
    """Exit code code, nothing on stdout's behalf, one stderr line
    'permadict: SUBJECT: cause'."""
    assert r.code == code, r
    lines = r.err.splitlines()
    assert len(lines) == 1 and r.err.endswith("\n"), r
    prefix = "permadict: " + (f"{subject}: " if subject else "")
    assert lines[0].startswith(prefix) and len(lines[0]) > len(prefix), r
    return lines[0]


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def tmp():
    base = os.environ.get("PD_TEST_TMP")
    if base:
        os.makedirs(base, exist_ok=True)
    d = tempfile.mkdtemp(prefix="pd-cli-", dir=base)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def db(tmp):
    """Path of a permadict file that does not exist yet."""
    return os.path.join(tmp, "app.db")
