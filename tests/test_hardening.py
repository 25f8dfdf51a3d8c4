"""Bad input and faults (issue 15): every command-line value checked before any work, memory
estimated before building, empty scenario files refused, generated scenario files and ``--set``
values (hypothesis), existing run directories never damaged, a full disk while writing."""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.engine.registry import schema
from sim.experiments import resources
from sim.experiments.batch import BatchError, run_batch
from sim.experiments.resources import LimitError
from sim.experiments.scenario import ScenarioError, load_scenario
from sim.io import output
from sim.io.files import MANIFEST

runner = CliRunner()
TINY = ["--agents", "2000", "--years", "1", "--start-year", "1995", "--quiet"]
FLOATS = [p for p in schema().values() if p.kind is float and not p.choices
          and p.hi - p.lo < 1e6 and p.role in ("policy", "behaviour")]
# shares of the inspectors' effort: each in range, but together at most 1 (a joint check,
# refused with its own message, tests/test_inspection.py); not drawn independently as valid
JOINT = ("inspection_focus_",)
VALID_FLOATS = [p for p in FLOATS if not p.name.startswith(JOINT)]
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _refused(result, *expected: str) -> str:
    """One clear line on stderr, exit 2, no traceback; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in result.output
    for e in expected:
        assert e in err, (e, err)
    return err


def _no_run_dir(root: Path) -> None:
    """Nothing under ``root`` looks like a complete run."""
    assert not any(p.name == MANIFEST for p in root.rglob("*")), list(root.rglob("*"))


# ------------------------------------------------------------------ command-line values
@pytest.mark.parametrize("args, expected", [
    (["run", "--agents", "100000000000"], ["--agents 100000000000", "GiB", "available"]),
    (["run", "--agents", "999"], ["--agents 999", ">= 1000"]),
    (["run", "--years", "0"], ["--years 0", "[1, 200]"]),
    (["run", "--years", "201"], ["--years 201", "[1, 200]"]),
    (["run", "--start-year", "1900"], ["--start-year 1900", "[1984, 2014]"]),
    (["run", "--start-year", "2030"], ["--start-year 2030", "births.csv"]),
    (["run", "--set", "cohort_entry=false", "--start-year", "2050", "--years", "2"],
     ["--start-year 2050", "[1984, 2035]"]),
    (["run", "--set", "exit_age=80", "--start-year", "1990"], ["--start-year 1990", "[1999"]),
    (["run", "--threads", "0"], ["--threads 0", "[1, "]),
    (["run", "--threads", "999"], ["--threads 999", "NUMBA_NUM_THREADS"]),
    (["run", "--seed", "-1"], ["--seed -1", "[0, 9223372036854775807]"]),
    (["run", "--seed", str(2**63)], ["--seed 9223372036854775808"]),
    (["run", "--set", "beta_income=nan"], ["beta_income", "range"]),
    (["run", "--set", "beta_income=inf"], ["beta_income", "range"]),
    (["run", "--set", "exit_age=65.5"], ["exit_age", "integer"]),
    (["run", "--set", "cohort_entry=maybe"], ["cohort_entry", "true/false"]),
    (["run", "--set", "=1"], ["unknown parameter ''"]),
    (["batch", "baseline", "--replicates", "0"], ["--replicates 0", ">= 1"]),
    (["batch", "baseline", "--workers", "0"], ["--workers 0", ">= 1"]),
    (["batch", "baseline", "--agents", "10"], ["--agents 10"]),
    (["batch", "baseline", "--threads-per-run", "999"], ["--threads-per-run 999"]),
    (["batch", "baseline", "--seed", str(2**63 - 1), "--replicates", "2"],
     ["--seed 9223372036854775807", "2 replicates"]),
    (["batch", "baseline", "--years", "0"], ["--years 0", "[1, 200]"]),
    (["batch", "baseline", "--start-year", "2030"], ["--start-year 2030", "[1984, 2014]"]),
    (["batch", "baseline", "--agents", "100000000000"], ["--agents 100000000000", "GiB"]),
    (["batch", "baseline", "--design", "no-such.csv"], ["--design no-such.csv", "no such"]),
])
def test_bad_values_refused_before_any_work(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    built = []
    monkeypatch.setattr(sim.Simulation, "_build", lambda self: built.append(1))
    out = tmp_path / "out"
    _refused(runner.invoke(app, [*args, "--out", str(out)]), *expected)
    assert not built and not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, expected", [
    (["compare", "{tmp}/missing"], ["BATCH_DIR", "no such directory"]),
    (["compare", "{tmp}", "--level", "1.5"], ["--level 1.5", "[0.5, 0.999]"]),
    (["validate", "{tmp}/missing"], ["PATH", "no such directory"]),
    (["validate", "{tmp}", "--out", "{tmp}"], ["--out", "is a directory"]),
    (["validate", "{tmp}", "--targets", "{tmp}/t.toml"], ["t.toml", "does not exist"]),
    (["run", "--out", "{tmp}/file/run"], ["--out", "is not a directory"]),
])
def test_bad_paths_refused(tmp_path, args, expected):
    (tmp_path / "file").write_text("x")
    _refused(runner.invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args]), *expected)


def test_memory_estimate_and_workers(monkeypatch):
    """The estimate grows with agents, concurrent runs and worker processes; a run that does not
    fit is refused with the estimate and the limit."""
    p = sim.Params()
    one = resources.check_memory(p, 1_000_000, 1985, 22)
    n = resources.slots(p, 1_000_000, 1985, 22)
    assert n > 1_000_000 and one == resources.PEAK_BYTES_PER_SLOT * n
    assert resources.run_bytes(n, 2, 2) == 2 * one + 2 * resources.BASE_BYTES
    monkeypatch.setattr(resources, "available_memory", lambda: (one + 2**20, "test"))
    resources.check_memory(p, 1_000_000, 1985, 22)
    with pytest.raises(LimitError, match=r"--agents 1000000 x 2 concurrent runs needs about "
                                         r".* GiB .* than the .* GiB available \(test\)"):
        resources.check_memory(p, 1_000_000, 1985, 22, runs=2, processes=2)
    with pytest.raises(BatchError, match="x 2 concurrent runs"):
        run_batch(["baseline"], out="/nonexistent/never", agents=1_000_000,
                                        replicates=2, workers=2)


def test_available_memory_reads_meminfo():
    avail, src = resources.available_memory()
    assert avail > 0 and ("MemAvailable" in src or "sysconf" in src or "cgroup" in src)


# ------------------------------------------------------------------ empty scenario files
@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("# only a comment\n", "is empty"),
    ('name = "x"\ndescription = "nothing"\n', "changes nothing"),
    ('name = "x"\n[params]\n', "changes nothing"),
])
def test_empty_scenarios_refused(tmp_path, text, expected):
    f = tmp_path / "s.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError, match=expected):
        load_scenario(f)
    _refused(runner.invoke(app, ["run", str(f), *TINY, "--out", str(tmp_path / "r")]),
             str(f), expected)
    _no_run_dir(tmp_path)


def test_alias_and_period_only_scenarios_load(tmp_path):
    (tmp_path / "a.toml").write_text('base = "baseline"\n')
    (tmp_path / "b.toml").write_text("start_year = 1990\nyears = 3\n")
    assert load_scenario(tmp_path / "a.toml").params == {}
    assert load_scenario(tmp_path / "b.toml").years == 3


# ------------------------------------------------------------------ generated scenario files
def _value(p, x: float) -> str:
    return repr(round(p.lo + x * (p.hi - p.lo), 6))


@st.composite
def valid_scenarios(draw) -> str:
    chosen = draw(st.lists(st.sampled_from(VALID_FLOATS), min_size=1, max_size=4,
                           unique_by=lambda p: p.name))
    lines = ['base = "baseline"', f'description = "{draw(st.text("abc xyz", max_size=20))}"']
    if draw(st.booleans()):
        lines.append(f"start_year = {draw(st.integers(1985, 2010))}")
    lines.append("[params]")
    for p in chosen:
        x = draw(st.floats(0, 1))
        if draw(st.booleans()):
            y0 = draw(st.integers(1985, 2000))
            lines.append(f'{p.name} = {{ "{y0}" = {_value(p, x)}, "{y0 + 5}" = '
                         f"{_value(p, 1 - x)} }}")
        else:
            lines.append(f"{p.name} = {_value(p, x)}")
    return "\n".join(lines) + "\n"


_IDENT = st.from_regex(r"[a-z][a-z_]{2,15}", fullmatch=True)


@st.composite
def broken_scenarios(draw) -> tuple[str, str]:
    """(file text, text the error must contain besides the file name)."""
    p = draw(st.sampled_from(FLOATS))
    kind = draw(st.sampled_from(["unknown_param", "too_high", "too_low", "string", "top_key",
                                 "years", "start_year", "path_year", "base", "syntax",
                                 "empty"]))
    head = 'base = "baseline"\n'
    if kind == "unknown_param":
        name = draw(_IDENT.filter(lambda s: s not in schema()))
        return f"{head}[params]\n{name} = 1.0\n", f"'{name}'"
    if kind in ("too_high", "too_low"):
        d = draw(st.floats(1e-3, 1e6))
        v = p.hi + d if kind == "too_high" else p.lo - d
        return f"{head}[params]\n{p.name} = {v!r}\n", p.name
    if kind == "string":
        return f'{head}[params]\n{p.name} = "{draw(_IDENT)}"\n', p.name
    if kind == "top_key":
        key = draw(_IDENT.filter(lambda s: s not in ("name", "description", "base",
                                                     "start_year", "years", "params")))
        return f"{head}{key} = 1\n", f"'{key}'"
    if kind == "years":
        return f"{head}years = {draw(st.sampled_from([0, -3, 201, 10**6]))}\n", "'years'"
    if kind == "start_year":
        return f'{head}start_year = "{draw(_IDENT)}"\n', "'start_year'"
    if kind == "path_year":
        return f'{head}[params]\n{p.name} = {{ "{draw(_IDENT)}" = 0.0 }}\n', p.name
    if kind == "base":
        name = draw(_IDENT)
        return f'base = "{name}_missing"\n', "base scenario"
    if kind == "syntax":
        return f"{head}years = = {draw(st.integers(1, 9))}\n", "TOML syntax error"
    return "", "empty"


@SETTINGS
@given(case=broken_scenarios())
def test_generated_broken_scenarios_refused(case):
    text, expected = case
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "gen.toml"
        f.write_text(text)
        out = Path(d) / "run"
        err = _refused(runner.invoke(app, ["run", str(f), *TINY, "--out", str(out)]), expected)
        assert str(f) in err  # names the file
        assert not out.exists()
        _no_run_dir(Path(d))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=valid_scenarios())
def test_generated_valid_scenarios_run(text):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "gen.toml"
        f.write_text(text)
        out = Path(d) / "run"
        result = runner.invoke(app, ["run", str(f), *TINY, "--out", str(out)])
        assert result.exit_code == 0, (text, result.output)
        man = json.loads((out / MANIFEST).read_text())
        assert man["status"] == "complete" and man["scenario"] == "gen"


# ------------------------------------------------------------------ generated --set values
@st.composite
def broken_sets(draw) -> tuple[str, str]:
    p = draw(st.sampled_from(FLOATS))
    kind = draw(st.sampled_from(["range", "word", "unknown", "path", "path_range", "no_eq"]))
    if kind == "range":
        return f"{p.name}={p.hi + draw(st.floats(1e-3, 1e9))!r}", p.name
    if kind == "word":
        return f"{p.name}={draw(_IDENT)}", p.name
    if kind == "unknown":
        name = draw(_IDENT.filter(lambda s: s not in schema()))
        return f"{name}=0.5", f"'{name}'"
    if kind == "path":
        return f"{p.name}={draw(_IDENT)}:{p.lo}", p.name
    if kind == "path_range":
        return f"{p.name}=1990:{p.lo},2000:{p.hi + 1}", p.name
    return draw(_IDENT), "key=value"


@SETTINGS
@given(case=broken_sets())
def test_generated_broken_sets_refused(case):
    assignment, expected = case
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "run"
        err = _refused(runner.invoke(app, ["run", *TINY, "--out", str(out), "--set",
                                           assignment]), expected)
        assert "--set" in err or "key=value" in err
        assert not out.exists()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=st.sampled_from(VALID_FLOATS), x=st.floats(0, 1), path=st.booleans())
def test_generated_valid_sets_run(p, x, path):
    value = f"1990:{_value(p, x)},2000:{_value(p, 1 - x)}" if path else _value(p, x)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "run"
        result = runner.invoke(app, ["run", *TINY, "--out", str(out), "--set",
                                     f"{p.name}={value}"])
        assert result.exit_code == 0, result.output
        assert json.loads((out / MANIFEST).read_text())["status"] == "complete"


# ------------------------------------------------------------------ existing runs, full disks
def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture
def complete_run(tmp_path) -> Path:
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_run_failing_midway_leaves_existing_run_intact(complete_run, monkeypatch):
    before = _snapshot(complete_run)
    real_step = sim.Simulation.step

    def step(self):
        if self.t == 5:
            raise FloatingPointError("diverged in month 6")
        real_step(self)

    monkeypatch.setattr(sim.Simulation, "step", step)
    result = runner.invoke(app, ["run", *TINY, "--seed", "2", "--out", str(complete_run)])
    assert result.exit_code != 0 and isinstance(result.exception, FloatingPointError)
    assert _snapshot(complete_run) == before
    assert [p.name for p in complete_run.parent.iterdir()] == ["run"]


@pytest.mark.parametrize("victim", ["write_parquet", "_save"])
def test_full_disk_while_writing(complete_run, monkeypatch, victim):
    """ENOSPC at the Parquet or a PNG write: one clear line, the temporary directory removed,
    the previous run byte-identical, nothing else that looks complete."""
    before = _snapshot(complete_run)
    real = getattr(output, victim)
    calls = []

    def full(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2 or victim == "write_parquet":  # the second PNG, or the Parquet
            path = next((a for a in args if isinstance(a, Path)), None)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(*args, **kwargs)

    monkeypatch.setattr(output, victim, full)
    result = runner.invoke(app, ["run", *TINY, "--seed", "3", "--out", str(complete_run)])
    err = _refused(result, "No space left on device", str(complete_run),
                   "the previous run there is untouched")
    assert "nothing was written" in err
    assert _snapshot(complete_run) == before
    assert [p.name for p in complete_run.parent.iterdir()] == ["run"]  # no temporary left
    fresh = complete_run.parent / "fresh"
    calls.clear()
    _refused(runner.invoke(app, ["run", *TINY, "--out", str(fresh)]), "No space left")
    assert not fresh.exists()
    assert [p.name for p in complete_run.parent.iterdir()] == ["run"]
