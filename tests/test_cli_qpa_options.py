"""The QPA options of ``xrdkit fit`` (and the shared phase arguments): --po, --brindley,
--refine-b-iso/--fix-b-iso, --displacement, --asymmetry, --recipe."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from xrdkit.cli import main
from xrdkit.commands._common import (
    add_phase_arguments,
    apply_recipe,
    b_iso_choice,
    options_from_args,
    particle_sizes_from_args,
    preferred_orientation_from_args,
)
from xrdkit.errors import InputError


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_phase_arguments(p)
    return p.parse_args(list(argv))


def test_flags_become_refine_options() -> None:
    args = _parse("--po", "NaCrO2:0,0,3", "--brindley", "nacro2:5", "--brindley", "al:20",
                  "--displacement", "--asymmetry", "--refine-b-iso")
    opts = options_from_args(args)
    assert opts.preferred_orientation == {"nacro2": (0, 0, 3)}
    assert opts.particle_size_um == {"nacro2": 5.0, "al": 20.0}
    assert opts.refine_displacement and opts.refine_asymmetry and opts.refine_b_iso
    assert b_iso_choice(_parse()) == "auto"
    assert b_iso_choice(_parse("--fix-b-iso")) is False


@pytest.mark.parametrize(("flag", "value", "words"), [
    ("--po", "nacro2", "PHASE:VALUE"),
    ("--po", "nacro2:0,0", "three integers"),
    ("--po", "nacro2:0,0,0", "not all 0"),
    ("--po", "nacro2:a,b,c", "three integers"),
    ("--brindley", "al:-3", "(0, 1000)"),
    ("--brindley", "al:big", "number"),
])
def test_bad_phase_options_are_named(flag: str, value: str, words: str) -> None:
    args = _parse(flag, value)
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        preferred_orientation_from_args(args) if flag == "--po" else particle_sizes_from_args(args)


def test_recipe_fills_what_the_command_line_left(tmp_path) -> None:
    recipe = tmp_path / "lab.toml"
    recipe.write_text('phase = ["al"]\ncif = ["x.cif"]\nbackground_terms = 6\nb_iso = false\n'
                      'po = { nacro2 = [0, 0, 3] }\nbrindley = { al = 10.0 }\ninstrument = "inst.instprm"\n')
    args = _parse("--phase", "nacro2", "--background-terms", "12", "--recipe", str(recipe))
    apply_recipe(args)
    assert args.phase == ["al", "nacro2"]
    assert args.cif == [str(tmp_path / "x.cif")]
    assert args.instrument == str(tmp_path / "inst.instprm")
    assert args.background_terms == 12  # the flag wins
    assert b_iso_choice(args) is False
    assert preferred_orientation_from_args(args) == {"nacro2": (0, 0, 3)}
    assert particle_sizes_from_args(args) == {"al": 10.0}


def test_recipe_with_an_unknown_key_is_refused(tmp_path, capsys) -> None:
    recipe = tmp_path / "lab.json"
    recipe.write_text(json.dumps({"phase": ["al"], "refine_everything": True}))
    scan = tmp_path / "s.xy"
    scan.write_text("\n".join(f"{x:.2f} {100 + x:.1f}" for x in np.arange(20, 80, 0.02)))
    assert main(["fit", str(scan), "--recipe", str(recipe), "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "refine_everything" in err and "lab.json" in err


@pytest.mark.slow
def test_fit_with_texture_and_total_sigma(tmp_path, library) -> None:
    """A 50/50 Al + NaCrO2 scan with NaCrO2 (003) texture (March r = 0.7) made by the independent
    generator (:mod:`xrdkit.synthetic`): ``--po`` recovers the weights within 3 total σ, without
    it NaCrO2 is off by more; the JSON carries both σ's."""
    from xrdkit.synthetic import PhaseEffects, synthetic_pattern

    x = np.arange(10.0, 100.0, 0.02)
    pat = synthetic_pattern(
        [library.get("al").structure, library.get("nacro2").structure], [0.5, 0.5], x,
        names=["al", "nacro2"], rng=np.random.default_rng(3), counts_on_strongest=2e4,
        effects=[None, PhaseEffects(march_dollase_axis=(0, 0, 3), march_dollase_ratio=0.7)],
    )
    scan = tmp_path / "tex.xy"
    np.savetxt(scan, np.column_stack([pat.two_theta_deg, pat.counts]))
    errors = {}
    for label, extra in (("po", ["--po", "nacro2:0,0,3"]), ("none", [])):
        out = tmp_path / f"{label}.json"
        assert main(["fit", str(scan), "--phase", "al", "--phase", "nacro2", *extra, "--json", str(out)]) == 0
        res = json.loads(out.read_text())
        got = {p["name"]: p for p in res["phases"]}
        errors[label] = abs(got["nacro2"]["weight_fraction"] - 0.5)
        if label == "po":
            for p in res["phases"]:
                assert abs(p["weight_fraction"] - 0.5) <= 3 * p["weight_fraction_sigma"], p
                assert p["weight_fraction_sigma"] >= p["weight_fraction_sigma_statistical"] > 0
    assert errors["none"] > errors["po"]
