"""HDF5 layouts: the real file in three layouts, and generated NeXus / stack / pyFAI / bare files.

Expected numbers come from outside xrdkit: the real scan's facts are those stated in
shared/realdata/README.md (PANalytical XRD-918-16_10: 5027 points, 2θ 4.0066–69.9994°,
maximum 100168 counts at ≈ 26.617°); generated files are checked against the arrays the test
wrote and against Bragg's law written out here (q = 4π sin θ / λ, d = λ / 2 sin θ).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest

from xrdkit import hdf5
from xrdkit.errors import InputError
from xrdkit.readers import read_scan, read_scans

CU_KA1_ANGSTROM = 1.540598  # the .xrdml's usedWavelength/kAlpha1
REAL_HDF5 = {
    "xrdml_918-16_10_ref.nxs": "nexus",
    "nomad_XRD-918-16_10.hdf5": "nexus",
    "nomad_XRD-918-16_10.xrdml.h5": "bare",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_real_scan(scan) -> None:
    assert scan.n_points == 5027
    assert scan.two_theta_deg[0] == pytest.approx(4.0066, abs=5e-5)
    assert scan.two_theta_deg[-1] == pytest.approx(69.9994, abs=5e-5)
    assert scan.counts.max() == 100168
    assert scan.two_theta_deg[np.argmax(scan.counts)] == pytest.approx(26.617, abs=1e-3)


# --------------------------------------------------------------------------- real files


@pytest.mark.parametrize("name", sorted(REAL_HDF5))
def test_real_layouts_detected_and_identical(realdata: Path, name: str) -> None:
    folder = realdata / "xrd_formats"
    path = folder / name
    before = _sha256(path)
    refs = hdf5.list_scans(path)  # isolated probe (default)
    assert refs == hdf5.list_scans(path, timeout_s=None)  # same as in-process
    assert len(refs) == 1 and refs[0].layout == REAL_HDF5[name]
    scan = hdf5.read_ref(refs[0])
    _check_real_scan(scan)
    assert name in scan.source
    # the same arrays as the .xrdml itself
    xml = read_scan(folder / "XRD-918-16_10.xrdml")
    np.testing.assert_allclose(scan.two_theta_deg, xml.two_theta_deg, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(scan.counts, xml.counts)
    # and through the generic entry points
    np.testing.assert_array_equal(read_scan(f"{path}::/entry").counts, xml.counts)
    np.testing.assert_array_equal(read_scans(path)[0].counts, xml.counts)
    assert _sha256(path) == before, "reading must not modify the source file"


def test_real_wavelength_and_nonascii_units(realdata: Path) -> None:
    # nomad file stores k_alpha_one@units = 'Å' (non-ASCII) and has an empty NXdata q_data
    ref = hdf5.list_scans(realdata / "xrd_formats" / "nomad_XRD-918-16_10.hdf5", timeout_s=None)[0]
    assert ref.wavelength_angstrom == pytest.approx(CU_KA1_ANGSTROM)
    bare = hdf5.list_scans(realdata / "xrd_formats" / "nomad_XRD-918-16_10.xrdml.h5",
                          timeout_s=None)[0]
    assert bare.wavelength_angstrom is None


# --------------------------------------------------------------------------- generators


def _pattern(n: int = 300, lo: float = 10.0, hi: float = 60.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    tth = np.linspace(lo, hi, n)
    y = 100 + 5000 * np.exp(-0.5 * ((tth - 30.0) / 0.1) ** 2)
    return tth, rng.poisson(y).astype(float)


def _nx(group: h5py.Group, cls: str) -> h5py.Group:
    group.attrs["NX_class"] = cls
    return group


def write_multi_entry_nexus(path: Path, temps: list[float]) -> list[np.ndarray]:
    written = []
    with h5py.File(path, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        for i, temp in enumerate(temps):
            tth, y = _pattern(seed=i)
            y = y + 1000 * i
            written.append(y)
            entry = _nx(f.create_group(f"entry{i + 1}"), "NXentry")
            entry.attrs["default"] = "data"
            sample = _nx(entry.create_group("sample"), "NXsample")
            sample["name"] = f"NBH-{i}"
            sample["temperature"] = temp
            sample["temperature"].attrs["units"] = "K"
            beam = _nx(entry.create_group("instrument/beam"), "NXbeam")
            beam["incident_wavelength"] = 0.1  # nm
            beam["incident_wavelength"].attrs["units"] = "nm"
            data = _nx(entry.create_group("data"), "NXdata")
            data.attrs["signal"] = "counts"
            data.attrs["axes"] = ["two_theta"]
            data["counts"] = y
            data["two_theta"] = tth
            data["two_theta"].attrs["units"] = "degrees"
    return written


def write_stack(path: Path, n_scans: int = 6, *, with_time: bool = True) -> np.ndarray:
    tth, _ = _pattern()
    rows = np.array([_pattern(seed=10 + i)[1] for i in range(n_scans)])
    with h5py.File(path, "w") as f:
        g = f.create_group("insitu")
        g["two_theta"] = tth
        g["two_theta"].attrs["units"] = "deg"
        g["intensity"] = rows
        g["temperature"] = np.linspace(300, 500, n_scans)
        if with_time:
            g["time"] = np.arange(n_scans)[::-1] * 60.0  # written newest first
        g.attrs["wavelength"] = CU_KA1_ANGSTROM
    return rows


def write_pyfai(path: Path, radial: np.ndarray, unit: str, intensity: np.ndarray,
                errors: np.ndarray, wavelength_angstrom: float | None) -> None:
    """The layout of pyFAI's ``save_NXmonpd`` (pyFAI/io/nexus.py), written by hand."""
    with h5py.File(path, "w") as f:
        entry = _nx(f.create_group("entry"), "NXentry")
        entry["definition"] = "NXmonopd"
        proc = _nx(entry.create_group("pyFAI"), "NXprocess")
        proc["program"] = "pyFAI"
        inst = _nx(entry.create_group("beamline"), "NXinstrument")
        if wavelength_angstrom is not None:
            mono = _nx(inst.create_group("monochromator"), "NXcrystal")
            mono["wavelength"] = wavelength_angstrom
            mono["wavelength"].attrs["units"] = "angstrom"
        det = _nx(inst.create_group("Pilatus"), "NXdetector")
        pa = det.create_dataset("polar_angle", data=radial)
        pa.attrs["axis"] = "1"
        pa.attrs["units"] = unit
        det["data"] = intensity
        det["data"].attrs["signal"] = "1"
        det["errors"] = errors
        res = _nx(entry.create_group("results"), "NXdata")
        res["polar_angle"] = pa
        res["data"] = det["data"]
        res["errors"] = det["errors"]
        res.attrs["signal"] = "data"
        res.attrs["axes"] = ["polar_angle"]
        entry.attrs["default"] = "results"


