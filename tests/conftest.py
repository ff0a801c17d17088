"""Shared fixtures: the real measured data in ../shared/realdata, a seeded RNG, the phase
library and the lab instrument preset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
#: Real measured data (read-only) beside the repository, or where CLOSOKIT_SHARED points.
SHARED = Path(os.environ.get("CLOSOKIT_SHARED", REPO.parent / "shared"))
REALDATA = SHARED / "realdata"
#: Plots and other artefacts tests leave for a person to look at.
ARTIFACTS = REPO / "test_artifacts"


@pytest.fixture()
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} not present")
    return REALDATA


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture()
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def library():
    """The bundled phase library."""
    from xrdkit.phases import PhaseLibrary

    return PhaseLibrary()


@pytest.fixture(scope="module")
def instrument():
    """The MiniFlex600 Cu Kα preset the synthetic scans are made for."""
    from xrdkit.instrument import load_instrument

    return load_instrument("miniflex600-cuka")
