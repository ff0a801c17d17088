"""Patterns without diffraction signal never get a confident verdict (issue 19, item 4).

Flat counts and pure Poisson noise on a flat level, through ``xrdkit identify`` (text and
HDF5 input) and ``xrdkit batch``: the verdict must be ``no-borate`` and no purity may be
reported (``fcc_weight_fraction`` null / an empty CSV cell). The truth is by construction:
nothing but a constant (or its Poisson noise) was written, so no phase can be present.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.vocabulary import Verdict

#: 2θ grid of the test patterns (degrees): covers the NBH / Na2B12H12 lines and Al (111).
TWO_THETA_DEG = np.arange(12.0, 60.0, 0.02)
SEED = 20261205
#: Flat levels (counts per step) and noise levels tried.
LEVELS = (50.0, 2000.0)


def _patterns() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    out: dict[str, np.ndarray] = {}
    for level in LEVELS:
        out[f"flat-{level:g}"] = np.full(TWO_THETA_DEG.size, level)
        out[f"poisson-{level:g}"] = rng.poisson(level, TWO_THETA_DEG.size).astype(float)
    return out


PATTERNS = _patterns()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flat-50", "poisson-2000"])
def test_identify_gives_no_borate_without_signal(tmp_path: Path, name: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    scan = tmp_path / f"{name}.xy"
    np.savetxt(scan, np.c_[TWO_THETA_DEG, PATTERNS[name]], fmt="%.4f")
    out = tmp_path / "v.json"
    assert main(["identify", str(scan), "--json", str(out), "--phase", "al"]) == 0
    result = json.loads(out.read_text())
    assert result["verdict"] == Verdict.NO_BORATE, (name, result["verdict"], result.get("fcc_weight_fraction"))
    assert result["fcc_weight_fraction"] is None and result["fcc_weight_fraction_sigma"] is None
    line = capsys.readouterr().out.splitlines()[0]
    assert f": {Verdict.NO_BORATE}: no crystalline closo-borate detected" in line, line
    assert "fcc" not in line and "±" not in line, line  # no purity printed


@pytest.mark.slow
def test_batch_gives_no_borate_without_signal(tmp_path: Path) -> None:
    stack = tmp_path / "flat.h5"
    names = list(PATTERNS)
    with h5py.File(stack, "w") as f:
        g = f.create_group("stack")
        g.create_dataset("two_theta", data=TWO_THETA_DEG).attrs["units"] = "deg"
        g.create_dataset("counts", data=np.stack([PATTERNS[n] for n in names]))
    table = tmp_path / "t.csv"
    assert main(["batch", str(stack), "--out", str(tmp_path / "R.h5"), "--table", str(table),
                 "--workers", "1", "--phase", "al"]) == 0
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(names)
    got = {n: (r["verdict"], r["fcc_weight_fraction"]) for n, r in zip(names, rows, strict=True)}
    assert all(r["status"] == "ok" for r in rows), rows
    for n, (verdict, purity) in got.items():
        assert verdict == Verdict.NO_BORATE and purity == "", (n, got)