# --------------------------------------------------------------------------- generated


def test_multi_entry_nexus_ordered_by_temperature(tmp_path: Path) -> None:
    path = tmp_path / "multi.nxs"
    temps = [450.0, 300.0, 375.0]
    written = write_multi_entry_nexus(path, temps)
    refs = hdf5.list_scans(path, timeout_s=None)
    assert [r.layout for r in refs] == ["nexus"] * 3
    assert [r.metadata["temperature"] for r in refs] == sorted(temps)
    assert refs[0].metadata["sample_name"] == "NBH-1"
    scans = list(hdf5.iter_scans(refs))
    for ref, scan in zip(refs, scans, strict=True):
        i = temps.index(ref.metadata["temperature"])
        np.testing.assert_array_equal(scan.counts, written[i])
        assert scan.wavelength_angstrom == pytest.approx(1.0)  # 0.1 nm
        assert scan.source.endswith(f"entry{i + 1}/data")
    one = read_scan(f"{path}::/entry2")
    np.testing.assert_array_equal(one.counts, written[1])
    with pytest.raises(InputError, match="3 scans match"):
        read_scan(path)


def test_stack_ordered_by_time_with_row_metadata(tmp_path: Path) -> None:
    path = tmp_path / "stack.h5"
    rows = write_stack(path)
    refs = hdf5.list_scans(path, timeout_s=None)
    assert {r.layout for r in refs} == {"stack"}
    assert [r.metadata["time"] for r in refs] == sorted(r.metadata["time"] for r in refs)
    assert [r.index for r in refs] == [5, 4, 3, 2, 1, 0]
    for r in refs:
        scan = hdf5.read_ref(r)
        np.testing.assert_array_equal(scan.counts, rows[r.index])
        assert scan.metadata["temperature"] == pytest.approx(np.linspace(300, 500, 6)[r.index])
        assert scan.wavelength_angstrom == pytest.approx(CU_KA1_ANGSTROM)
    third = read_scan(f"{path}::/insitu[3]")
    np.testing.assert_array_equal(third.counts, rows[3])
    # picklable references: batch workers receive these, never handles
    assert pickle.loads(pickle.dumps(refs[2])) == refs[2]


