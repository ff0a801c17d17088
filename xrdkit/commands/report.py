"""``xrdkit report``: one self-contained HTML file from batch results (opens with no network).

    xrdkit report RESULTS.h5 --out report.html
    xrdkit report RESULTS.h5 --ir IR_RESULTS.h5 --out report.html --title "Batch 2026-11"
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``report`` sub-command."""
    p = subparsers.add_parser("report", help="self-contained HTML report of batch results",
                              description=__doc__.splitlines()[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=__doc__)
    p.add_argument("results", type=Path, help="XRD batch results file (RESULTS.h5)")
    p.add_argument("--ir", type=Path, default=None, help="IR batch results file (irkit batch)")
    p.add_argument("--out", type=Path, required=True, help="HTML file to write")
    p.add_argument("--title", default=None, help="page title")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and print where it went."""
    from xrdkit.errors import ClosokitError, InputError
    from xrdkit.report import build_report

    try:
        out = build_report(args.results, ir_results=args.ir, out_html=args.out, title=args.title)
    except ClosokitError:
        raise
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        # a results file edited or damaged so that its content is not what batch wrote
        text = " ".join(str(exc).split())[:200]
        raise InputError(f"cannot build the report: a results file is damaged or not written by "
                         f"this version ({type(exc).__name__}: {text}); --debug shows where",
                         source=str(args.results)) from None
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0
