"""Core performance benchmark for migsim: throughput, per-stage time, memory, JIT compile time.

Each (population, threads) case runs in a fresh subprocess so that numba's thread pool and the
peak RSS are isolated. Inside each child:

1. ``import sim`` and a tiny warm-up run (2,000 agents, 1 year) so JIT compilation (or cache
   loading) is excluded from the timed run; the child's peak RSS after this is the *baseline*.
2. ``Simulation(agents=N, start_year=1995, years=ceil(months/12), threads=T)`` is built
   (``build_seconds``) and run (``run_seconds``).
3. Reported: agent-steps/s = agents * months / run_seconds, ``timings`` per stage,
   ``memory_bytes()`` per person, and peak RSS per person (raw, and net of the baseline).

JIT compile time is measured with two extra children that share a fresh, empty
``NUMBA_CACHE_DIR``: the first (cold) compiles everything and writes the cache, the second (warm)
loads it. Each times ``import sim`` + first tiny Simulation (build + run).

Usage::

    python benchmarks/bench_core.py                      # 1e5 1e6 5e6 x 1 2 threads, 24 months
    python benchmarks/bench_core.py --quick              # 1e5 only
    python benchmarks/bench_core.py --agents 1e6 --threads 1 --months 12
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARMUP_AGENTS = 2_000
START_YEAR = 1995


# ---------------------------------------------------------------------------- child side
def _rss_now() -> int:
    """Current resident set size in bytes (Linux /proc), or -1."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def _maxrss() -> int:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024  # Linux reports KiB


def child_case(agents: int, threads: int, months: int, seed: int) -> dict:
    t0 = time.perf_counter()
    import numba

    import sim

    import_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    # two years, so the January stages (ageing, entry, weddings) load their compiled kernels
    # before the timed run as the monthly ones do (one year left ~0.06 s of cache loading in
    # the first January of the timed run, 2-3% of a 48-month run at 1e6; from session 21)
    w = sim.Simulation(agents=WARMUP_AGENTS, seed=seed, start_year=START_YEAR, years=2,
                       threads=threads)
    w.run()
    warmup_s = time.perf_counter() - t1
    del w
    import gc

    gc.collect()
    base_max = _maxrss()
    base_now = _rss_now()

    years = max(1, math.ceil(months / 12))
    s = sim.Simulation(agents=agents, seed=seed, start_year=START_YEAR, years=years,
                       threads=threads)
    build_max = _maxrss()
    build_now = _rss_now()
    load_before = os.getloadavg()
    cpu0 = os.times()
    s.run()
    cpu1 = os.times()
    load_after = os.getloadavg()
    cpu_run = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    n_months = s.n_months
    peak = _maxrss()
    run_now = _rss_now()
    mem = s.memory_bytes()
    state = sum(mem.values())
    return {
        "agents": agents, "threads": threads, "months": n_months, "years": years,
        "numba_threads_config": numba.config.NUMBA_NUM_THREADS,
        "numba_threads_used": numba.get_num_threads(),
        "import_seconds": import_s, "warmup_seconds": warmup_s,
        "build_seconds": s.build_seconds, "run_seconds": s.run_seconds,
        "agent_steps_per_second": agents * n_months / s.run_seconds,
        "run_cpu_seconds": cpu_run,
        "agent_steps_per_cpu_second": agents * n_months / max(cpu_run, 1e-9),
        "loadavg_before_run": load_before, "loadavg_after_run": load_after,
        "stage_seconds": dict(s.timings),
        "memory_bytes": mem, "state_bytes": state, "state_bytes_per_person": state / agents,
        "baseline_maxrss_bytes": base_max, "baseline_rss_bytes": base_now,
        "peak_rss_bytes": peak,
        "maxrss_after_build_bytes": build_max, "rss_after_build_bytes": build_now,
        "rss_after_run_bytes": run_now,
        "rss_after_run_per_person_net": (run_now - base_now) / agents,
        "peak_rss_per_person_raw": peak / agents,
        "peak_rss_per_person_net": (peak - base_max) / agents,
    }


def child_jit(seed: int) -> dict:
    t0 = time.perf_counter()
    import sim

    t_import = time.perf_counter() - t0
    s = sim.Simulation(agents=WARMUP_AGENTS, seed=seed, start_year=START_YEAR, years=1)
    t_build = time.perf_counter() - t0 - t_import
    s.run()
    total = time.perf_counter() - t0
    return {"import_seconds": t_import, "first_build_seconds": t_build,
            "first_run_seconds": total - t_import - t_build, "total_seconds": total}


# ---------------------------------------------------------------------------- parent side
def _spawn(args: list[str], env: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    t0 = time.perf_counter()
    try:
        cp = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["child_wall_seconds"] = wall
            return out
    tail = (cp.stderr or "").strip().splitlines()[-5:]
    return {"error": f"child exit code {cp.returncode}", "stderr_tail": tail,
            "child_wall_seconds": wall}


def _machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_total = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    import numba
    import numpy

    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity") else None, "cpu_model": cpu,
            "mem_total_bytes": mem_total, "python": platform.python_version(),
            "numba": numba.__version__, "numpy": numpy.__version__,
            "platform": platform.platform()}


def _git_rev() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return None


def _sim_source_hash() -> str:
    """sha256 (12 hex) over sim/**/*.py, to identify the measured code in a dirty work tree."""
    import hashlib

    h = hashlib.sha256()
    root = HERE.parent / "sim"
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _git_dirty() -> bool | None:
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "sim"], cwd=HERE.parent,
                             capture_output=True, text=True, check=True).stdout
        return bool(out.strip())
    except Exception:  # noqa: BLE001
        return None


