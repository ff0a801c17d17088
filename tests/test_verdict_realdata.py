"""Negative controls on real measured scans: no closo-borate → ``no-borate``, no purity.

The real scans in ``../shared/realdata`` (see its README) hold no borate at all: the IUCr CPD
round-robin sample 2 (corundum, zincite, fluorite, brucite) and the FAIRmat PANalytical and Rigaku
reader fixtures (quartz-like lab samples). They are run exactly as a user would, through
``xrdkit identify FILE --json OUT``, and the JSON contract keys (``verdict``,
``fcc_weight_fraction``, ``amorphous_intensity_share``) are read.
"""

from __future__ import annotations

import json

import pytest

from xrdkit.cli import main
from xrdkit.vocabulary import Verdict

NO_BORATE_SCANS = (
    "cpd_qpa/cpd-2.prn",
    "xrd_formats/XRD-918-16_10.xrdml",
    "xrd_formats/TwoTheta_scan_powder.rasx",
)


@pytest.mark.slow
@pytest.mark.parametrize("relpath", NO_BORATE_SCANS)
def test_real_borate_free_scan_is_no_borate(realdata, tmp_path, relpath):
    out = tmp_path / "verdict.json"
    assert main(["identify", str(realdata / relpath), "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["verdict"] == Verdict.NO_BORATE
    assert d["borate_present"] is False
    assert d["fcc_weight_fraction"] is None and d["fcc_weight_fraction_sigma"] is None
    assert 0.0 <= d["amorphous_intensity_share"] <= 1.0
    assert d["evidence"]["presence"]["nbh-fcc"]["present"] is False
