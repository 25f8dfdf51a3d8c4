"""Saving the full state of a run at a year and resuming from it (issue 14, part 6): a resumed
run equals the uninterrupted one byte for byte, a scenario forks from a baseline's state, and
files or settings that do not fit are refused with one line."""

from __future__ import annotations

import json
import struct
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from sim import Indicator, Mechanism, StateField
from sim.cli import app
from sim.engine import checkpoint as ck
from sim.engine.loop import Simulation
from sim.io.output import MANIFEST, TIMESERIES

KW = {"agents": 3000, "seed": 1, "start_year": 1998, "years": 4}
# the 2001 small-town hukou reform goes all the way (the baseline path until then)
FORK = {"hukou_penalty_small": {"mode": "step", "1985": 1.25, "1998": 0.7, "2001": 0.0}}


def _same(a, b) -> bool:
    if a is None or b is None or not isinstance(a, np.ndarray | np.generic | int | float):
        return a == b
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f")


def assert_same_results(ra, rb) -> None:
    """Every series and every record of two runs, bit for bit."""
    sa, sb = ra.series(), rb.series()
    assert sa.keys() == sb.keys()
    assert [k for k in sa if not _same(sa[k], sb[k])] == []
    assert ra.meta.keys() == rb.meta.keys() and ra.initial_stock == rb.initial_stock
    assert [k for k, v in ra.meta.items() if not _same(v, rb.meta[k])] == []


