"""The front door: ``import xrdkit`` is light and exports the verbs lazily."""

from __future__ import annotations

import subprocess
import sys

import xrdkit


def test_import_loads_nothing_heavy():
    code = ("import sys, time; t = time.perf_counter(); import xrdkit; dt = time.perf_counter() - t; "
            "print(dt, any(m in sys.modules for m in ('numpy', 'pymatgen', 'numba', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 1.0
    assert out[1] == "False"


def test_every_verb_resolves_and_is_listed():
    for name in xrdkit.__all__:
        assert getattr(xrdkit, name) is not None, name
    assert {"read_scan", "identify", "refine", "quantify", "run_batch", "predict_cell", "PhaseLibrary",
            "load_instrument", "Verdict"} <= set(dir(xrdkit))
    # a verb named like its module is that module, callable as the verb, whatever was imported first
    import xrdkit.identify as mod

    assert xrdkit.identify is mod and callable(xrdkit.identify) and callable(xrdkit.refine)
    assert mod.__class__.__name__ == "CallableModule"
    assert xrdkit.Verdict.NO_BORATE == "no-borate"
    import pytest

    with pytest.raises(AttributeError, match="no_such_verb"):
        xrdkit.no_such_verb  # noqa: B018


def test_irkit_exports_its_verbs():
    import irkit

    for name in irkit.__all__:
        assert getattr(irkit, name) is not None, name
    assert callable(irkit.read_spectrum) and callable(irkit.run_ir_batch)
