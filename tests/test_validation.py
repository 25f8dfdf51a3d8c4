"""Runs on disk against the seed targets (``sim.experiments.validation``, ``migsim validate``).

One run directory and one two-replicate batch of the default 1985-2006 baseline (20,000 and
5,000 persons) are written once and shared. The values read back from disk must equal the
in-memory comparison exactly, and the summary must agree with the per-replicate values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.experiments import validation
from sim.experiments.batch import run_batch
from sim.experiments.targets import compare, load_targets
from sim.io.output import write_run

runner = CliRunner()


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    res = sim.Simulation(agents=20_000, seed=4, start_year=1985, years=22).run()
    out = write_run(res, tmp_path_factory.mktemp("run") / "baseline-seed4",
                    {"scenario": "baseline"}, plots=False)
    return res, out


@pytest.fixture(scope="module")
def two_reps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vbatch") / "b"
    summary = run_batch(["baseline"], out=out, replicates=2, agents=5000, seed=11, workers=1)
    assert summary.failed == 0
    return out


def test_values_from_disk_equal_the_in_memory_comparison(one_run):
    res, out = one_run
    tab = validation.validate(out)
    mem = compare(res)
    assert list(tab["target"]) == list(mem["target"])
    np.testing.assert_allclose(tab["mean"].to_numpy(), mem["simulated"].to_numpy(), rtol=1e-12)
    assert (tab["n"] == 1).all()
    assert (tab["met"].to_numpy() == mem["within"].to_numpy()).all()
    assert list(tab["period"]) == list(mem["year"])


def test_batch_summary_agrees_with_replicate_values(two_reps):
    targets = load_targets()
    vals = validation.replicate_values(validation.load(two_reps, targets), targets)
    assert sorted(set(vals["replicate"])) == [0, 1] and sorted(set(vals["seed"])) == [11, 12]
    tab = validation.summarise(vals, targets)
    assert len(tab) == len(targets) and (tab["n"] == 2).all()
    for r in tab.itertuples():
        v = vals.loc[vals["target"] == r.target, "value"].to_numpy()
        assert r.mean == pytest.approx(v.mean(), rel=1e-12)
        assert r.min == v.min() and r.max == v.max()
        assert r.n_within == int(np.sum((v >= r.low) & (v <= r.high)))
        assert r.met == (r.low <= r.mean <= r.high)
        mid, half = (r.low + r.high) / 2, (r.high - r.low) / 2
        assert r.position == pytest.approx((r.mean - mid) / half, rel=1e-12)
        assert r.met == (abs(r.position) <= 1 + 1e-12)
    # the two seeds differ: the spread is real, not a copy of one run
    stock = vals[vals["target"] == "migrant stock 2006"]["value"].to_numpy()
    assert stock[0] != stock[1]


def test_all_in_band_counts_replicates_meeting_every_asserted_target():
    """By hand: three replicates, two asserted targets and one reported one; a replicate meets
    all when every asserted value is in its band; an unasserted miss does not count, a missing
    asserted value does (the replicate is left out)."""
    from sim.experiments.targets import Target

    targets = [Target("a", "x", "total", 2000, 1.0, 0.0, 2.0, "t"),
               Target("b", "y", "total", 2000, 1.0, 0.5, 1.5, "t"),
               Target("c", "z", "total", 2000, 1.0, 0.0, 1.0, "t", asserted=False)]
    rows = []
    for rep, vals in enumerate([(1.0, 1.0, 9.0), (1.0, 2.0, 0.5), (2.0, 0.5, 0.5)]):
        for name, v in zip("abc", vals, strict=True):
            rows.append({"scenario": "s", "point": 0, "replicate": rep, "seed": rep + 1,
                         "target": name, "value": v})
    values = pd.DataFrame(rows)
    out = validation.all_in_band(values, targets)
    assert out[["scenario", "point", "n", "n_all", "targets"]].values.tolist() == [
        ["s", 0, 3, 2, 2]]
    assert validation.all_in_band(values, targets, asserted=False)["n_all"].item() == 1
    partial = values[~((values["replicate"] == 0) & (values["target"] == "b"))]
    assert validation.all_in_band(partial, targets)[["n", "n_all"]].values.tolist() == [[2, 1]]


def test_position_in_band_and_targets_at_an_edge():
    """By hand: -1 at the floor, 0 in the middle, +1 at the top, beyond outside, NaN for a
    point band; at_edge lists the met asserted targets within a tenth of a half-band of an
    edge, not the misses nor the reported ones."""
    assert validation.position(0.05, 0.05, 0.15) == pytest.approx(-1.0)
    assert validation.position(0.10, 0.05, 0.15) == pytest.approx(0.0)
    assert validation.position(0.20, 0.05, 0.15) == pytest.approx(2.0)
    assert np.isnan(validation.position(1.0, 1.0, 1.0))
    assert np.isnan(validation.position(float("nan"), 0.0, 1.0))
    table = pd.DataFrame({
        "target": ["floor", "middle", "out", "reported", "top"],
        "position": [-0.95, 0.1, 1.2, 0.99, 0.9],
        "met": [True, True, False, True, True],
        "asserted": [True, True, True, False, True]})
    assert validation.at_edge(table)["target"].tolist() == ["floor", "top"]
    assert validation.at_edge(table, asserted=False)["target"].tolist() == [
        "floor", "reported", "top"]


def test_scenario_filter_and_clear_errors(two_reps, tmp_path):
    from sim.experiments.report import ReportError

    assert set(validation.validate(two_reps, scenario="baseline")["scenario"]) == {"baseline"}
    with pytest.raises(ReportError, match="holds: baseline"):
        validation.validate(two_reps, scenario="basline")
    with pytest.raises(ReportError, match="does not exist"):
        validation.validate(tmp_path / "missing")
    short = sim.Simulation(agents=3000, seed=1, start_year=2010, years=1).run()
    d = write_run(short, tmp_path / "late", {"scenario": "baseline"}, plots=False)
    with pytest.raises(ReportError, match="none of the target years"):
        validation.validate(d)


def test_cli_validate_prints_writes_and_is_strict_on_request(one_run, two_reps, tmp_path):
    _, run_dir = one_run
    csv = tmp_path / "sub" / "validation.csv"
    result = runner.invoke(app, ["validate", str(two_reps), "--out", str(csv)])
    assert result.exit_code == 0, result.output
    assert "2 replicates" in result.stdout and "migrant stock 2006" in result.stdout
    assert "where" in result.stdout and "-1 at the floor" in " ".join(result.stdout.split())
    _, joint = validation.score(two_reps)
    asserted = sum(t.asserted for t in load_targets())
    assert joint["targets"].item() == asserted and joint["n"].item() == 2
    assert (f"replicates with all {asserted} asserted targets in band at once: "
            f"{joint['n_all'].item()} of 2") in " ".join(result.stdout.split())
    table = pd.read_csv(csv)
    assert tuple(table.columns) == validation.COLUMNS and len(table) == len(load_targets())
    assert not list(csv.parent.glob(".*tmp*"))
    # a target no run can meet: reported without --strict, exit 1 with it
    impossible = tmp_path / "impossible.toml"
    impossible.write_text('[[target]]\nname = "stock over a billion"\nindicator = '
                          '"migrant_stock"\ngroup = "total"\nyear = 2006\nvalue = 2e9\n'
                          'range = [1e9, 3e9]\nsource = "test"\n')
    args = ["validate", str(run_dir), "--targets", str(impossible)]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, [*args, "--strict"])
    assert result.exit_code == 1 and "NO" in result.stdout
    result = runner.invoke(app, ["validate", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no such directory" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["validate", str(run_dir), "--targets", str(tmp_path / "t.toml")])
    assert result.exit_code == 2 and "t.toml does not exist" in result.output


def _urbanisation_script():
    """``calibration/urbanisation.py`` (the published rates and the README's table)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "calibration" / "urbanisation.py"
    spec = importlib.util.spec_from_file_location("urbanisation_script", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_urbanisation_beside_the_published_rates(one_run):
    """Not fitted (issue 14, part 5). In 2000 the agents aged 15-64 are the census's rural
    residents plus its rural migrants, so the residence rate departs from the census only by
    the model's children and elders: 3 points is a 13% error in the 0-14 and 65+ counts. The
    model has no rural-hukou persons living in urban places without having moved (in situ
    urbanisation), and no reclassified places or conversions other than migrants': its hukou
    rate is above the registration-based one in every year with a figure, and its residence
    rate rises by at least half the published 20 points of 1985-2006."""
    res, _ = one_run
    years = np.arange(1985, 2007)
    residence = dict(zip(years.tolist(), res.annual("urbanisation_by_residence"), strict=True))
    hukou = dict(zip(years.tolist(), res.annual("urbanisation_by_hukou"), strict=True))
    pub = _urbanisation_script().published()
    pub_res = pub["published_residence"].dropna().to_dict()
    pub_hukou = pub["published_registration"].dropna().to_dict()
    assert set(pub_res) | set(pub_hukou) <= set(residence)
    assert residence[2000] == pytest.approx(pub_res[2000], abs=0.03)
    for y, v in pub_hukou.items():
        assert hukou[y] > v, (y, hukou[y], v)
    assert residence[2006] - residence[1985] > (pub_res[2006] - pub_res[1985]) / 2
    assert all(residence[y] > hukou[y] for y in residence)  # migrants live in cities


def test_urbanisation_table_reads_the_run_directory(one_run):
    """The script behind calibration/README.md's table reads the run's December values."""
    res, out = one_run
    rows = _urbanisation_script().table(out).splitlines()[2:]
    cells = {int(r.split("|")[1]): [c.strip() for c in r.split("|")[2:-1]] for r in rows}
    assert sorted(cells) == [1985, 1990, 1995, 2000, 2005, 2006]
    assert float(cells[2000][0]) == pytest.approx(
        100 * res.annual("urbanisation_by_residence")[15], abs=0.05)
    assert cells[2000][1] == "36.2" and cells[1985][3] == "20.2" and cells[2006][3] == ""
