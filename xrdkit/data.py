"""Where the bundled data are: the ``reference_data`` folder and its example files.

closokit ships its phase library, instrument presets, IR band priors and templates, the cell
model's constants and a few **constructed** example scan files in ``reference_data/`` (see
``reference_data/examples/README.md``: synthetic data made by ``make_examples.py``, never
measurements). This module is the public way to find them — for notebooks, scripts and
documentation examples — instead of a path relative to the working directory.

The folder is the ``reference_data`` beside the installed package (an editable install, as
``make`` does), unless the environment variable ``CLOSOKIT_REFERENCE_DATA`` names another one.

Examples
--------
>>> from xrdkit.data import example_file, list_examples
>>> list_examples()
['electrodes.h5', 'heating_stack.h5', 'isopropanol_series.h5', 'methanol_series.h5']
>>> example_file("electrodes.h5").name
'electrodes.h5'

One scan of an example file, read with :func:`xrdkit.readers.read_scan`:

>>> from xrdkit.readers import read_scan
>>> scan = read_scan(f"{example_file('electrodes.h5')}::/electrode_01/data")
>>> scan.two_theta_deg.size
4000
"""

from __future__ import annotations

from pathlib import Path

from xrdkit._paths import REFERENCE_DATA_ENV
from xrdkit._paths import reference_data_dir as _reference_data_dir
from xrdkit.errors import InputError

__all__ = ["REFERENCE_DATA_ENV", "reference_data_dir", "examples_dir", "list_examples",
           "example_file"]

#: Sub-folder of ``reference_data`` holding the example scan files.
EXAMPLES_SUBDIR = "examples"
#: Suffixes of the example data files (the folder also holds their README and generator).
EXAMPLE_SUFFIXES = (".h5",)


def reference_data_dir() -> Path:
    """Return the ``reference_data`` folder.

    Returns
    -------
    Path
        ``$CLOSOKIT_REFERENCE_DATA`` when that variable is set, else the ``reference_data``
        folder beside the installed ``xrdkit`` package.

    Raises
    ------
    InputError
        If the folder does not exist (a non-editable install without the data, or a wrong
        ``CLOSOKIT_REFERENCE_DATA``).

    Examples
    --------
    >>> from xrdkit.data import reference_data_dir
    >>> (reference_data_dir() / "phases").is_dir()
    True
    """
    return _reference_data_dir()


def examples_dir() -> Path:
    """Return the folder of the bundled example scan files (``reference_data/examples``).

    Returns
    -------
    Path

    Raises
    ------
    InputError
        If the reference data folder or its ``examples`` sub-folder does not exist.

    Examples
    --------
    >>> from xrdkit.data import examples_dir
    >>> (examples_dir() / "README.md").is_file()
    True
    """
    path = reference_data_dir() / EXAMPLES_SUBDIR
    if not path.is_dir():
        raise InputError("no examples folder in the reference data", source=str(path))
    return path


def list_examples() -> list[str]:
    """Names of the bundled example data files, sorted.

    Returns
    -------
    list of str
        File names (with suffix) that :func:`example_file` accepts.

    Examples
    --------
    >>> from xrdkit.data import list_examples
    >>> "electrodes.h5" in list_examples()
    True
    """
    return sorted(p.name for p in examples_dir().iterdir()
                  if p.is_file() and p.suffix in EXAMPLE_SUFFIXES)


def example_file(name: str) -> Path:
    """Path of one bundled example data file.

    Parameters
    ----------
    name : str
        File name in ``reference_data/examples``, with or without its suffix
        (``"electrodes.h5"`` or ``"electrodes"``). See :func:`list_examples`.

    Returns
    -------
    Path
        Absolute path of the file. To read one scan of an HDF5 example, append
        ``::/path/to/NXdata`` (see :func:`xrdkit.readers.read_scan`).

    Raises
    ------
    InputError
        If ``name`` is not one of the example files (the message lists them), or is a path
        rather than a file name.

    Examples
    --------
    >>> from xrdkit.data import example_file
    >>> example_file("electrodes").name
    'electrodes.h5'
    >>> from xrdkit.hdf5 import list_scans
    >>> len(list_scans(example_file("isopropanol_series.h5")))
    12
    """
    text = str(name)
    if not text or Path(text).name != text or text in (".", ".."):
        raise InputError(f"example name must be a file name, not a path: {text!r}", source=text)
    available = list_examples()
    for candidate in (text, *(text + s for s in EXAMPLE_SUFFIXES)):
        if candidate in available:
            return (examples_dir() / candidate).resolve()
    raise InputError(f"no example file {text!r}; available: {', '.join(available)}",
                     source=str(examples_dir()))
