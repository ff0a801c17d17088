"""File readers: real .xrdml / .rasx / Bruker .raw files and generated text files.

Independent checks: the .xrdml is compared with the NeXus conversion made by FAIRmat's
pynxtools (read here with plain h5py); the .rasx with its Profile0.txt parsed by numpy;
the Bruker RAW4 header with the absolute offsets FAIRmat's ``bruker_raw_parser.py``
documents for this file (a description made from the file, independent of our segment
walk); generated RAW4 files with a writer in this test.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from input_cases import write_raw4

from xrdkit.errors import InputError
from xrdkit.readers import (
    detect_format,
    read_bruker_raw_ranges,
    read_rasx,
    read_scan,
    read_scans,
    read_text_scan,
)

FORMATS = "xrd_formats"


# --------------------------------------------------------------------------- real files


def test_xrdml_matches_pynxtools_conversion(realdata: Path) -> None:
    folder = realdata / FORMATS
    scan = read_scan(folder / "XRD-918-16_10.xrdml")
    with h5py.File(folder / "xrdml_918-16_10_ref.nxs", "r") as f:
        tth = f["entry/experiment_result/two_theta"][()]
        counts = f["entry/experiment_result/intensity"][()]
        lam = f["entry/instrument/source/k_alpha_one"][()]
    np.testing.assert_allclose(scan.two_theta_deg, tth, atol=1e-9)
    np.testing.assert_array_equal(scan.counts, counts)
    assert scan.wavelength_angstrom == pytest.approx(lam)
    assert scan.metadata["anode"] == "Cu"
    assert scan.metadata["kalpha2_kalpha1_ratio"] == pytest.approx(0.5)


def test_xrdml_with_attenuation_factors(realdata: Path) -> None:
    path = realdata / FORMATS / "m54313_om2th_10.xrdml"
    text = path.read_text(encoding="utf-8")
    raw = np.array(re.search(r"<counts[^>]*>([^<]*)</counts>", text).group(1).split(), float)
    att = np.array(
        re.search(r"<beamAttenuationFactors>([^<]*)<", text).group(1).split(), float
    )
    start = float(re.search(r'axis="2Theta"[^>]*>\s*<startPosition>([^<]*)<', text).group(1))
    scan = read_scan(path)
    assert scan.n_points == raw.size == 1800
    assert scan.two_theta_deg[0] == pytest.approx(start)
    np.testing.assert_allclose(scan.counts, raw * att)
    np.testing.assert_allclose(scan.sigma, np.sqrt(np.maximum(raw, 1)) * att)
    assert att.max() > 1  # the attenuator was in for the strong line
    assert scan.metadata["scan_axis"] == "2Theta-Omega"


def test_rasx_matches_profile_columns(realdata: Path) -> None:
    path = realdata / FORMATS / "TwoTheta_scan_powder.rasx"
    with zipfile.ZipFile(path) as zf:
        cols = np.loadtxt(io.StringIO(zf.read("Data0/Profile0.txt").decode("utf-8-sig")))
    (scan,) = read_rasx(path)
    np.testing.assert_array_equal(scan.two_theta_deg, cols[:, 0])
    np.testing.assert_allclose(scan.counts, cols[:, 1] * cols[:, 2])
    assert scan.n_points == 2726
    assert scan.two_theta_deg[[0, -1]].tolist() == [10.0, 119.0]
    assert scan.wavelength_angstrom == pytest.approx(1.540593)
    assert scan.metadata["anode"] == "Cu"


def test_bruker_raw_structure_and_scrambled_counts(realdata: Path) -> None:
    path = realdata / FORMATS / "TwoTheta_scan_scrambled.raw"
    buf = path.read_bytes()
    meta, ranges = read_bruker_raw_ranges(path)
    (rng,) = ranges
    # offsets documented by FAIRmat's bruker_raw_parser.py for this file
    assert rng.n_points == struct.unpack_from("<H", buf, 0x01C3)[0] == 7134
    assert rng.step_deg == struct.unpack_from("<d", buf, 0x020F)[0]
    assert rng.start_deg == struct.unpack_from("<d", buf, 0x04FB)[0] == 10.0
    fairmat = np.frombuffer(buf, "<f4", offset=0x051F, count=2 * 7134)[::2]
    np.testing.assert_array_equal(rng.intensity, fairmat)
    assert rng.scan_type == "Locked Coupled" and rng.record_bytes == 8
    assert meta["anode"] == "Cu" and meta["sample_id"].startswith("HeOx-1001")
    assert rng.wavelength_angstrom == pytest.approx(1.5406, abs=1e-4)
    assert rng.two_theta_deg[-1] == pytest.approx(10.0 + 7133 * rng.step_deg)
    # the README says these intensities are scrambled (not the measurement): the gate rejects them
    with pytest.raises(InputError, match="negative values") as info:
        read_scan(path)
    assert path.name in str(info.value)


def test_real_files_unchanged_by_reading(realdata: Path) -> None:
    for path in sorted((realdata / FORMATS).iterdir()):
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            read_scans(path)
        except InputError:
            pass  # the scrambled .raw
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, path.name


def test_detect_format_by_content(realdata: Path, tmp_path: Path) -> None:
    folder = realdata / FORMATS
    expected = {"XRD-918-16_10.xrdml": "xrdml", "TwoTheta_scan_powder.rasx": "rasx",
                "TwoTheta_scan_scrambled.raw": "raw", "nomad_XRD-918-16_10.hdf5": "hdf5"}
    for name, kind in expected.items():
        renamed = tmp_path / (name + ".bin")
        renamed.write_bytes((folder / name).read_bytes())
        assert detect_format(renamed) == kind


# --------------------------------------------------------------------------- generated RAW4


def test_generated_raw4_two_ranges(tmp_path: Path) -> None:
    path = tmp_path / "two.raw"
    y1 = np.arange(1, 51, dtype=float)
    y2 = np.arange(100, 130, dtype=float)
    write_raw4(path, [(10.0, 0.02, y1, 4), (40.0, 0.05, y2, 12)])
    scans = read_scans(path)
    assert len(scans) == 2
    np.testing.assert_array_equal(scans[0].counts, y1)
    np.testing.assert_array_equal(scans[1].counts, y2)
    np.testing.assert_allclose(scans[1].two_theta_deg, 40.0 + 0.05 * np.arange(30))
    assert scans[0].metadata["sample_id"] == "NBH-test"
    assert scans[0].metadata["step_time_s"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="2 scans"):
        read_scan(path)
    # truncated inside the data of the second range
    cut = tmp_path / "cut.raw"
    cut.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError, match="truncated") as info:
        read_scans(cut)
    assert "cut.raw" in str(info.value)


# --------------------------------------------------------------------------- text


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


TTH = np.round(np.linspace(10, 60, 51), 4)
Y = np.round(100 + 900 * np.exp(-0.5 * ((TTH - 30) / 2) ** 2), 3)


@pytest.mark.parametrize(
    "name,sep,header",
    [
        ("a.xy", " ", "# 2theta intensity\n"),
        ("b.csv", ",", "2theta,intensity\n"),
        ("c.dat", "\t", "! comment\n; another\n"),
        ("d.prn", "   ", "Sample NBH-1\n2Theta  Counts\n"),
        ("e.txt", ";", "2θ;I\n"),
    ],
)
def test_text_variants(tmp_path: Path, name: str, sep: str, header: str) -> None:
    body = "".join(f"{x}{sep}{y}\n" for x, y in zip(TTH, Y, strict=True))
    scan = read_scan(_write(tmp_path, name, header + body))
    np.testing.assert_array_equal(scan.two_theta_deg, TTH)
    np.testing.assert_array_equal(scan.counts, Y)
    np.testing.assert_allclose(scan.sigma, np.sqrt(Y))


def test_text_sigma_column_and_decimal_comma(tmp_path: Path) -> None:
    sig = np.round(np.sqrt(Y) * 1.5, 3)
    body = "".join(f"{x} {y} {s}\n" for x, y, s in zip(TTH, Y, sig, strict=True))
    scan = read_scan(_write(tmp_path, "s.xye", body))
    np.testing.assert_array_equal(scan.sigma, sig)
    euro = "".join(f"{str(x).replace('.', ',')};{str(y).replace('.', ',')}\n"
                   for x, y in zip(TTH, Y, strict=True))
    scan = read_scan(_write(tmp_path, "euro.csv", euro))
    np.testing.assert_array_equal(scan.counts, Y)


def test_text_q_and_radian_headers(tmp_path: Path) -> None:
    lam = 1.5406
    q = 4 * np.pi * np.sin(np.radians(TTH / 2)) / lam
    body = "q (1/A), I\n" + "".join(f"{a:.12f},{y}\n" for a, y in zip(q, Y, strict=True))
    path = _write(tmp_path, "q.csv", body)
    with pytest.raises(InputError, match="no wavelength"):
        read_scan(path)
    scan = read_scan(path, wavelength_angstrom=lam)
    np.testing.assert_allclose(scan.two_theta_deg, TTH, atol=1e-8)
    rad = "2theta (rad) counts\n" + "".join(
        f"{a:.12f} {y}\n" for a, y in zip(np.radians(TTH), Y, strict=True))
    scan = read_scan(_write(tmp_path, "rad.xy", rad))
    np.testing.assert_allclose(scan.two_theta_deg, TTH, atol=1e-8)


def test_constant_signal_is_accepted(tmp_path: Path) -> None:
    """A flat (constant, non-zero) pattern is valid data: fitting decides what it means."""
    body = "".join(f"{x} 50\n" for x in TTH)
    scan = read_text_scan(_write(tmp_path, "flat.xy", body))
    assert np.all(scan.counts == 50)


def _ras_block(tth: np.ndarray, y: np.ndarray, att: np.ndarray, axis: str = "TwoThetaTheta"
               ) -> str:
    head = ("*RAS_DATA_START\n*RAS_HEADER_START\n*FILE_SAMPLE \"NBH-3\"\n"
            "*HW_XG_TARGET_NAME \"Cu\"\n*HW_XG_WAVE_LENGTH_ALPHA1 \"1.540593\"\n"
            f"*MEAS_SCAN_AXIS_X \"{axis}\"\n*MEAS_SCAN_UNIT_X \"deg\"\n*RAS_HEADER_END\n"
            "*RAS_INT_START\n")
    rows = "".join(f"{a:.4f} {b:.1f} {c:.4f}\n" for a, b, c in zip(tth, y, att, strict=True))
    return head + rows + "*RAS_INT_END\n*RAS_DATA_END\n"


def test_ras_two_blocks_with_attenuator(tmp_path: Path) -> None:
    att = np.where(Y > 800, 10.0, 1.0)
    body = _ras_block(TTH, Y, att) + _ras_block(TTH + 0.5, Y * 2, np.ones_like(Y))
    path = tmp_path / "two.ras"
    path.write_bytes(body.encode("latin-1"))
    scans = read_scans(path)
    assert len(scans) == 2
    np.testing.assert_allclose(scans[0].counts, np.round(Y, 1) * att)
    np.testing.assert_allclose(scans[1].two_theta_deg, TTH + 0.5)
    assert scans[0].wavelength_angstrom == pytest.approx(1.540593)
    assert scans[0].metadata["sample_name"] == "NBH-3"
    renamed = tmp_path / "two.txt"  # recognised by content, not by name
    renamed.write_bytes(path.read_bytes())
    assert len(read_scans(renamed)) == 2


def test_gsas_std_pbso4(realdata: Path) -> None:
    path = realdata / "pbso4_lab_xray" / "PBSO4.XRA"
    # an independent fixed-width parse: 10 fields of 8 characters per record
    fixed = np.genfromtxt(path, delimiter=[8] * 10, skip_header=2, filling_values=0.0)
    counts = fixed.reshape(-1)[:6001]
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.counts, counts)
    np.testing.assert_allclose(scan.two_theta_deg, 10.0 + 0.025 * np.arange(6001), atol=1e-9)
    np.testing.assert_allclose(scan.sigma, np.sqrt(counts))
    # anglesite's strongest reflection lies at d ≈ 3.00 Å (Bragg, Cu Kα1 1.5405 Å per the PRM)
    tth = scan.two_theta_deg[np.argmax(scan.counts)]
    assert 1.5405 / (2 * np.sin(np.radians(tth / 2))) == pytest.approx(3.00, abs=0.02)


def test_gsas_esd_and_fxye_banks(tmp_path: Path) -> None:
    y = np.arange(100.0, 120.0)
    e = np.sqrt(y) * 1.1
    esd = "".join(f"{a:8.1f}{b:8.2f}" for a, b in zip(y, e, strict=True))
    esd_lines = "\n".join(esd[i:i + 80] for i in range(0, len(esd), 80))
    fxye = "\n".join(f"{1500 + 2 * i} {a} {b}" for i, (a, b) in enumerate(zip(y, e, strict=True)))
    text = (
        "two banks\n"
        "BANK 1 20 4 CONST 1000.0 5.0 0 0 ESD\n" + esd_lines + "\n"
        "BANK 2 20 20 CONST 1500.0 2.0 0 0 FXYE\n" + fxye + "\n"
    )
    path = tmp_path / "two.gsa"
    path.write_text(text)
    first, second = read_scans(path)
    np.testing.assert_allclose(first.counts, y)
    np.testing.assert_allclose(first.sigma, np.round(e, 2))
    np.testing.assert_allclose(first.two_theta_deg, 10.0 + 0.05 * np.arange(20))
    np.testing.assert_allclose(second.two_theta_deg, 15.0 + 0.02 * np.arange(20))
    assert second.source.endswith("#bank2")


def test_text_utf16_with_bom(tmp_path: Path) -> None:
    body = "2theta\tcounts\n" + "".join(f"{x}\t{y}\n" for x, y in zip(TTH, Y, strict=True))
    path = tmp_path / "win.txt"
    path.write_bytes(body.encode("utf-16"))
    np.testing.assert_array_equal(read_scan(path).counts, Y)


def test_xrdml_count_rates_get_poisson_sigma_of_counts(tmp_path: Path) -> None:
    rates = np.array([10.0, 250.0, 4000.0, 30.0])
    doc = (
        '<?xml version="1.0"?><xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5">'
        '<xrdMeasurement><usedWavelength><kAlpha1 unit="Angstrom">1.5406</kAlpha1>'
        '</usedWavelength><scan scanAxis="Gonio"><dataPoints>'
        '<positions axis="2Theta" unit="deg"><startPosition>20</startPosition>'
        "<endPosition>20.3</endPosition></positions>"
        '<commonCountingTime unit="seconds">2.0</commonCountingTime>'
        '<intensities unit="counts per second">' + " ".join(map(str, rates)) +
        "</intensities></dataPoints></scan></xrdMeasurement></xrdMeasurements>"
    )
    path = tmp_path / "cps.xrdml"
    path.write_text(doc)
    scan = read_scan(path)
    np.testing.assert_allclose(scan.two_theta_deg, [20.0, 20.1, 20.2, 20.3])
    np.testing.assert_allclose(scan.sigma, np.sqrt(rates * 2.0) / 2.0)
