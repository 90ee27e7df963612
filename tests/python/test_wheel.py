"""The wheel builds offline from the source tree, installs into a fresh venv
and works there (without the build tree's package or libpermadict)."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

SOURCE = os.environ.get("PERMADICT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

SMOKE = r"""
import permadict, sys
from permadict import Permadict
assert "site-packages" in permadict.__file__, permadict.__file__
with Permadict(sys.argv[1]) as d:
    d["k"] = {"zero": "a\x00b", 1: [b"\xff", 2**63 - 1, -0.0]}
with Permadict(sys.argv[1]) as d:
    assert d["k"] == {"zero": "a\x00b", 1: [b"\xff", 2**63 - 1, -0.0]}
    assert d.incr("n") == 1
print("wheel-ok", permadict.__version__)
"""


def run(cmd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, **kw)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_wheel__builds_offline_and_works_in_a_fresh_venv(tmp_path):
    # A copy of the parts the wheel is built from, so the build writes nothing
    # into the source tree.
    tree = tmp_path / "src"
    for part in ("lib/include", "lib/src", "swig", "bindings/python"):
        shutil.copytree(os.path.join(SOURCE, part), tree / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
         "--no-index", "-w", str(dist), str(tree / "bindings" / "python")])
    wheels = list(dist.glob("permadict-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "permadict/py.typed" in names and "permadict/__init__.py" in names
    assert any(n.startswith("permadict/_core") and n.endswith(".so") for n in names)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "--no-index", "--no-deps", str(wheels[0])])
    out = run([py, "-c", SMOKE, str(tmp_path / "w.db")], cwd=str(tmp_path))
    assert "wheel-ok" in out
