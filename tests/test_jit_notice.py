"""The first compilation of a closokit function in a process says so (one WARNING), so the
first run's ≈ 40 s of numba compiling is not a silent wait; loading from the cache says nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("numba")

CHILD = """
import logging, sys
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stdout)
import numba
import xrdkit._jit  # registers the notice

def ours(x):
    return x + 1.0
ours.__module__ = "xrdkit.fake_kernels"

def theirs(x):
    return x * 2.0

print("theirs", numba.njit(theirs)(1.0))          # someone else's function: no notice
print("ours", numba.njit(ours)(1.0))              # closokit's: the notice, once
def ours_too(x):
    return x - 1.0
ours_too.__module__ = "xrdkit.other_kernels"
print("ours_too", numba.njit(ours_too)(1.0))      # a second one: no second notice
"""


def test_one_notice_at_the_first_compilation_of_a_closokit_function() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    notices = [ln for ln in lines if ln.startswith("WARNING xrdkit._jit: compiling")]
    assert len(notices) == 1
    assert "xrdkit.fake_kernels.ours first" in notices[0] and "disk cache" in notices[0]
    # it comes after the foreign compile and before our result
    assert lines.index("theirs 2.0") < lines.index(notices[0]) < lines.index("ours 2.0")
    assert "ours_too 0.0" in lines