def _fmt_n(n: int) -> str:
    for div, suf in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % (div // 10) == 0:
            v = n / div
            return f"{v:g}{suf}"
    return str(n)


def markdown(results: dict) -> str:
    stages = None
    rows = []
    for c in results["cases"]:
        if "error" in c:
            rows.append(f"| {_fmt_n(c['agents'])} | {c['threads']} | failed: {c['error']} "
                        "| | | | | | | | | |")
            continue
        stages = list(c["stage_seconds"])
        rows.append(
            f"| {_fmt_n(c['agents'])} | {c['threads']} | {c['months']} "
            f"| {c['build_seconds']:.2f} | {c['run_seconds']:.2f} "
            f"| {c['agent_steps_per_second'] / 1e6:.2f} "
            f"| {c['agent_steps_per_cpu_second'] / 1e6:.2f} "
            f"| {c['loadavg_before_run'][0]:.1f} "
            f"| {c['state_bytes_per_person']:.0f} "
            f"| {c['peak_rss_per_person_raw']:.0f} | {c['peak_rss_per_person_net']:.0f} "
            f"| {c['rss_after_run_per_person_net']:.0f} |")
    out = ["| agents | threads | months | build s | run s | M agent-steps/s "
           "| M agent-steps/CPU-s | load (1 min) | state B/person | peak RSS B/person (raw) "
           "| peak RSS B/person (net) "
           "| RSS after run B/person (net) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *rows]
    if stages:
        out += ["", "Per-stage seconds (sum over all months):", "",
                "| agents | threads | " + " | ".join(stages) + " |",
                "|---:|---:|" + "---:|" * len(stages)]
        for c in results["cases"]:
            if "error" in c:
                continue
            out.append(f"| {_fmt_n(c['agents'])} | {c['threads']} | "
                       + " | ".join(f"{c['stage_seconds'][s]:.3f}" for s in stages) + " |")
        out += ["", "State bytes per person by component (memory_bytes() / agents):", "",
                "| agents | " + " | ".join(results["cases"][0].get("memory_bytes", {}))
                + " |", "|---:|" + "---:|" * len(results["cases"][0].get("memory_bytes", {}))]
        seen = set()
        for c in results["cases"]:
            if "error" in c or c["agents"] in seen:
                continue
            seen.add(c["agents"])
            out.append(f"| {_fmt_n(c['agents'])} | "
                       + " | ".join(f"{v / c['agents']:.1f}" for v in c["memory_bytes"].values())
                       + " |")
    jit = results.get("jit")
    if jit:
        out += ["", "JIT (import sim + first 2,000-agent, 1-year Simulation build + run):", "",
                "| cache | import s | first build s | first run s | total s |",
                "|---|---:|---:|---:|---:|"]
        for k in ("cold", "warm"):
            j = jit.get(k, {})
            if "error" in j:
                out.append(f"| {k} | failed: {j['error']} | | | |")
            elif j:
                out.append(f"| {k} | {j['import_seconds']:.2f} | {j['first_build_seconds']:.2f} "
                           f"| {j['first_run_seconds']:.2f} | {j['total_seconds']:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=float, nargs="+", default=[1e5, 1e6, 5e6],
                    help="populations (default: 1e5 1e6 5e6)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="numba thread counts (default: 1 2)")
    ap.add_argument("--months", type=int, default=24,
                    help="months to run; rounded up to whole years (default 24)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON output (default benchmarks/results/core-<date>.json)")
    ap.add_argument("--quick", action="store_true", help="1e5 agents only")
    ap.add_argument("--no-jit", action="store_true", help="skip the cold/warm JIT measurement")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per child (default 3600)")
    ap.add_argument("--_child", choices=["case", "jit"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a._child == "case":
        res = child_case(int(a.agents[0]), a.threads[0], a.months, a.seed)
        print("RESULT " + json.dumps(res), flush=True)
        return 0
    if a._child == "jit":
        print("RESULT " + json.dumps(child_jit(a.seed)), flush=True)
        return 0

    agents = [100_000] if a.quick else [int(x) for x in a.agents]
    results = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "git": _git_rev(),
               "sim_dirty": _git_dirty(), "sim_source_hash_start": _sim_source_hash(),
               "machine": _machine(), "months": a.months, "start_year": START_YEAR,
               "warmup_agents": WARMUP_AGENTS, "cases": [], "jit": {}}

    if not a.no_jit:
        cache = tempfile.mkdtemp(prefix="migsim-numba-cache-")
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        try:
            for k in ("cold", "warm"):
                r = _spawn(["--_child", "jit", "--seed", str(a.seed)], env, a.timeout)
                results["jit"][k] = r
                print(f"[jit {k}] {r.get('total_seconds', r.get('error'))}", file=sys.stderr,
                      flush=True)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    for n in agents:
        for t in a.threads:
            env = dict(os.environ, NUMBA_NUM_THREADS=str(t))
            r = _spawn(["--_child", "case", "--agents", str(n), "--threads", str(t),
                        "--months", str(a.months), "--seed", str(a.seed)], env, a.timeout)
            r.setdefault("agents", n)
            r.setdefault("threads", t)
            results["cases"].append(r)
            msg = (f"{r['agent_steps_per_second'] / 1e6:.2f} M steps/s, "
                   f"{r['state_bytes_per_person']:.0f} B/person" if "error" not in r
                   else r["error"])
            print(f"[{n} agents x {t} threads] {msg}", file=sys.stderr, flush=True)

    results["sim_source_hash_end"] = _sim_source_hash()
    if results["sim_source_hash_end"] != results["sim_source_hash_start"]:
        print("warning: sim/ sources changed during the benchmark", file=sys.stderr)
    out = a.out or HERE / "results" / f"core-{_dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
