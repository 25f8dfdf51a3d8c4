"""The figures of the README and the documentation site: one run of the default scenario.

    python docs/make_figures.py              # 100,000 agents, seed 1 (about half a minute)
    python docs/make_figures.py --agents 200000 --seed 2

Writes PNGs into docs/figures/: the migrant stock (migrant_stock.png), its shares by distance
class (stock_by_distance.png), the age profile of migrants (age_profile.png) and the share of
each birth cohort away by age (cohorts.png, the run directory's plot), the children left behind
by age and the parents away by age (children.png, likewise); and one run of the
present-day projection ``baseline_2035`` (1985-2035, 200,000 agents) drawn with the run
directory's plots, out-of-sample years shaded: baseline_2035_stock.png,
baseline_2035_distance.png, baseline_2035_profile.png, baseline_2035_urbanisation.png. Re-run
it when
a default moves results, and commit the PNGs. The captions in README.md and docs/index.md name
the size and seed used here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import sim  # noqa: E402
from sim.core.encodings import HOME, RURAL  # noqa: E402
from sim.core.geography import DIST_CLASS_NAMES  # noqa: E402
from sim.experiments.scenario import load_scenario  # noqa: E402
from sim.io.output import (  # noqa: E402
    plot_children,
    plot_cohorts,
    plot_distance_shares,
    plot_profile,
    plot_stock,
    plot_urbanisation,
)

OUT = Path(__file__).resolve().parent / "figures"
STYLE = {"figure.figsize": (7.0, 3.8), "figure.dpi": 100, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 10}


def run(agents: int, seed: int):
    """The default scenario (``baseline``, 1985-2006); returns the simulation and its results."""
    sc = load_scenario("baseline")
    model = sim.Simulation(sc.to_params(), agents=agents, seed=seed,
                           start_year=sc.start_year, years=sc.years)
    return model, model.run()


def present_day(agents: int, seed: int):
    """The present-day projection (``baseline_2035``, 1985-2035); returns its results."""
    sc = load_scenario("baseline_2035")
    return sim.Simulation(sc.to_params(), agents=agents, seed=seed, start_year=sc.start_year,
                          years=sc.years).run()


def years_of(res) -> np.ndarray:
    year, _ = res.calendar()
    return np.unique(year)


def stock_figure(res, caption: str) -> plt.Figure:
    """Migrant stock in December of each year, with the seed report's figures."""
    years = years_of(res)
    fig, ax = plt.subplots()
    ax.plot(years, res.annual("migrant_stock") / 1e6, lw=2, label="simulated")
    ax.fill_between([2005.5, 2006.5], 120, 150, color="0.8",
                    label="seed 1.2: 120-150 M in 2006")
    ax.plot([1985], [2], "o", color="0.3", label="seed: about 2 M in the mid-1980s")
    ax.set(xlabel="year", ylabel="million persons", title="Rural migrants in the cities")
    ax.legend(frameon=False, loc="upper left")
    fig.text(0.01, 0.01, caption, fontsize=8, color="0.4")
    return fig


def distance_figure(res, caption: str) -> plt.Figure:
    """Shares of the migrant stock by distance class (December of each year)."""
    years = years_of(res)
    shares = [res.annual("share_stock", f"dist:{name}") for name in DIST_CLASS_NAMES]
    fig, ax = plt.subplots()
    ax.stackplot(years, *shares, labels=[n.replace("_", " ") for n in DIST_CLASS_NAMES],
                 alpha=0.85)
    ax.set(xlabel="year", ylabel="share of the migrant stock", ylim=(0, 1),
           title="Migrant stock by distance moved")
    ax.legend(frameon=False, loc="lower left", fontsize=8)
    fig.text(0.01, 0.01, caption, fontsize=8, color="0.4")
    return fig


def age_figure(model, res, caption: str) -> plt.Figure:
    """Left: ages of migrants and of those at home at the end of the run. Right: the share of
    migrants aged 15-29 and their mean age over time."""
    p = model.persons
    rural = p.hukou == RURAL
    away = rural & (p.loc != HOME)
    home = rural & (p.loc == HOME)
    bins = np.arange(15, 66, 5)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.0, 3.8))
    for sel, label in ((away, "migrants"), (home, "at home")):
        h, _ = np.histogram(p.age[sel], bins=bins)
        a1.bar(bins[:-1] + (3.5 if label == "at home" else 1.5), h / max(h.sum(), 1),
               width=2.0, label=label)
    a1.set(xlabel="age", ylabel="share of the group", title=f"Ages in {years_of(res)[-1]}")
    a1.legend(frameon=False)
    years = years_of(res)
    a2.plot(years, res.annual("share_aged_15_29"), lw=2, label="share aged 15-29")
    a2.axhline(0.71, color="0.5", ls="--", lw=1, label="seed 1.3: 71% aged 15-29")
    a2.set(xlabel="year", ylabel="share", ylim=(0, 1), title="Migrants' age over time")
    ax3 = a2.twinx()
    ax3.plot(years, res.annual("mean_age"), color="C2", lw=1.5, label="mean age (right)")
    ax3.set_ylabel("mean age, years")
    ax3.spines["top"].set_visible(False)
    lines = a2.get_legend_handles_labels()
    more = ax3.get_legend_handles_labels()
    a2.legend(lines[0] + more[0], lines[1] + more[1], frameon=False, loc="lower left",
              fontsize=8)
    fig.text(0.01, 0.01, caption, fontsize=8, color="0.4")
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--present-agents", type=int, default=200_000,
                    help="agents of the baseline_2035 run")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    model, res = run(args.agents, args.seed)
    caption = (f"migsim {sim.__version__}, scenario baseline, {args.agents:,} agents, "
               f"seed {args.seed} (python docs/make_figures.py)")
    args.out.mkdir(parents=True, exist_ok=True)
    plt.rcParams.update(STYLE)
    figs = {"migrant_stock.png": stock_figure(res, caption),
            "stock_by_distance.png": distance_figure(res, caption),
            "age_profile.png": age_figure(model, res, caption)}
    for name, fig in figs.items():
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        fig.savefig(args.out / name)
        plt.close(fig)
    plot_cohorts(res, args.out / "cohorts.png")  # as in every run directory
    plot_children(res, args.out / "children.png")  # likewise
    present = present_day(args.present_agents, args.seed)
    for name, plot in (("stock", plot_stock), ("distance", plot_distance_shares),
                       ("profile", plot_profile), ("urbanisation", plot_urbanisation)):
        plot(present, args.out / f"baseline_2035_{name}.png")
    print(f"{len(figs) + 6} figures in {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
