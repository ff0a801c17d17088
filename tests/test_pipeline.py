"""``xrdkit.analyse_files``: the library function behind ``xrdkit batch`` and ``xrdkit demo``.

* On the bundled electrodes it writes the same table as the command line, and the purities
  agree with the truth the example file was made with (``truth_fcc_weight_fraction``).
* The batch fingerprint stored in the results file keeps the keys and values the command line
  stored before the library existed (recorded below from that code), so a results file of the
  command line is resumed by the library and the other way round; old spellings of ``--po``
  and ``--brindley`` are resumed when they mean the same.
* Bad arguments fail before any work with an :class:`InputError` naming the argument.
"""

from __future__ import annotations

import csv
import dataclasses
import doctest
import hashlib
import json
import shutil
from pathlib import Path

import h5py
import pytest

import xrdkit
from xrdkit.cli import build_parser, main
from xrdkit.data import reference_data_dir
from xrdkit.errors import BatchError, InputError
from xrdkit.instrument import load_instrument
from xrdkit.pipeline import analyse_files, batch_fingerprint, canonical_inputs
from xrdkit.results import read_summary

ELECTRODES = xrdkit.example_file("electrodes.h5")
PHASES = ("nacro2", "al")
N_SCANS = 5
#: Columns that hold wall times (differ from run to run).
TIMING_COLUMNS = ("elapsed_s", "fit_time_s")
#: Fitted fcc share vs the truth of the constructed electrodes: within this many σ …
PURITY_SIGMAS = 3.0
#: … or this absolute tolerance (σ of a pure-fcc scan is one-sided).
PURITY_ABS_TOL = 0.05


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The electrodes analysed once by ``xrdkit batch`` and once by ``analyse_files``."""
    d = tmp_path_factory.mktemp("pipeline")
    argv = ["batch", str(ELECTRODES), *(a for p in PHASES for a in ("--phase", p)),
            "--out", str(d / "cli.h5"), "--table", str(d / "cli.csv"), "--workers", "1"]
    assert main(argv) == 0
    summary = analyse_files(ELECTRODES, d / "lib.h5", electrode_phases=PHASES, table=d / "lib.csv",
                            workers=1)
    assert (summary.n_items, summary.n_ok, summary.n_error) == (N_SCANS, N_SCANS, 0)
    return {"dir": d, "cli": d / "cli.h5", "lib": d / "lib.h5"}


def test_library_table_is_the_command_line_table(runs: dict[str, Path]) -> None:
    header_cli, rows_cli = _read_csv(runs["dir"] / "cli.csv")
    header_lib, rows_lib = _read_csv(runs["dir"] / "lib.csv")
    assert header_lib == header_cli
    assert header_lib[:3] == ["scan", "status", "verdict"]
    assert len(rows_lib) == len(rows_cli) == N_SCANS
    for a, b in zip(rows_cli, rows_lib, strict=True):
        differ = sorted(k for k in header_cli if a[k] != b[k])
        assert set(differ) <= set(TIMING_COLUMNS), (a["scan"], differ)


def test_library_purities_match_the_truth(runs: dict[str, Path]) -> None:
    """Independent truth: the weights the example electrodes were constructed with."""
    with h5py.File(ELECTRODES, "r") as f:
        truth = {name: float(f[name].attrs["truth_fcc_weight_fraction"]) for name in f}
    rows = read_summary(runs["lib"])
    assert [r["status"] for r in rows] == ["ok"] * N_SCANS
    for r in rows:
        entry = str(r["id"]).split("::/")[1].split("/")[0]
        fitted, sigma = float(r["fcc_weight_fraction"]), float(r["fcc_weight_fraction_sigma"])
        assert abs(fitted - truth[entry]) <= max(PURITY_SIGMAS * sigma, PURITY_ABS_TOL), (entry, fitted, sigma)


# ------------------------------------------------------------------------ fingerprint


def _old_si_cif(tmp: Path) -> Path:
    cif = tmp / "MySi.cif"
    shutil.copy(reference_data_dir() / "standards" / "si.cif", cif)
    return cif


#: ``xrdkit batch`` invocations and the options part of the fingerprint the command stored for
#: them before :mod:`xrdkit.pipeline` existed (computed with that code's ``batch_fingerprint``,
#: commit 2cc540c), with the phase names it hashed.
CLI_CASES = {
    "plain": ([], {
        "phase": [], "borate": None, "range": None, "no_ka2": False, "background_terms": 10,
        "b_iso": "auto", "coordinates": "auto", "po": [], "brindley": [], "displacement": False,
        "asymmetry": False, "no_warm_start": False,
    }, ["na2b10h10-ht", "na2b12h12-ht", "nbh-fcc"]),
    "all-flags": (["--phase", "nacro2", "--phase", "al", "--borate", "nbh-fcc", "--range", "14", "41",
                   "--no-ka2", "--background-terms", "6", "--refine-b-iso", "--fix-coordinates",
                   "--po", "nacro2:0,0,1", "--brindley", "al:1", "--brindley", "nacro2:2.5",
                   "--displacement", "--asymmetry", "--no-warm-start"], {
        "phase": ["nacro2", "al"], "borate": ["nbh-fcc"], "range": [14.0, 41.0], "no_ka2": True,
        "background_terms": 6, "b_iso": "yes", "coordinates": "no", "po": ["nacro2:0,0,1"],
        "brindley": ["al:1", "nacro2:2.5"], "displacement": True, "asymmetry": True,
        "no_warm_start": True,
    }, ["al", "nacro2", "nbh-fcc"]),
    "fix-b": (["--fix-b-iso"], {
        "phase": [], "borate": None, "range": None, "no_ka2": False, "background_terms": 10,
        "b_iso": "no", "coordinates": "auto", "po": [], "brindley": [], "displacement": False,
        "asymmetry": False, "no_warm_start": False,
    }, ["na2b10h10-ht", "na2b12h12-ht", "nbh-fcc"]),
    "cif-and-borate": (["--cif", "{cif}", "--borate", "nbh-fcc", "--phase", "al"], {
        "phase": ["al"], "borate": ["nbh-fcc"], "range": None, "no_ka2": False, "background_terms": 10,
        "b_iso": "auto", "coordinates": "auto", "po": [], "brindley": [], "displacement": False,
        "asymmetry": False, "no_warm_start": False,
    }, ["al", "cif:mysi", "nbh-fcc"]),
    "cif": (["--cif", "{cif}"], {
        "phase": [], "borate": None, "range": None, "no_ka2": False, "background_terms": 10,
        "b_iso": "auto", "coordinates": "auto", "po": [], "brindley": [], "displacement": False,
        "asymmetry": False, "no_warm_start": False,
    }, ["cif:mysi", "na2b10h10-ht", "na2b12h12-ht", "nbh-fcc"]),
    # the recipe's integer range was stored as [12, 60]; [12.0, 60.0] compares equal
    "recipe": (["--recipe", "{recipe}", "--phase", "al"], {
        "phase": ["be", "al"], "borate": None, "range": [12, 60], "no_ka2": False,
        "background_terms": 10, "b_iso": "no", "coordinates": "no", "po": ["nacro2:0,0,1"],
        "brindley": ["al:1", "nacro2:2.5"], "displacement": True, "asymmetry": False,
        "no_warm_start": False,
    }, ["al", "be", "na2b10h10-ht", "na2b12h12-ht", "nbh-fcc"]),
}
RECIPE = """phase = ["be"]
range = [12, 60]
b_iso = false
coordinates = false
po = {nacro2 = [0, 0, 1]}
brindley = {al = 1, nacro2 = 2.5}
displacement = true
"""


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_fingerprint_is_the_one_the_command_line_stored(case: str, tmp_path: Path) -> None:
    from xrdkit.commands._common import apply_recipe
    from xrdkit.commands.batch import analyse_files_kwargs
    from xrdkit.phases import PhaseLibrary
    from xrdkit.results import fingerprint_differences

    flags, options, phase_names = CLI_CASES[case]
    cif = _old_si_cif(tmp_path)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE, encoding="utf-8")
    flags = [f.format(cif=cif, recipe=recipe) for f in flags]
    argv = ["batch", str(ELECTRODES), *flags, "--out", str(tmp_path / "R.h5")]
    args = build_parser(argv=argv).parse_args(argv)
    apply_recipe(args)
    kwargs = analyse_files_kwargs(args)
    inst = load_instrument(kwargs["instrument"])
    inst = inst if kwargs["ka2"] else inst.without_ka2()
    keys = ("electrode_phases", "borates", "cifs", "two_theta_range_deg", "ka2", "background_terms",
            "refine_b_iso", "refine_coordinates", "preferred_orientation", "particle_size_um",
            "refine_displacement", "refine_asymmetry", "warm_start")
    fp = batch_fingerprint(canonical_inputs(kwargs["files"]), inst, **{k: kwargs[k] for k in keys})
    assert list(fp["options"]) == list(options)  # same keys, same order
    assert fp["options"] == options
    assert fingerprint_differences({"options": options}, {"options": fp["options"]}) == []
    assert sorted(fp["phases"]) == phase_names
    lib = PhaseLibrary()
    for name, digest in fp["phases"].items():
        path = cif if name == "cif:mysi" else lib.info(name).cif_path
        assert digest == hashlib.sha256(Path(path).read_bytes()).hexdigest(), name
    assert fp["instrument"] == json.loads(json.dumps(dataclasses.asdict(inst), default=str))
    assert [i["path"] for i in fp["inputs"]] == [str(ELECTRODES.resolve())]
    assert fp["inputs"][0]["sha256"] == hashlib.sha256(ELECTRODES.read_bytes()).hexdigest()


def test_fingerprint_test_can_fail(tmp_path: Path) -> None:
    """A changed option shows up (the comparison above is not vacuous)."""
    inst = load_instrument("miniflex600-cuka")
    a = batch_fingerprint([str(ELECTRODES)], inst, preferred_orientation={"nacro2": (0, 0, 1)})
    b = batch_fingerprint([str(ELECTRODES)], inst, preferred_orientation={"nacro2": (1, 0, 4)})
    assert a["options"]["po"] == ["nacro2:0,0,1"] and b["options"]["po"] == ["nacro2:1,0,4"]
    assert a != b


def test_library_resumes_a_command_line_batch(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    shutil.copy(runs["cli"], out)
    again = analyse_files([ELECTRODES], out, electrode_phases=list(PHASES), workers=1, resume=True)
    assert (again.n_skipped, again.n_run) == (N_SCANS, 0)
    with pytest.raises(BatchError, match=r"--resume refused.*options\.phase"):
        analyse_files([ELECTRODES], out, electrode_phases=["nacro2"], workers=1, resume=True)


def test_command_line_resumes_a_library_batch(runs: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "R.h5"
    shutil.copy(runs["lib"], out)
    argv = ["batch", f"{ELECTRODES.parent}/./{ELECTRODES.name}", "--phase", "nacro2", "--phase", "al",
            "--out", str(out), "--resume", "--workers", "1"]
    assert main(argv) == 0
    assert f"0 scans analysed (0 ok, 0 errors, {N_SCANS} already done)" in capsys.readouterr().out


def _store_options(path: Path, **options: object) -> None:
    """Rewrite options of the fingerprint stored in a results file (as an older version spelled them)."""
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["config_json"])
        config["fingerprint"]["options"].update(options)
        f.attrs["config_json"] = json.dumps(config)


def test_resume_accepts_the_old_spellings_of_po_and_brindley(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "R.h5"
    shutil.copy(runs["cli"], out)
    _store_options(out, po=["NaCrO2: 0, 0, 1"], brindley=["al:1.0", "nacro2:2"])
    kwargs = {"electrode_phases": PHASES, "workers": 1, "resume": True,
              "particle_size_um": {"al": 1.0, "nacro2": 2.0}}
    again = analyse_files(ELECTRODES, out, preferred_orientation={"nacro2": (0, 0, 1)}, **kwargs)
    assert (again.n_skipped, again.n_run) == (N_SCANS, 0)
    with h5py.File(out, "r") as f:  # the stored spelling is kept
        assert json.loads(f.attrs["config_json"])["fingerprint"]["options"]["po"] == ["NaCrO2: 0, 0, 1"]
    with pytest.raises(BatchError, match=r"--resume refused.*options\.po"):
        analyse_files(ELECTRODES, out, preferred_orientation={"nacro2": (1, 0, 4)}, **kwargs)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs, fragment", [
    ({"workers": 0}, "workers: must be an integer ≥ 1, got 0"),
    ({"workers": 1.5}, "workers: must be an integer ≥ 1"),
    ({"scheduler": "10.0.0.5:8786"}, "scheduler: malformed address"),
    ({"table": "{out}"}, "table {out} is the same file as out {out}"),
    ({"background_terms": -1}, "background_terms: must be an integer ≥ 0"),
    ({"two_theta_range_deg": (40, 10)}, "two_theta_range_deg: expected finite min < max"),
    ({"refine_b_iso": "yes"}, "refine_b_iso: must be 'auto', True or False"),
    ({"preferred_orientation": {"nacro2": (0, 0, 0)}}, "nacro2: (h, k, l) must be three integers"),
    ({"particle_size_um": {"al": -1}}, "al: particle size must lie in (0, 1000) µm"),
    ({"instrument": "no-such-preset"}, "no-such-preset"),
    ({"electrode_phases": ["nacro2", "alumina"]}, "phases: unknown phase 'alumina'; library phases: al, "),
    ({"borates": ["nbh-fcc", "nbh"]}, "unknown phase 'nbh'"),
], ids=["workers-0", "workers-float", "scheduler", "table-is-out", "background", "range", "b-iso",
        "po", "brindley", "instrument", "unknown-phase", "unknown-borate"])
def test_bad_arguments_fail_before_any_work(tmp_path: Path, kwargs: dict, fragment: str) -> None:
    out = tmp_path / "R.h5"
    kwargs = {k: (v.format(out=out) if isinstance(v, str) else v) for k, v in kwargs.items()}
    with pytest.raises(InputError) as err:
        analyse_files(ELECTRODES, out, **kwargs)
    assert fragment.format(out=out) in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_missing_file_and_output_over_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.h5: file not found"):
        analyse_files([ELECTRODES, tmp_path / "missing.h5"], tmp_path / "R.h5")
    with pytest.raises(InputError, match="out .* is the same file as files"):
        analyse_files(ELECTRODES, ELECTRODES)
    with pytest.raises(InputError, match="no input files"):
        analyse_files([], tmp_path / "R.h5")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_docstring_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xrdkit.pipeline

    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(xrdkit.pipeline, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_phase_names_are_case_insensitive_and_columns_carry_units(runs: dict[str, Path], tmp_path: Path) -> None:
    """``NaCrO2`` is the library's nacro2 (the same batch, so a resume runs nothing), and the
    summary columns carry the schema's units for NeXus viewers."""
    summary = analyse_files(ELECTRODES, runs["lib"], electrode_phases=[p.upper() for p in PHASES],
                            resume=True, workers=1)
    assert (summary.n_skipped, summary.n_run) == (N_SCANS, 0)
    with h5py.File(runs["cli"]) as f:
        assert f["summary/fcc_weight_fraction"].attrs["units"] == "1"
        assert f["summary/lattice_a_nbh-fcc"].attrs["units"] == "angstrom"


def test_scan_timeout_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["batch", str(ELECTRODES), "--out", str(tmp_path / "R.h5"),
                                      "--scan-timeout", "0"])
    assert main(["batch", str(ELECTRODES), "--out", str(tmp_path / "R.h5"), "--scan-timeout", "0"]) == 2
    assert "--scan-timeout must be a positive number of seconds" in capsys.readouterr().err
    assert args.scan_timeout == 0.0
