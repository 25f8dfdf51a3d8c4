"""Sobol' indices of the fitted targets on the history-matching emulators (issue 13, item 2).

Usage (from the repository root, with the ``calibrate`` extra installed)::

    python calibration/sobol.py --n 8192 --seed 0 --out calibration/results

Reads the committed design runs ``hm_<version>_design.csv`` and the settings
``hm_<version>.json`` (the eight parameters and their declared ranges, the 27 fitted targets),
fits one GP emulator per target on the wave-1 runs only (the Latin hypercube over the whole
prior box; waves 2 and 3 sit in the tiny non-implausible region, and indices over the box need
an emulator that is accurate over the box), reports each emulator's leave-one-out R^2, and
computes S1 and ST of every target over the box by SALib (n (d + 2) emulator evaluations). The
emulators are the history matching's wave-1 emulators (same class and settings), reused from
its pickle cache (``--cache``, the same default) when present, else fitted (minutes).
Writes ``sobol_<version>.csv`` (target x parameter: S1, ST, their 95% bootstrap half-widths,
the emulator's runs and leave-one-out R^2) and ``sobol_<version>.png`` (heat maps of ST and
S1), and prints the parameters whose ST is below ``--threshold`` on every target.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def plot(df: pd.DataFrame, params: list[str], targets: list[str], path: Path, title: str,
         r2_ok: float) -> Path:
    """Heat maps of ST and S1, targets by parameters; targets whose emulator's leave-one-out
    R^2 is below ``r2_ok`` are marked with an asterisk."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.experiments.emulator import atomic_write

    r2 = df.groupby("output", sort=False)["loo_r2"].first()
    labels = [f"{t} (R² {r2[t]:.2f})" + (" *" if r2[t] < r2_ok else "") for t in targets]
    fig, axes = plt.subplots(1, 2, figsize=(15, 0.3 * len(targets) + 3.2), sharey=True)
    for ax, col in zip(axes, ["ST", "S1"], strict=True):
        m = df.pivot(index="output", columns="parameter", values=col).loc[targets, params]
        v = m.to_numpy(float)
        im = ax.imshow(np.clip(v, 0, 1), aspect="auto", cmap="magma_r", vmin=0, vmax=1)
        for i, j in np.ndindex(v.shape):
            ax.text(j, i, f"{v[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if v[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(params)), params, rotation=40, ha="right", fontsize=7)
        ax.set_title(f"{col} ({'total' if col == 'ST' else 'first-order'} index)", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    axes[0].set_yticks(range(len(targets)), labels, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=80, format="png"))
    plt.close(fig)
    return path


def main() -> None:
    from sim.experiments.emulator import write_csv
    from sim.experiments.sobol import design_emulator, sobol_indices

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=8192, help="base sample (power of two)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the Sobol' sample and bootstrap")
    ap.add_argument("--out", type=Path, default=Path("calibration/results"))
    ap.add_argument("--version", default="0.7.0", help="tag of the hm_<version> files")
    ap.add_argument("--results", type=Path, default=Path("calibration/results"),
                    help="directory of the hm_<version> files")
    ap.add_argument("--waves", type=int, nargs="+", default=[1], help="design waves to fit on")
    ap.add_argument("--emulator-seed", type=int, default=0, help="as the history matching's")
    ap.add_argument("--cache", type=Path,
                    default=Path(tempfile.gettempdir()) / "migsim_emulators",
                    help="fitted emulators (pickles) to reuse: the history matching's default")
    ap.add_argument("--threshold", type=float, default=0.05, help="ST below: not identified")
    ap.add_argument("--r2-ok", type=float, default=0.7, help="LOO R^2 below: indicative only")
    a = ap.parse_args()

    t0 = time.time()
    meta = json.loads((a.results / f"hm_{a.version}.json").read_text())
    bounds = {k: (float(v[0]), float(v[1])) for k, v in meta["params"].items()}
    params, targets = list(bounds), list(meta["targets"])
    design = pd.read_csv(a.results / f"hm_{a.version}_design.csv")
    predict, acc = design_emulator(design, bounds, targets, waves=a.waves,
                                   seed=a.emulator_seed, cache=a.cache)
    t_fit = time.time() - t0
    df = sobol_indices(predict, bounds, a.n, a.seed, outputs=targets)
    df = df.merge(acc[["output", "runs", "loo_r2"]], on="output", how="left")
    t_all = time.time() - t0
    csv, png = (a.out / f"sobol_{a.version}.{ext}" for ext in ("csv", "png"))
    write_csv(df, csv, float_format="%.4g")
    plot(df, params, targets, png,
         f"Sobol' indices of the fitted targets on GP emulators of the design runs of wave(s) "
         f"{', '.join(map(str, a.waves))} "
         f"(model {a.version}); N = {a.n}, {a.n * (len(params) + 2)} emulator evaluations; "
         f"* leave-one-out R² < {a.r2_ok}", a.r2_ok)

    pd.set_option("display.width", 200)
    print(f"emulators on waves {a.waves}: {t_fit:.0f} s; indices: {t_all - t_fit:.0f} s")
    print(acc.round(3).to_string(index=False))
    st = df.pivot(index="output", columns="parameter", values="ST").loc[targets, params]
    print("\nST (target x parameter):")
    print(st.round(2).to_string())
    weak = [p for p in params if (st[p] < a.threshold).all()]
    ok = acc.set_index("output")["loo_r2"] >= a.r2_ok
    weak_ok = [p for p in params if (st.loc[ok[ok].index, p] < a.threshold).all()]
    print(f"\nST < {a.threshold} on every target (weakly identified by these targets): "
          f"{weak or 'none'}")
    print(f"... on every target whose emulator has LOO R^2 >= {a.r2_ok}: {weak_ok or 'none'}")
    print(f"wrote {csv} and {png} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
