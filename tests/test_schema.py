"""One schema of result columns: every column a batch writes is described (name, unit, meaning),
the engine's reserved columns are the schema's, and the HDF5 file carries the units."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from xrdkit import schema
from xrdkit.results import RESERVED_COLUMNS, SUMMARY_GROUP


def test_engine_columns_are_the_results_stores_reserved_columns() -> None:
    assert {c.name for c in schema.ENGINE_COLUMNS} == set(RESERVED_COLUMNS)


def test_table_columns_are_described() -> None:
    assert all(schema.describe(c) is not None for c in schema.TABLE_COLUMNS)


@pytest.mark.parametrize(("name", "expected"), [
    ("wt_al", (schema.WEIGHT_FRACTION, "al")),
    ("wt_sigma_al", (schema.WEIGHT_FRACTION_SIGMA, "al")),
    ("lattice_a_sigma_nbh-fcc", (schema.LATTICE_A_SIGMA, "nbh-fcc")),
    ("lattice_alpha_x", (schema.LATTICE_ALPHA, "x")),
])
def test_the_longest_prefix_names_the_family(name: str, expected) -> None:
    family, phase = expected
    assert schema.phase_of(family, name) == phase
    others = [f for f in schema.PHASE_COLUMNS if f is not family]
    assert all(schema.phase_of(f, name) is None for f in others)
    assert schema.describe(name).unit == family.unit


def test_unknown_columns_are_not_described() -> None:
    assert schema.describe("wt_") is None
    assert schema.describe("purity") is None


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    """Two bundled electrode scans through the real batch analysis."""
    from xrdkit.analysis import AnalysisConfig, analyse_scan, make_tasks
    from xrdkit.batch import run_batch
    from xrdkit.data import example_file
    from xrdkit.hdf5 import list_scans
    from xrdkit.instrument import load_instrument

    refs = list_scans(str(example_file("electrodes.h5")))[:2]
    config = AnalysisConfig(electrode_phases=("nacro2", "al"), instrument=load_instrument("miniflex600-cuka"))
    out = tmp_path_factory.mktemp("schema") / "r.h5"
    run_batch(make_tasks(refs, config), analyse_scan, out, workers=1, progress=False)
    return out


def test_every_column_a_batch_writes_is_described(results_file: Path) -> None:
    with h5py.File(results_file) as f:
        names = list(f[SUMMARY_GROUP])
    undescribed = [n for n in names if schema.describe(n) is None]
    assert undescribed == []
    assert {c.name for c in schema.SUMMARY_COLUMNS} <= set(names)


def test_annotate_gives_units_and_long_names(results_file: Path) -> None:
    n = schema.annotate(results_file)
    with h5py.File(results_file) as f:
        g = f[SUMMARY_GROUP]
        assert n == len(g)
        assert g[schema.PURITY.name].attrs["units"] == "1"
        assert g["lattice_a_nbh-fcc"].attrs["units"] == "angstrom"
        assert "units" not in g[schema.VERDICT.name].attrs
        assert "fcc" in g[schema.VERDICT.name].attrs["long_name"]
    assert schema.annotate(results_file) == 0  # already annotated