def assert_same_state(a: Simulation, b: Simulation) -> None:
    """Every saved array and attribute of two simulations (records included)."""
    xa, xb = ck.state_arrays(a), ck.state_arrays(b)
    assert xa.keys() == xb.keys()
    assert [k for k in xa if not _same(xa[k], xb[k])] == []
    ya, yb = ck.state_attributes(a), ck.state_attributes(b)
    assert ya.keys() == yb.keys()
    assert [k for k in ya if not _same(ya[k], yb[k])] == []


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The uninterrupted 1998-2001 run, its state saved at the end of 1999."""
    path = tmp_path_factory.mktemp("state") / "baseline-1999.npz"
    sim = Simulation(**KW)
    res = sim.run(progress=ck.save_at(sim, 1999, path))
    return sim, res, path


def test_resumed_run_equals_the_uninterrupted_one(saved):
    sim, res, path = saved
    head = ck.read_header(path)
    assert (head["year"], head["t"], head["seed"], head["agents"]) == (1999, 24, 1, 3000)
    assert head["initial_digest"] and head["params_sha256"] == ck.params_hash(sim.params, 1999)
    resumed = ck.load_state(path)
    assert (resumed.t, resumed.year, resumed.month) == (24, 1999, 12)
    assert_same_results(res, resumed.run())
    assert_same_state(sim, resumed)


def test_a_scenario_forks_from_the_baseline_state(saved):
    _, base, path = saved
    scratch_sim = Simulation(FORK, **KW)
    scratch = scratch_sim.run()
    forked_sim = ck.load_state(path, FORK)
    assert_same_results(scratch, forked_sim.run())
    assert_same_state(scratch_sim, forked_sim)
    s, b = scratch.series(), base.series()  # the fork is a change from 2001, and only then
    assert [k for k in s if not _same(s[k][:36], b[k][:36])] == []
    assert not _same(s["migrant_stock", "tier:small"][36:], b["migrant_stock", "tier:small"][36:])


def test_fork_runs_gives_each_branch_its_uninterrupted_run(saved, tmp_path):
    """``checkpoint.fork_runs``: the trunk to the end of 2000 once, each branch from there; the
    baseline branch equals the uninterrupted run and the reform branch its own from scratch."""
    _, base, _ = saved
    out = ck.fork_runs({"base": {}, "reform": FORK}, tmp_path / "trunk.npz", fork_year=2001,
                       **KW)
    assert list(out) == ["base", "reform"]
    assert ck.read_header(tmp_path / "trunk.npz")["year"] == 2000
    assert_same_results(base, out["base"])
    assert_same_results(Simulation(FORK, **KW).run(), out["reform"])
    with pytest.raises(ck.CheckpointError, match="differs from the saved run's"):
        ck.fork_runs({"base": {}, "reform": FORK}, tmp_path / "late.npz", fork_year=2002, **KW)


@pytest.mark.parametrize(("params", "given", "message"), [
    (None, {"seed": 2}, "saved with seed 1, not 2"),
    (None, {"agents": 4000}, "saved with agents 3000, not 4000"),
    (None, {"years": 5}, "saved with years 4, not 5"),
    ({"beta_income": 1.5}, {}, "parameter 'beta_income' is 1.5"),
    ({"hukou_penalty_small": {"mode": "step", "1985": 1.25, "1998": 0.7, "1999": 0.0}}, {},
     "parameter 'hukou_penalty_small' differs from the saved run's in 1999"),
    # read when the run is built (the projection's normalisation), although dated after 1999
    ({"tertiary_exit_share": {"1985": 0.01, "1995": 0.03, "2000": 0.05, "2001": 0.3}}, {},
     "build another initial population"),
])
def test_settings_that_do_not_fit_the_state_are_refused(saved, params, given, message):
    with pytest.raises(ck.CheckpointError, match=message):
        ck.load_state(saved[2], params, **given)


class Tenure(Mechanism):
    """An added rule with its own state: months each person spent employed, and the running
    total on the instance (what a plug-in may keep between months)."""

    name = "tenure"
    person_state = (StateField("tenure_months", "int32", "months employed"),)
    results = (Indicator("tenure_total", "months", "months employed so far, all persons"),)

    def __init__(self) -> None:
        self.total = 0

    def step(self, sim) -> None:
        sim.persons.tenure_months += sim.persons.employed
        self.total += int(sim.persons.employed.sum())
        sim.rec.scalars["tenure_total"][sim.t] = self.total


def test_an_added_mechanism_and_its_own_state_resume(tmp_path):
    kw = {**KW, "years": 3}
    sim = Simulation(mechanisms=[Tenure()], **kw)
    res = sim.run(progress=ck.save_at(sim, 1998, tmp_path / "s.npz"))
    resumed = ck.load_state(tmp_path / "s.npz", mechanisms=[Tenure])
    assert resumed.mech["tenure"].total == res.rec.scalars["tenure_total"][11] > 0
    assert_same_results(res, resumed.run())
    assert_same_state(sim, resumed)
    with pytest.raises(ck.CheckpointError, match=r"saved with other mechanisms \(tenure\)"):
        ck.load_state(tmp_path / "s.npz")


def _flip_data_byte(path, member: str) -> None:
    """Damage one byte of the array data of ``member`` (stored uncompressed)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(f"{member}.npy")
    raw = bytearray(path.read_bytes())
    n_name, n_extra = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + n_name + n_extra + info.file_size - 5] ^= 0xFF
    path.write_bytes(raw)


