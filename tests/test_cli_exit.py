"""The console scripts' quick exit (:func:`xrdkit.cli.exit_now`) loses nothing.

Each case runs a child interpreter, because ``exit_now`` ends the process it runs in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np


def _child(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_buffered_output_and_atexit_handlers_survive(tmp_path: Path) -> None:
    code = (
        "import atexit, logging, sys\n"
        "from xrdkit.cli import exit_now\n"
        "logging.basicConfig(filename='log.txt', level=logging.INFO)\n"
        "atexit.register(lambda: open('atexit.txt', 'w').write('ran'))\n"
        "for i in range(200000): print(i)\n"
        "logging.getLogger('x').info('last words')\n"
        "exit_now(5)\n"
    )
    done = _child(code, tmp_path)
    assert done.returncode == 5, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 200000 and lines[-1] == "199999"
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert "last words" in (tmp_path / "log.txt").read_text()


def test_an_open_hdf5_file_is_closed_properly(tmp_path: Path) -> None:
    """With a file still open for writing, exit_now falls back to the normal exit, so HDF5
    writes the file out; os._exit there would leave it truncated or without the dataset."""
    code = (
        "import h5py, numpy as np\n"
        "from xrdkit.cli import exit_now\n"
        "f = h5py.File('open.h5', 'w')\n"
        "f.create_dataset('x', data=np.arange(100000.0))\n"
        "exit_now(0)\n"
    )
    done = _child(code, tmp_path)
    assert done.returncode == 0, done.stderr
    with h5py.File(tmp_path / "open.h5", "r") as f:
        np.testing.assert_array_equal(f["x"][()], np.arange(100000.0))


_TEARDOWN_MARK = (
    "class Mark:\n"
    "    def __del__(self, _open=open):  # builtins are gone by then\n"
    "        _open('torn_down.txt', 'w').write('yes')\n"
    "mark = Mark()\n"
)


def test_the_teardown_is_skipped_only_with_no_hdf5_file_open(tmp_path: Path) -> None:
    """The marker object's ``__del__`` runs only in the interpreter's teardown."""
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["x"] = np.arange(3.0)
    quick = _child(_TEARDOWN_MARK + "import h5py\nfrom xrdkit.cli import exit_now\n"
                   "with h5py.File('in.h5', 'r') as f: pass\nexit_now(0)\n", tmp_path)
    assert quick.returncode == 0, quick.stderr
    assert not (tmp_path / "torn_down.txt").exists()
    normal = _child(_TEARDOWN_MARK + "import h5py\nfrom xrdkit.cli import exit_now\n"
                    "f = h5py.File('in.h5', 'r')\nexit_now(0)\n", tmp_path)
    assert normal.returncode == 0, normal.stderr
    assert (tmp_path / "torn_down.txt").read_text() == "yes"  # the control: a teardown ran


def test_a_batch_leaves_no_hdf5_file_open(tmp_path: Path) -> None:
    """So ``xrdkit batch`` itself ends by the quick exit (its input file was held open by the
    reader's cache until close_input_file)."""
    import shutil

    from xrdkit.cli import _open_hdf5_files, main
    from xrdkit.data import example_file

    stack = tmp_path / "stack.h5"
    shutil.copy(example_file("heating_stack.h5"), stack)
    def ours() -> list[str]:
        names = [fid.name.decode() for fid in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)]
        return [n for n in names if n.startswith(str(tmp_path))]

    assert main(["batch", str(stack), "--phase", "be", "--workers", "1",
                 "--out", str(tmp_path / "R.h5")]) == 0
    assert ours() == []
    # the count exit_now goes by sees them too (other tests in this process may hold files)
    with h5py.File(stack, "r"):
        assert _open_hdf5_files() >= 1


def test_console_script_ends_with_the_command_exit_code(tmp_path: Path) -> None:
    ok = _child("import sys; sys.argv = ['xrdkit', 'phases']; from xrdkit.cli import console; console()",
                tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "nbh-fcc" in ok.stdout
    bad = _child("import sys; sys.argv = ['xrdkit', 'fit', 'missing.xy', '--phase', 'al', '--json', 'o.json']; "
                 "from xrdkit.cli import console; console()", tmp_path)
    assert bad.returncode == 2
    assert "missing.xy" in bad.stderr


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """``xrdkit phases | head -1``: the closed pipe ends the command quietly."""
    script = ("import sys; sys.argv = ['xrdkit', 'phases']; "
              "from xrdkit.cli import console; console()")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first.startswith(b"name")
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_the_docstring_examples_run() -> None:
    """xrdkit.cli has no API page (so it is not in test_docs' list): its Examples run here."""
    import doctest

    import xrdkit.cli

    failures, tried = doctest.testmod(xrdkit.cli)
    assert tried >= 3 and failures == 0
