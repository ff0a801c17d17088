"""``xrdkit demo --out DIR``: the main job on the bundled example data.

Runs ``xrdkit batch`` (the library function :func:`xrdkit.pipeline.analyse_files`) on the
three example series in ``reference_data/examples`` (isopropanol heat treatment, ILLUSTRATIVE
methanol route, infiltrated NaCrO2 electrodes), prints each scan's verdict, fcc share ± σ and
amorphous share of the intensity, writes results files, CSV tables, a summary figure (fcc
share vs temperature/scan with error bars), the cell prediction for the electrodes and the
HTML report. The example data are constructed (see their README), not measurements.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: Example file → non-borate phases present in it.
DEMO_SERIES = {
    "isopropanol_series.h5": ("be",),
    "methanol_series.h5": ("be",),
    "electrodes.h5": ("nacro2", "al"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on the bundled example data", description=__doc__)
    p.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from xrdkit._paths import reference_data_dir
    from xrdkit.commands.identify import verdict_line
    from xrdkit.pipeline import analyse_files
    from xrdkit.plot import new_figure, plot_purity_series
    from xrdkit.results import read_summary

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    examples = reference_data_dir() / "examples"
    fig = new_figure(figsize=(11, 3.6))
    results: dict[str, Path] = {}
    for i, (name, phases) in enumerate(DEMO_SERIES.items()):
        stem = Path(name).stem
        res = out / f"{stem}_results.h5"
        summary = analyse_files(
            examples / name, res, electrode_phases=phases,
            table=out / f"{stem}_results.csv", workers=args.workers, overwrite=True,
            command=" ".join(sys.argv),
        )
        print(f"{name}: {summary.n_ok}/{summary.n_items} scans ok in {summary.elapsed_s:.1f} s → {res}")
        rows = read_summary(res)
        for r in rows:
            what = verdict_line(r) if r.get("status") == "ok" else f"error: {r.get('error')}"
            print(f"   {str(r['id']).split('::')[-1]:24s} {what}")
        ax = fig.add_subplot(1, len(DEMO_SERIES), i + 1)
        plot_purity_series(rows, ax)
        ax.set_title(stem.replace("_", " "), fontsize=9)
        results[stem] = res
    fig.tight_layout()
    fig.savefig(out / "summary.png", dpi=110)
    print(f"summary figure → {out / 'summary.png'}")
    _cell_prediction(results["electrodes"], out)
    _report(results, out)
    return 0


def _cell_prediction(results_h5: Path, out: Path) -> None:
    """Cell prediction for the electrode with the highest fcc purity (no-borate scans have none)."""
    from xrdkit.cell import predict_cell
    from xrdkit.identify import Verdict
    from xrdkit.results import read_summary

    rows = [r for r in read_summary(results_h5) if r.get("status") == "ok" and r.get("verdict") != Verdict.NO_BORATE
            and r.get("fcc_weight_fraction") is not None]
    if not rows:
        return
    best = max(rows, key=lambda r: float(r["fcc_weight_fraction"]))
    pred = predict_cell(float(best["fcc_weight_fraction"]), float(best.get("fcc_weight_fraction_sigma") or 0.0))
    (out / "cell_prediction.json").write_text(json.dumps(pred.to_dict(), indent=2, default=float))
    print(f"cell prediction for {str(best['id']).split('::')[-1]} → {out / 'cell_prediction.json'}")


def _report(results: dict[str, Path], out: Path) -> None:
    """HTML report per series (when the report module is available)."""
    try:
        from xrdkit.report import build_report
    except ImportError:  # pragma: no cover - report module ships with closokit
        return
    for stem, res in results.items():
        path = build_report(res, out_html=out / f"report_{stem}.html", title=f"closokit demo: {stem}")
        print(f"report → {path}")