def test_damaged_foreign_and_other_version_files_are_refused(saved, tmp_path, monkeypatch):
    path = saved[2]
    raw = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(raw[: len(raw) // 2])
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(raw)
    _flip_data_byte(flipped, "persons.loc")
    text = tmp_path / "notes.npz"
    text.write_text("not a state\n")
    for bad, message in ((cut, "not a migsim state file"), (flipped, "damaged state file"),
                         (text, "not a migsim state file"),
                         (tmp_path / "missing.npz", "no such state file")):
        with pytest.raises(ck.CheckpointError, match=message):
            ck.load_state(bad)
    sim = ck.load_state(path)
    monkeypatch.setattr(ck, "__version__", "0.0.1")
    old = ck.save_state(sim, tmp_path / "old.npz")
    monkeypatch.undo()
    with pytest.raises(ck.CheckpointError, match="saved by migsim 0.0.1"):
        ck.load_state(old)
    # a file of an earlier layout (format 1 lacked a recorded scalar) is refused by name,
    # not read as damaged
    monkeypatch.setattr(ck, "FORMAT_VERSION", ck.FORMAT_VERSION - 1)
    earlier = ck.save_state(sim, tmp_path / "earlier.npz")
    monkeypatch.undo()
    with pytest.raises(ck.CheckpointError, match=f"of format {ck.FORMAT_VERSION - 1}, this "
                       f"migsim reads format {ck.FORMAT_VERSION}"):
        ck.load_state(earlier)


def test_what_cannot_be_saved_is_refused(saved, tmp_path):
    sim = ck.load_state(saved[2])
    with pytest.raises(ck.CheckpointError, match="cannot save the state at the end of 2001"):
        ck.save_at(sim, 2001, tmp_path / "x.npz")
    sim.mech["labour"].memo = {"a": 1}  # a mechanism's attribute that is no array or number
    with pytest.raises(ck.CheckpointError, match=r"mech\.labour\.memo \(dict\)"):
        ck.save_state(sim, tmp_path / "x.npz")
    del sim.mech["labour"].memo
    sim.step()
    with pytest.raises(ck.CheckpointError, match="end of a December"):
        ck.save_state(sim, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_cli_saves_and_resumes(tmp_path):
    runner = CliRunner()
    base = ["run", "baseline", "--agents", "3000", "--start-year", "1998", "--years", "2", "-q"]
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    r = runner.invoke(app, [*base, "--save-state", "1998", "--out", str(full)])
    assert r.exit_code == 0, r.output
    state = full / "state-1998.npz"
    man = json.loads((full / MANIFEST).read_text())
    assert man["saved_state"] == state.name and state.name in man["files"]
    assert [p.name for p in tmp_path.iterdir()] == ["full"]  # no leftover beside the run
    r = runner.invoke(app, ["run", "baseline", "--from-state", str(state), "--out", str(resumed),
                            "-q"])
    assert r.exit_code == 0, r.output
    assert (resumed / TIMESERIES).read_bytes() == (full / TIMESERIES).read_bytes()
    man = json.loads((resumed / MANIFEST).read_text())
    assert (man["agents"], man["seed"], man["years"], man["from_state"]) == (
        3000, 1, 2, str(state))
    for args, message in (
        ([*base, "--save-state", "1999"], "cannot save the state at the end of 1999"),
        (["run", "--from-state", str(tmp_path / "nope.npz")], "no such file"),
        (["run", "--from-state", str(state), "--seed", "2"], "saved with seed 1, not 2"),
        (["run", "--from-state", str(full / MANIFEST)], "not a migsim state file"),
        ([*base, "--state-file", str(tmp_path / "s.npz")], "--state-file needs --save-state"),
    ):
        r = runner.invoke(app, [*args, "--out", str(tmp_path / "bad")])
        assert r.exit_code == 2, r.output
        assert message in " ".join(r.output.split())
        assert not (tmp_path / "bad").exists()


def test_state_read_only_after_the_start_is_restored(tmp_path):
    """With work injuries on, the injury fields (deferred until first read, ``Table.declare``)
    are allocated in the saved run; a fresh build has them still deferred, and the resumed run
    allocates and restores them: it equals the uninterrupted one."""
    on = {"injury_rate_year_construction": 0.3, "injury_rate_year_manufacturing": 0.2}
    sim = Simulation(on, **KW)
    res = sim.run(progress=ck.save_at(sim, 1999, tmp_path / "s.npz"))
    assert sim.persons.allocated("injury_pay")
    resumed = ck.load_state(tmp_path / "s.npz")
    assert resumed.persons.allocated("injury_pay")
    assert_same_results(res, resumed.run())
    assert_same_state(sim, resumed)
