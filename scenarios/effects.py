"""Each scenario's effect in its last year, with a replicate interval, into ``scenarios/README.md``.

    python scenarios/effects.py --run /tmp/effects      # run the batch, then write the table
    python scenarios/effects.py /tmp/effects            # write the table from a finished batch
    python scenarios/effects.py --run /tmp/today --base baseline_2035   # today's scenarios

The batch is every scenario built on ``baseline_2015`` (1985-2015; or on ``--base``: today's
scenarios on ``baseline_2035``, 1985-2035, forked from the shared history) and that baseline, with
``--replicates`` replicates of ``--agents`` persons each (common random numbers: replicate r uses
seed 1 + r in every scenario). The effect is the mean paired difference scenario minus baseline in
the last year and its 95% t interval over replicates (``sim.experiments.effects.effects_table``),
for the migrant stock and for the rural-origin urban population (migrants plus those who converted
to a local hukou); for today's scenarios also the urbanisation rate by hukou, in points.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- effects:start -->", "<!-- effects:end -->"
BASE = "baseline_2015"
# base scenario -> (the README block it writes, run the batch with --fork)
FAMILIES = {BASE: (START, END, False),
            "baseline_2035": ("<!-- effects-today:start -->", "<!-- effects-today:end -->", True)}
INDICATORS = ("migrant_stock", "rural_origin_urban_population")
# today's scenarios also report the urbanisation rate by hukou (issue 14, part 5)
EXTRA = {"baseline_2035": ("urbanisation_by_hukou",)}
LABELS = {"migrant_stock": "migrant stock",
          "rural_origin_urban_population": "rural-origin urban population",
          "urbanisation_by_hukou": "urbanisation by hukou"}
SHARES = {"urbanisation_by_hukou"}  # in points of the population; the others in millions


def policy_scenarios(base: str = BASE) -> list[str]:
    """Scenarios that descend from ``base``, in name order."""
    parent = {}
    for f in sorted(HERE.glob("*.toml")):
        parent[f.stem] = tomllib.loads(f.read_text(encoding="utf-8")).get("base")

    def descends(name: str) -> bool:
        seen = set()
        while name in parent and name not in seen:
            seen.add(name)
            name = parent[name]
            if name == base:
                return True
        return False

    return [n for n in parent if n != base and descends(n)]


def run_batch(out: Path, agents: int, replicates: int, base: str = BASE) -> None:
    cmd = [sys.executable, "-m", "sim.cli", "batch", base, *policy_scenarios(base), "--out",
           str(out), "--replicates", str(replicates), "--agents", str(agents), "-q"]
    subprocess.run(cmd + (["--fork"] if FAMILIES[base][2] else []), check=True)


def _divisor(ind: str) -> float:
    """What an indicator is divided by for the table: a share in percent (its effect in
    points), a count in millions."""
    return 0.01 if ind in SHARES else 1e6


def table(batch: Path, base: str = BASE) -> str:
    from sim.experiments import store
    from sim.experiments.effects import effects_table

    inds = (*INDICATORS, *EXTRA.get(base, ()))
    frame = store.load(batch, inds)
    eff = effects_table(frame, base, list(inds))
    n = int(eff["n"].max())
    year = int(frame["year"].max())
    agents = store.read_json(batch / "batch.json")["agents"]
    points = [LABELS[i] for i in inds if i in SHARES]
    lines = [
        f"Last year {year}; {n} replicates of {agents:,} persons each (common random numbers); "
        f"effect = mean paired difference from `{base}`, millions of persons"
        + (f" ({', '.join(points)}: percentage points)" if points else "")
        + ", with its 95% interval over replicates; % = relative to the baseline's mean.",
        "",
        "| scenario | " + " | ".join(f"{LABELS[i]}: effect (95% interval) | %" for i in inds)
        + " |",
        "|---|" + "---|---|" * len(inds),
    ]
    for scen, grp in eff.groupby("scenario", sort=False):
        cells = []
        for ind in inds:
            r = grp[grp["indicator"] == ind].iloc[0]
            d = _divisor(ind)
            m, lo, hi = r.mean_diff / d, r.ci_low / d, r.ci_high / d
            cells.append(f"{m:+.2f} ({lo:+.2f}, {hi:+.2f})")
            cells.append(f"{r.rel_effect_pct:+.1f}")
        lines.append(f"| `{scen}` | " + " | ".join(cells) + " |")
    means = eff.groupby("indicator")["baseline_mean"].first()
    parts = [f"{LABELS[i]} {means[i] / _divisor(i):.1f}"
             + (" %" if i in SHARES else " million") for i in inds]
    lines += ["", f"Baseline means in {year}: {', '.join(parts)}."]
    return "\n".join(lines)


def write(batch: Path, base: str = BASE) -> None:
    from sim.engine.describe import refresh_block

    start, end, _ = FAMILIES[base]
    refresh_block(README, start, end, table(batch, base))
    print(f"{README}: written from {batch}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("batch", type=Path, help="batch directory")
    ap.add_argument("--run", action="store_true", help="run the batch first (resumable)")
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--replicates", type=int, default=4)
    ap.add_argument("--base", choices=list(FAMILIES), default=BASE,
                    help="the family of scenarios: those built on this base")
    args = ap.parse_args(argv)
    if args.run:
        run_batch(args.batch, args.agents, args.replicates, args.base)
    write(args.batch, args.base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