def test_stack_without_time_ordered_by_temperature(tmp_path: Path) -> None:
    path = tmp_path / "stack_t.h5"
    write_stack(path, 4, with_time=False)
    refs = hdf5.list_scans(path, timeout_s=None)
    assert [r.index for r in refs] == [0, 1, 2, 3]


@pytest.mark.parametrize("unit,scale", [("q_nm^-1", 10.0), ("q_A^-1", 1.0), ("2th_deg", None)])
def test_pyfai_layout(tmp_path: Path, unit: str, scale: float | None) -> None:
    lam = 0.7293  # Å, a synchrotron wavelength
    tth = np.linspace(2.0, 30.0, 400)
    q_per_angstrom = 4 * np.pi * np.sin(np.radians(tth / 2)) / lam  # Bragg, written out here
    radial = tth if scale is None else q_per_angstrom * scale
    _, y = _pattern(400)
    err = np.sqrt(y) + 1.0
    path = tmp_path / "pyfai.h5"
    write_pyfai(path, radial, unit, y, err, lam)
    (ref,) = hdf5.list_scans(path, timeout_s=None)
    assert ref.layout == "pyfai"
    scan = hdf5.read_ref(ref)
    np.testing.assert_allclose(scan.two_theta_deg, tth, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(scan.sigma, err)
    assert scan.wavelength_angstrom == pytest.approx(lam)


def test_q_axis_needs_wavelength(tmp_path: Path) -> None:
    lam = CU_KA1_ANGSTROM
    tth = np.linspace(10, 80, 200)
    q = 4 * np.pi * np.sin(np.radians(tth / 2)) / lam
    _, y = _pattern(200)
    path = tmp_path / "q.h5"
    write_pyfai(path, q, "Å^-1", y, np.sqrt(y) + 1, None)  # non-ASCII unit, no wavelength
    with pytest.raises(InputError, match="no wavelength") as info:
        read_scan(path)
    assert "q.h5" in str(info.value)
    scan = read_scan(path, wavelength_angstrom=lam)
    np.testing.assert_allclose(scan.two_theta_deg, tth, atol=1e-9)


@pytest.mark.parametrize("descending", [False, True])
def test_d_axis_bare_group(tmp_path: Path, descending: bool) -> None:
    lam = CU_KA1_ANGSTROM
    tth = np.linspace(10, 80, 250)
    d = lam / (2 * np.sin(np.radians(tth / 2)))  # descending with 2θ
    _, y = _pattern(250)
    if not descending:
        d, y_file = d[::-1], y[::-1]
    else:
        y_file = y
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("scan")
        g["d"] = d
        g["d"].attrs["units"] = "angstrom"
        g["counts"] = y_file
        f.attrs["wavelength"] = lam
    (ref,) = hdf5.list_scans(path, timeout_s=None)
    assert ref.layout == "bare"
    scan = hdf5.read_ref(ref)
    np.testing.assert_allclose(scan.two_theta_deg, tth, atol=1e-9)
    np.testing.assert_array_equal(scan.counts, y)


def test_default_chain_and_two_d_nxdata(tmp_path: Path) -> None:
    path = tmp_path / "chain.nxs"
    tth, _ = _pattern()
    rows = np.array([_pattern(seed=s)[1] for s in range(3)])
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "scan"
        entry = _nx(f.create_group("scan"), "NXentry")
        entry.attrs["default"] = "sub"
        sub = _nx(entry.create_group("sub"), "NXsubentry")
        sub.attrs["default"] = "plot"
        data = _nx(sub.create_group("plot"), "NXdata")
        data.attrs["signal"] = "I"
        data.attrs["axes"] = [".", "tth"]
        data["I"] = rows
        data["tth"] = tth
        data["tth"].attrs["units"] = "deg"
        data["temperature"] = [500.0, 300.0, 400.0]
    refs = hdf5.list_scans(path, timeout_s=None)
    assert [r.layout for r in refs] == ["nexus-stack"] * 3
    assert [r.index for r in refs] == [1, 2, 0]  # by temperature
    np.testing.assert_array_equal(hdf5.read_ref(refs[0]).counts, rows[1])


def test_series_layer_keeps_units(tmp_path: Path) -> None:
    """The data-agnostic layer irkit uses: axis + units + signal, no conversion."""
    path = tmp_path / "ir.h5"
    wn = np.linspace(4000, 400, 500)
    absorb = np.exp(-0.5 * ((wn - 2480) / 20) ** 2)
    with h5py.File(path, "w") as f:
        e = _nx(f.create_group("entry"), "NXentry")
        g = _nx(e.create_group("spectrum"), "NXdata")
        g.attrs["signal"] = "absorbance"
        g.attrs["axes"] = "wavenumber"
        g["absorbance"] = absorb
        g["wavenumber"] = wn
        g["wavenumber"].attrs["units"] = "cm^-1"
    (ref,) = hdf5.find_1d_series(path)
    series = hdf5.read_series(ref)
    assert series.axis_units == "1/cm"
    np.testing.assert_array_equal(series.axis, wn)
    np.testing.assert_array_equal(series.signal, absorb)
    with pytest.raises(InputError, match="cannot be converted to 2θ"):
        hdf5.read_ref(ref)


def test_unrecognised_file_lists_contents(tmp_path: Path) -> None:
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f["calib/matrix"] = np.eye(3)
        f["notes"] = "hello"
    with pytest.raises(InputError, match="no 1-D scan found") as info:
        hdf5.list_scans(path, timeout_s=None)
    assert "/calib/matrix" in str(info.value) and "odd.h5" in str(info.value)


def test_spec_parsing() -> None:
    assert hdf5.split_spec("a.h5::/entry/data[12]") == ("a.h5", "/entry/data", 12)
    assert hdf5.split_spec("a.h5::entry") == ("a.h5", "/entry", None)
    assert hdf5.split_spec("a.h5") == ("a.h5", None, None)


def test_structure_probe_gives_up_with_input_error(tmp_path: Path) -> None:
    """A damaged file can hang libhdf5 inside C; the probe runs in a child and is bounded."""
    path = tmp_path / "slow.h5"
    write_stack(path, 3)
    with pytest.raises(InputError, match="did not finish reading the file structure") as info:
        hdf5.list_scans(path, timeout_s=0.01)
    assert "slow.h5" in str(info.value)
    with pytest.raises(InputError, match="no 1-D scan found"):  # errors cross the process
        bad = tmp_path / "nothing.h5"
        with h5py.File(bad, "w") as f:
            f["m"] = np.eye(2)
        hdf5.list_scans(bad)
