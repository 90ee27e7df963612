"""Builds permadict._core for a wheel: SWIG on swig/permadict.i plus the C
library's own sources, linked against the system's SQLite and msgpack-c, so the
wheel needs no installed libpermadict. Metadata lives in pyproject.toml.

The sources are two directories up (this package sits in bindings/python of
the permadict tree); build output goes to <tree>/build/python-wheel, which is
ignored by git, instead of next to this file.
"""

import glob
import os
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)  # relative source names below are relative to this directory
ROOT = os.path.dirname(os.path.dirname(HERE))
INTERFACE = os.path.join(ROOT, "swig", "permadict.i")
LIB_SOURCES = sorted(glob.glob(os.path.join(ROOT, "lib", "src", "*.c")))
BUILD_BASE = os.path.join(ROOT, "build", "python-wheel")


class BuildSwigExt(build_ext):
    """Runs SWIG into the build directory (not next to the .i, as setuptools
    would), with -threads so the GIL is released around core calls."""

    def build_extension(self, ext):
        # setup() must name sources relatively (setuptools refuses absolute
        # ones); compile from absolute paths so objects land in build_temp.
        ext.sources = [os.path.normpath(os.path.join(HERE, s)) for s in ext.sources]
        super().build_extension(ext)

    def swig_sources(self, sources, extension):
        out = []
        for src in sources:
            if not src.endswith(".i"):
                out.append(src)
                continue
            gen_dir = os.path.join(self.build_temp, "swig")
            os.makedirs(gen_dir, exist_ok=True)
            wrapper = os.path.join(gen_dir, "permadict_wrap.c")
            subprocess.check_call([
                "swig", "-python", "-threads",
                "-I" + os.path.join(ROOT, "lib", "include"),
                "-I" + os.path.join(ROOT, "swig"),
                "-outdir", gen_dir, "-o", wrapper, src])
            out.append(wrapper)
        return out


if not LIB_SOURCES or not os.path.exists(INTERFACE):
    raise SystemExit(f"permadict sources not found under {ROOT}: build the wheel from "
                     "bindings/python inside the permadict source tree")

setup(
    ext_modules=[Extension(
        "permadict._core",
        sources=[os.path.relpath(s, HERE) for s in [INTERFACE] + LIB_SOURCES],
        include_dirs=[os.path.join(ROOT, "lib", "include"), os.path.join(ROOT, "lib", "src")],
        define_macros=[("_GNU_SOURCE", None), ("PERMADICT_STATIC", None)],
        libraries=["sqlite3", "msgpackc"],
        extra_compile_args=["-std=c11", "-fvisibility=hidden", "-Wno-unused-parameter"],
    )],
    cmdclass={"build_ext": BuildSwigExt},
    options={"build": {"build_base": BUILD_BASE},
             "egg_info": {"egg_base": BUILD_BASE}},
)
