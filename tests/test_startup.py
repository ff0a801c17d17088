"""Start-up (issue 16, item 2): ``import xrdkit`` and ``xrdkit --help`` import none of the heavy
libraries, and the help listed without importing a sub-command is the help it registers."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xrdkit.cli import COMMAND_MODULES, build_parser, command_in, main

#: Modules that take seconds to import; start-up must not need them.
HEAVY = ("numba", "scipy", "pymatgen", "lmfit", "matplotlib", "h5py", "distributed", "pybamm")


def _imported_after(code: str) -> list[str]:
    """Heavy top-level modules imported by ``code`` in a fresh interpreter."""
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_xrdkit_is_light() -> None:
    assert _imported_after("import xrdkit") == []


def test_help_imports_no_heavy_module() -> None:
    code = ("import contextlib, io\nfrom xrdkit.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass")
    assert _imported_after(code) == []


def test_a_light_subcommand_imports_only_itself() -> None:
    # `xrdkit batch --help` must not import the cell model, pymatgen or numba
    code = ("import contextlib, io\nfrom xrdkit.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['batch', '--help'])\n    except SystemExit:\n        pass")
    assert _imported_after(code) == []


def _help_of(parser: argparse.ArgumentParser) -> dict[str, str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {c.dest: c.help for c in sub._choices_actions}


def test_listed_help_is_what_each_subcommand_registers() -> None:
    eager = _help_of(build_parser())  # every module imported, add_parser called
    lazy = _help_of(build_parser(argv=["--help"]))
    assert list(lazy) == list(eager) == list(COMMAND_MODULES)
    assert lazy == eager
    assert all(lazy.values())


def test_command_in() -> None:
    assert command_in(["-v", "--debug", "batch", "x.h5"]) == "batch"
    assert command_in(["--help"]) is None
    assert command_in(["nonsense", "batch"]) is None


def test_unknown_command_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_named_subcommand_is_registered_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    assert "--scheduler" in capsys.readouterr().out


#: Counts, in a fresh process, numba's on-disk cache hits and misses of every compiled
#: function xrdkit used while analysing one scan.
_CACHE_PROBE = """
import json, sys
from xrdkit.analysis import AnalysisConfig, analyse_scan, make_tasks
from xrdkit.hdf5 import list_scans
from numba.core.registry import CPUDispatcher
refs = list_scans(sys.argv[1], timeout_s=None)[:1]
analyse_scan(make_tasks(refs, AnalysisConfig(electrode_phases=("nacro2", "al")))[0])
stats = {}
for name, mod in list(sys.modules.items()):
    if name.startswith("xrdkit"):
        for attr, obj in list(vars(mod).items()):
            if isinstance(obj, CPUDispatcher) and obj.signatures:
                stats[name + "." + attr] = [sum(obj.stats.cache_hits.values()),
                                            sum(obj.stats.cache_misses.values())]
print(json.dumps(stats))
"""


@pytest.mark.slow
def test_compiled_code_is_cached_between_runs() -> None:
    """A second process loads every compiled function from numba's disk cache (the first may
    compile, e.g. after an edit); none is compiled again."""
    pytest.importorskip("numba")
    from xrdkit._jit import HAVE_NUMBA

    if not HAVE_NUMBA:
        pytest.skip("numba disabled (XRDKIT_NO_NUMBA)")
    series = str(Path(__file__).resolve().parent.parent / "reference_data" / "examples" / "electrodes.h5")

    def probe() -> dict[str, list[int]]:
        out = subprocess.run([sys.executable, "-c", _CACHE_PROBE, series], capture_output=True,
                             text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    probe()
    second = probe()
    assert len(second) >= 5, second  # the pattern kernels, the fit, the linear solver …
    compiled_again = {k: v for k, v in second.items() if v[1] > 0}
    assert compiled_again == {}, compiled_again
    assert all(hits > 0 for hits, _ in second.values())


def _lists_equal(a: dict, b: dict) -> bool:
    import numpy as np

    if list(a) != list(b):
        return False
    for name in a:
        x, y = a[name], b[name]
        for field in ("hkl", "multiplicity", "f2", "members_hkl", "member_family"):
            if not np.array_equal(getattr(x, field), getattr(y, field)):
                return False
        if (x.name, x.crystal_system, x.cell_mass_amu, x.volume_angstrom3) != \
                (y.name, y.crystal_system, y.cell_mass_amu, y.volume_angstrom3):
            return False
        if not np.array_equal(x.lattice.matrix, y.lattice.matrix):
            return False
    return True


def test_reflection_lists_are_kept_on_disk_between_runs(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached lists are the computed ones; a changed CIF or configuration is computed afresh;
    XRDKIT_NO_DISK_CACHE=1 turns the cache off."""
    from xrdkit import analysis
    from xrdkit.analysis import AnalysisConfig, UserCif
    from xrdkit.instrument import load_instrument
    from xrdkit.session import FitSession

    monkeypatch.setenv("XRDKIT_CACHE_DIR", str(tmp_path / "cache"))
    session = FitSession()  # nothing in memory from other tests
    inst = load_instrument("miniflex600-cuka")
    cathode = (Path(__file__).resolve().parent.parent / "reference_data" / "phases" / "nacro2.cif")
    config = AnalysisConfig(candidates=("nbh-fcc",), electrode_phases=("cathode",),
                            user_cifs=(UserCif("cathode", cathode.read_text(encoding="utf-8")),))
    computed = analysis._reflections_memo(config, inst, 60.0, session)
    files = list((tmp_path / "cache" / "reflections").glob("*.pkl"))
    assert len(files) == 1
    session = FitSession()  # a new process: from disk
    loaded = analysis._reflections_memo(config, inst, 60.0, session)
    assert loaded is not computed and _lists_equal(loaded[0], computed[0])
    assert loaded[1:] == computed[1:]
    assert analysis._reflections_memo(config, inst, 60.0, session) is loaded  # now from memory

    # another 2θ range, another CIF content: other files
    analysis._reflections_memo(config, inst, 90.0, session)
    text = cathode.read_text(encoding="utf-8").replace("_cell_length_a", "_cell_length_a   ", 1)
    other = AnalysisConfig(candidates=("nbh-fcc",), electrode_phases=("cathode",),
                           user_cifs=(UserCif("cathode", text),))
    analysis._reflections_memo(other, inst, 60.0, session)
    assert len(list((tmp_path / "cache" / "reflections").glob("*.pkl"))) == 3

    monkeypatch.setenv("XRDKIT_NO_DISK_CACHE", "1")
    assert analysis.reflection_cache_dir() is None
    session.clear()
    analysis._reflections_memo(config, inst, 120.0, session)
    assert len(list((tmp_path / "cache" / "reflections").glob("*.pkl"))) == 3
