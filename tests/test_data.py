"""xrdkit.data: the public way to the bundled reference data and example files.

Independent truth: the files on disk in the repository's ``reference_data/examples`` (listed here
with os.listdir, not through xrdkit) and the examples README's scan counts.
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

import xrdkit.data
from xrdkit.data import example_file, examples_dir, list_examples, reference_data_dir
from xrdkit.errors import InputError

REPO = Path(__file__).resolve().parent.parent
#: Scan counts per example file, from reference_data/examples/README.md.
README_SCAN_COUNTS = {"electrodes.h5": 5, "heating_stack.h5": 24, "isopropanol_series.h5": 12,
                      "methanol_series.h5": 8}


def test_reference_data_dir_is_the_repository_folder(monkeypatch):
    monkeypatch.delenv(xrdkit.data.REFERENCE_DATA_ENV, raising=False)
    assert reference_data_dir() == (REPO / "reference_data").resolve()


def test_reference_data_dir_follows_the_environment(monkeypatch, tmp_path):
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "mine.h5").write_bytes(b"")
    monkeypatch.setenv(xrdkit.data.REFERENCE_DATA_ENV, str(tmp_path))
    assert reference_data_dir() == tmp_path
    assert list_examples() == ["mine.h5"]
    assert example_file("mine") == (tmp_path / "examples" / "mine.h5").resolve()


def test_missing_reference_data_is_an_input_error(monkeypatch, tmp_path):
    monkeypatch.setenv(xrdkit.data.REFERENCE_DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="reference data folder not found"):
        reference_data_dir()
    monkeypatch.setenv(xrdkit.data.REFERENCE_DATA_ENV, str(tmp_path))  # exists, no examples/
    with pytest.raises(InputError, match="no examples folder"):
        examples_dir()


def test_list_examples_matches_the_folder():
    on_disk = sorted(f for f in os.listdir(REPO / "reference_data" / "examples") if f.endswith(".h5"))
    assert list_examples() == on_disk
    assert set(on_disk) == set(README_SCAN_COUNTS)


@pytest.mark.parametrize("name", sorted(README_SCAN_COUNTS))
def test_example_file_opens_with_the_documented_scans(name):
    from xrdkit.hdf5 import list_scans

    path = example_file(name)
    assert path.is_absolute() and path.is_file()
    assert path == example_file(name.removesuffix(".h5"))
    assert len(list_scans(path)) == README_SCAN_COUNTS[name]


def test_example_scan_reads_through_read_scan():
    from xrdkit.readers import read_scan

    scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
    assert scan.two_theta_deg.size == 4000  # README: 4,000 points, 5–59.986°
    assert scan.two_theta_deg[0] == pytest.approx(5.0)
    assert scan.two_theta_deg[-1] == pytest.approx(5 + 0.01375 * 3999)


@pytest.mark.parametrize("bad", ["nothing.h5", "README.md", "make_examples.py", "../phases",
                                 "examples/electrodes.h5", "", ".."])
def test_unknown_or_path_names_are_refused(bad):
    with pytest.raises(InputError) as info:
        example_file(bad)
    if "/" not in bad and bad not in ("", ".."):
        assert "electrodes.h5" in str(info.value)  # the message lists what there is


def test_docstring_examples_run():
    result = doctest.testmod(xrdkit.data, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
