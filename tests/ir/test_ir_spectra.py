"""Spectrum gate and readers: real files, hand-encoded JCAMP-DX variants, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from irkit.spectra import (
    atr_correct,
    atr_penetration_depth_um,
    make_spectrum,
    read_hdf5,
    read_jcamp,
    read_opus,
    read_spectrum,
    read_text,
    to_absorbance,
)
from xrdkit.errors import InputError

JCAMP_HEADER = """##TITLE= hand-encoded test
##JCAMP-DX= 5.01
##DATA TYPE= INFRARED SPECTRUM
##XUNITS= 1/CM
##YUNITS= ABSORBANCE
##XFACTOR= 1.0
##YFACTOR= 0.001
##FIRSTX= 1000
##LASTX= 1010
##DELTAX= 1
##NPOINTS= 11
"""
#: Values 100 102 104 104 104 101 110 111 120 119 120 (×0.001), encoded by hand following the
#: JCAMP-DX 4.24 ASDF rules (McDonald & Wilks, Appl. Spectrosc. 42 (1988) 151): SQZ 'A00' = +100,
#: DIF 'K' = +2, DUP 'T' = twice, '%' = +0, 'l' = -3, 'R' = +9, 'J' = +1, 'j' = -1; every line
#: after the first repeats the last value as a Y-check.
EXPECTED_Y = np.array([100, 102, 104, 104, 104, 101, 110, 111, 120, 119, 120]) * 0.001
ASDF_BODY = "##XYDATA= (X++(Y..Y))\n1000A00KT%Tl\n1005A01RJRj\n1009A19J\n##END=\n"
AFFN_BODY = ("##XYDATA= (X++(Y..Y))\n1000 100 102 104 104 104 101\n1006 110 111 120 119 120\n"
             "##END=\n")
XYPOINTS_BODY = "##XYPOINTS= (XY..XY)\n" + "".join(
    f"{1000 + i}, {round(y * 1000)}\n" for i, y in enumerate(EXPECTED_Y)) + "##END=\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- real files


def test_pe1800_jcamp_official_file(realdata: Path) -> None:
    path = realdata / "ir_formats" / "PE1800.DX"
    s = read_spectrum(path)
    # header: FIRSTX 4000, LASTX 700, NPOINTS 3301, YUNITS TRANSMITTANCE, YFACTOR 1e-4
    assert s.kind == "transmittance"
    assert s.n_points == 3301
    assert s.wavenumber_cm1[0] == 700.0 and s.wavenumber_cm1[-1] == 4000.0
    assert np.all(np.diff(s.wavenumber_cm1) > 0)
    # first data line "4000 +10160+10159+10159+10158..." read independently of jcamp
    first = [ln for ln in path.read_text().splitlines() if ln.startswith("4000 ")][0]
    raw = [int(v) * 1e-4 for v in first.split()[1].replace("+", " ").split()]
    np.testing.assert_allclose(s.values[::-1][: len(raw)], raw, rtol=0, atol=1e-12)
    # MINY / MAXY from the header
    assert s.values.min() == pytest.approx(0.8631, abs=1e-9)
    assert s.values.max() == pytest.approx(1.0189, abs=1e-9)
    a = to_absorbance(s)
    np.testing.assert_allclose(a.values, -np.log10(s.values))


def test_opus_file_through_brukeropus(realdata: Path) -> None:
    pytest.importorskip("brukeropus")
    from brukeropus import read_opus as bruker_read

    path = realdata / "ir_formats" / "file.0"
    s = read_opus(path)
    ref = bruker_read(str(path)).a  # absorbance block
    assert s.kind == "absorbance"
    assert s.n_points == ref.x.size == 4927
    np.testing.assert_array_equal(s.wavenumber_cm1, ref.x[::-1])
    np.testing.assert_array_equal(s.values, ref.y[::-1])
    assert read_spectrum(path).n_points == s.n_points  # dispatch by numeric extension


# ---------------------------------------------------------------- JCAMP variants


@pytest.mark.parametrize("body", [ASDF_BODY, AFFN_BODY, XYPOINTS_BODY],
                         ids=["asdf-sqz-dif-dup", "affn", "xypoints"])
def test_jcamp_variants_decode_to_the_same_values(tmp_path: Path, body: str) -> None:
    s = read_jcamp(_write(tmp_path, "t.jdx", JCAMP_HEADER + body))
    np.testing.assert_allclose(s.wavenumber_cm1, np.arange(1000, 1011))
    np.testing.assert_allclose(s.values, EXPECTED_Y, atol=1e-12)
    assert s.kind == "absorbance"


@pytest.mark.parametrize(
    ("yunits", "factor", "converted"),
    [("ABSORBANCE", 1.0, None), ("LOG(1/T)", 1.0, "log(1/T)"),
     ("log (1/T)", 1.0, "log(1/T)"),
     ("(micromol/mol)-1m-1 (base 10)", 1.0, "decadic absorption coefficient"),
     ("(micromol/mol)-1m-1 (base e)", 1.0 / math.log(10.0), "natural absorption coefficient")],
    ids=["absorbance", "log1t", "log1t-spaced", "nist-decadic", "natural"],
)
def test_jcamp_absorbance_like_units_are_read_and_named(tmp_path: Path, yunits: str,
                                                       factor: float,
                                                       converted: str | None) -> None:
    s = read_jcamp(_write(tmp_path, "u.jdx",
                          JCAMP_HEADER.replace("ABSORBANCE", yunits) + AFFN_BODY))
    assert s.kind == "absorbance"
    np.testing.assert_allclose(s.values, EXPECTED_Y * factor, atol=1e-12)
    assert s.metadata["y_units"] == yunits
    if converted is None:
        assert "converted_from" not in s.metadata
    else:
        assert converted in s.metadata["converted_from"]


def test_nist_quantitative_gas_spectrum_is_read(realdata: Path) -> None:
    # acetone.jdx: ##YUNITS=(micromol/mol)-1m-1 (base 10), MAXY .0005162, NPOINTS 14106
    s = read_spectrum(realdata / "ir_solvents" / "acetone.jdx")
    assert s.kind == "absorbance" and s.n_points == 14106
    assert s.values.max() == pytest.approx(0.0005162, rel=1e-3)
    assert "decadic absorption coefficient" in s.metadata["converted_from"]
    # strongest band: acetone C=O stretch near 1740 cm⁻¹ (gas; NIST header MAXX is 3974.84
    # because of the noise at the edge, so compare inside 1000–3000 cm⁻¹)
    inside = (s.wavenumber_cm1 > 1000) & (s.wavenumber_cm1 < 3000)
    peak = s.wavenumber_cm1[inside][np.argmax(s.values[inside])]
    assert 1700 < peak < 1780


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("just text\n1 2\n", "not a JCAMP-DX"),
        (JCAMP_HEADER + "##XYDATA= (R..R)\n1 2 3\n##END=\n", "unsupported JCAMP-DX data table"),
        (JCAMP_HEADER.replace("INFRARED SPECTRUM", "LINK") + "##END=\n", "unsupported JCAMP-DX"),
        (JCAMP_HEADER + "##NTUPLES= INFRARED SPECTRUM\n##END NTUPLES=\n##END=\n",
         "unsupported JCAMP-DX"),
        (JCAMP_HEADER + "##XYDATA= (X++(Y..Y))\n1000A00KT%Tl\n1005A09RJRj\n1009A19J\n##END=\n",
         "checksum"),
        (JCAMP_HEADER.replace("1/CM", "SECONDS") + AFFN_BODY, "XUNITS"),
        (JCAMP_HEADER.replace("ABSORBANCE", "KUBELKA-MUNK") + AFFN_BODY, "YUNITS"),
    ],
    ids=["empty", "not-jcamp", "r-table", "link-block", "ntuples", "y-check", "seconds",
         "kubelka-munk"],
)
def test_jcamp_bad_input(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path, "bad.jdx", text)
    with pytest.raises(InputError, match=problem) as info:
        read_jcamp(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- text


def test_text_separators_and_header(tmp_path: Path) -> None:
    x = np.arange(600.0, 700.0)
    y = np.linspace(0.1, 0.2, x.size)
    variants = {
        "c.csv": "wavenumber,absorbance\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y, strict=True)),
        "t.tsv": "# exported\nnu\tA\n" + "".join(f"{a}\t{b}\n" for a, b in zip(x, y, strict=True)),
        "s.txt": "".join(f"{a} ; {b}\n" for a, b in zip(x, y, strict=True)),
        "w.dat": "".join(f"  {a}   {b}  7\n" for a, b in zip(x, y, strict=True)),
    }
    for name, text in variants.items():
        s = read_text(_write(tmp_path, name, text))
        np.testing.assert_array_equal(s.wavenumber_cm1, x)
        np.testing.assert_allclose(s.values, y)
        assert s.kind == "absorbance"


def test_text_percent_transmittance_header_and_descending(tmp_path: Path) -> None:
    x = np.arange(4000.0, 3900.0, -1.0)
    t = np.linspace(40.0, 90.0, x.size)
    path = _write(tmp_path, "t.csv", "cm-1,%T\n" + "".join(f"{a},{b}\n" for a, b in
                                                          zip(x, t, strict=True)))
    with pytest.raises(InputError, match="descending"):
        read_text(path)
    s = read_text(path, descending=True)
    assert s.kind == "transmittance" and s.metadata["transmittance_was_percent"]
    np.testing.assert_allclose(s.values, t[::-1] / 100)
    np.testing.assert_allclose(to_absorbance(s).values, 2.0 - np.log10(t[::-1]))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no numeric data"),
        ("wavenumber,absorbance\n", "no numeric data"),
        ("600\n601\n602\n603\n604\n605\n", "1 column"),
        ("600,0.1\n601,nan\n602,0.1\n603,0.1\n604,0.1\n605,0.1\n", "NaN"),
        ("605,0.1\n604,0.1\n603,0.1\n602,0.1\n601,0.1\n600,0.1\n", "descending"),
        ("600,0.1\n601,0.1\n601,0.2\n602,0.1\n603,0.1\n604,0.1\n", "duplicated"),
        ("600,0.1\n602,0.1\n601,0.2\n603,0.1\n604,0.1\n605,0.1\n", "not monotonic"),
        ("x,%T\n600,99\n601,100\n602,120\n603,90\n604,95\n605,97\n", "above 100 %"),
        ("x,transmittance\n600,0.9\n601,1.0\n602,1.3\n603,0.9\n604,0.95\n605,0.97\n",
         "above 100 %"),
        ("x,transmittance\n600,0.9\n601,0.0\n602,0.5\n603,0.9\n604,0.95\n605,0.97\n", "> 0"),
        ("600,0.1\n601,0.1\nabc,def\n603,0.1\n604,0.1\n605,0.1\n", "not numeric"),
        ("0.6,0.1\n0.7,0.1\n0.8,0.1\n0.9,0.1\n1.0,0.1\n1.1,0.1\n", "cm⁻¹"),
        ("600,0.1\n601,0.1\n", "at least 5"),
    ],
    ids=["empty", "header-only", "one-column", "nan", "descending", "duplicated",
         "non-monotonic", "percent-T-above-100", "fraction-T-above-1", "T-zero", "garbage-row",
         "micrometre-axis", "too-short"],
)
def test_text_bad_input_names_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=problem) as info:
        read_text(path)
    assert str(path) in str(info.value)


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_spectrum(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="unknown spectrum file type"):
        read_spectrum(_write(tmp_path, "x.docx", "hello"))
    with pytest.raises(InputError, match="not a Bruker OPUS"):
        read_opus(_write(tmp_path, "x.0", "hello"))


# ---------------------------------------------------------------- HDF5


def test_hdf5_nexus_and_bare_layouts(tmp_path: Path) -> None:
    x = np.linspace(4000.0, 600.0, 200)
    y = np.linspace(0.0, 1.0, 200)
    nx = tmp_path / "nx.h5"
    with h5py.File(nx, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        g = entry.create_group("data")
        g.attrs.update({"NX_class": "NXdata", "signal": "absorbance", "axes": "wavenumber"})
        g.create_dataset("wavenumber", data=x).attrs["units"] = "cm-1"
        g.create_dataset("absorbance", data=y)
    bare = tmp_path / "bare.h5"
    with h5py.File(bare, "w") as f:
        g = f.create_group("spec")
        g.create_dataset("wavenumber", data=x[::-1])
        g.create_dataset("transmittance", data=50 + 40 * y)
    s = read_hdf5(nx)
    np.testing.assert_array_equal(s.wavenumber_cm1, x[::-1])
    np.testing.assert_array_equal(s.values, y[::-1])
    assert "nx.h5::" in s.source
    t = read_spectrum(bare)
    assert t.kind == "transmittance"
    np.testing.assert_allclose(t.values, (50 + 40 * y) / 100)
    with pytest.raises(InputError, match="out of range"):
        read_hdf5(nx, index=3)
    with pytest.raises(InputError, match="nope"):
        read_hdf5(_write(tmp_path, "nope.h5", "not hdf5"))


# ---------------------------------------------------------------- conversions


def test_gate_refuses_bad_arrays_and_keeps_inputs() -> None:
    x = np.arange(600.0, 610.0)
    y = np.ones(10)
    s = make_spectrum(x, y)
    s2 = make_spectrum(x, y)
    assert not s.values.flags.writeable
    x[0] = 0.0  # the spectrum does not alias the caller's arrays
    assert s.wavenumber_cm1[0] == 600.0 and s2.wavenumber_cm1[0] == 600.0
    with pytest.raises(InputError, match="unknown spectrum kind"):
        make_spectrum(np.arange(600.0, 610.0), y, "reflectance")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="10 points but"):
        make_spectrum(np.arange(600.0, 610.0), np.ones(9))


def test_transmittance_to_absorbance_analytic() -> None:
    s = make_spectrum(np.arange(600.0, 606.0), [1.0, 0.1, 0.01, 0.5, 0.25, 1.0],
                      "transmittance")
    np.testing.assert_allclose(to_absorbance(s).values,
                               [0.0, 1.0, 2.0, math.log10(2), math.log10(4), 0.0])


def test_atr_penetration_depth_against_harrick_formula() -> None:
    # Harrick (1967): d_p = λ / (2π n1 sqrt(sin²θ − (n2/n1)²)); diamond n1 = 2.4, sample 1.5,
    # 45°, λ = 10 µm (1000 cm⁻¹): 10 / (2π·2.4·sqrt(0.5 − 0.390625)) = 2.005 µm — the value
    # ATR vendors tabulate as "2.0 µm at 1000 cm⁻¹" for a single-bounce diamond.
    assert atr_penetration_depth_um(1000.0) == pytest.approx(2.005, abs=0.001)
    # germanium: n1 = 4.0, 45°: 10 / (2π·4·sqrt(0.5 − 0.140625)) = 0.664 µm
    assert atr_penetration_depth_um(1000.0, n_crystal=4.0) == pytest.approx(0.664, abs=0.001)
    s = make_spectrum([1000.0, 1500.0, 2000.0, 2500.0, 3000.0], np.ones(5))
    c = atr_correct(s, reference_cm1=1000.0)
    np.testing.assert_allclose(c.values, [1.0, 1.5, 2.0, 2.5, 3.0])  # d_p ∝ 1/ν
    assert c.kind == "atr_absorbance"
    with pytest.raises(InputError, match="no total internal reflection"):
        atr_correct(s, n_crystal=1.6, n_sample=1.5)


def test_jcamp_wavelength_axis_is_converted_and_resampled(tmp_path: Path) -> None:
    # 2.5–25 µm in 0.05 µm steps (uniform in λ, very non-uniform in ν), a band at 10 µm
    lam = np.round(np.arange(2.5, 25.0001, 0.05), 4)
    t = 1.0 - 0.5 * np.exp(-0.5 * ((lam - 10.0) / 0.05) ** 2)
    body = "##XYPOINTS= (XY..XY)\n" + "".join(f"{a:.4f}, {b:.6f}\n" for a, b in
                                             zip(lam, t, strict=True)) \
        + "##END=\n"
    header = (JCAMP_HEADER.replace("1/CM", "MICROMETERS").replace("ABSORBANCE", "TRANSMITTANCE")
              .replace("##YFACTOR= 0.001", "##YFACTOR= 1").replace("##NPOINTS= 11",
                                                                   f"##NPOINTS= {lam.size}"))
    s = read_jcamp(_write(tmp_path, "um.jdx", header + body))
    assert s.wavenumber_cm1[0] == pytest.approx(400.0, abs=4) and s.wavenumber_cm1[-1] <= 4000
    steps = np.diff(s.wavenumber_cm1)
    assert np.allclose(steps, steps[0])  # uniform after resampling
    assert "resampled" in s.metadata["resampled"]
    a = to_absorbance(s)
    assert a.wavenumber_cm1[np.argmax(a.values)] == pytest.approx(1000.0, abs=3)


def test_jcamp_transmittance_in_percent_without_percent_sign(tmp_path: Path) -> None:
    header = JCAMP_HEADER.replace("ABSORBANCE", "TRANSMITTANCE").replace("0.001", "0.5")
    s = read_jcamp(_write(tmp_path, "pt.jdx", header + AFFN_BODY))  # values 50–60: percent
    assert s.kind == "transmittance" and s.metadata["transmittance_was_percent"]
    np.testing.assert_allclose(s.values, EXPECTED_Y * 500 / 100)


def test_jcamp_saturated_transmittance_is_clipped_and_counted(tmp_path: Path) -> None:
    header = JCAMP_HEADER.replace("ABSORBANCE", "TRANSMITTANCE")
    body = ("##XYDATA= (X++(Y..Y))\n1000 100 102 0 -3 104 101\n1006 110 111 120 119 120\n"
            "##END=\n")
    s = read_jcamp(_write(tmp_path, "sat.jdx", header + body))
    assert s.metadata["saturated_points"] == 2
    assert to_absorbance(s).values.max() == pytest.approx(4.0)
    with pytest.raises(InputError, match="must be > 0"):  # the gate itself stays strict
        make_spectrum(np.arange(1000.0, 1011.0), np.r_[0.5, 0.0, np.full(9, 0.5)],
                      "transmittance")
