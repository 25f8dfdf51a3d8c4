"""Where the recovery's truths stand under the emulator that fits them back (issue 13, item 4).

    python calibration/truth_implausibility.py --tag hm_0.16.0
    python calibration/truth_implausibility.py --tag hm_0.16.0 --refit-kmax 3   # ~5 min

Refits the wave-1 emulator of a committed calibration from its design runs (``<tag>_design.csv``,
as the pipeline does: leave-one-out inflation included) and predicts every committed truth
(``<tag>_recovery_runs.csv`` and, when present, ``<tag>_recovery60_runs.csv``). Prints, for the
truths' own runs (``run_only``) and with the pipeline's observation error added
(``with_obs_error``), the share of truths whose own parameter point is implausible (largest,
second and third largest implausibility over the targets above the cut-off), and by target the
variance of (run - emulator mean) / sqrt(Var_em + Var_noise), which is 1 for an emulator whose
stated uncertainty is right. With ``--refit-kmax K`` the committed truths are fitted back again
with the k-th largest implausibility as the cut (the pipeline's recovery, ``history_match``'s
stage 5, on copies of the committed runs in a temporary directory) and the coverage printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def _setup(tag: str):
    """The committed calibration's settings, observation and refitted wave-1 emulator."""
    from sim.experiments import emulator as E
    from sim.experiments.committed import committed_calibration

    c = committed_calibration(RESULTS, tag)
    s, params, bounds, names = c["settings"], c["params"], c["bounds"], c["names"]
    design = pd.read_csv(RESULTS / f"{tag}_design.csv")
    w1 = design[design["wave"] == 1]
    cache = Path(tempfile.gettempdir()) / "migsim_emulators"
    em = E.fit_cached(E.to_unit(w1[params].to_numpy(), bounds), w1[names].to_numpy(), cache,
                      seed=s.seed)
    em.validate(c["obs"])
    return c["summary"], s, params, bounds, names, c["obs"], em


def truth_files(tag: str) -> list[str]:
    """The committed truths' run files of ``tag``."""
    return [f for f in (f"{tag}_recovery_runs.csv", f"{tag}_recovery60_runs.csv")
            if (RESULTS / f).exists()]


def standing(tag: str = "hm_0.16.0") -> dict:
    """Shares of the truths implausible at their own point by the largest, second and third
    largest implausibility (``run_only``, ``with_obs_error``: three shares each) and the
    variance of the standardised emulator error at the truths by target (``error_variance``,
    a Series)."""
    from sim.experiments import emulator as E

    _, s, params, bounds, names, obs, em = _setup(tag)
    rec = pd.concat([pd.read_csv(RESULTS / f) for f in truth_files(tag)])
    mean, var = em.predict(E.to_unit(rec[params].to_numpy(), bounds))
    y = rec[names].to_numpy(float)
    rng = np.random.default_rng(0)
    out: dict = {"truths": len(y), "cutoff": s.cutoff}
    for label, scale in (("run_only", 0.0), ("with_obs_error", 1.0)):
        z = y + scale * rng.normal(0.0, np.sqrt(obs.var_obs + obs.var_md), y.shape)
        imp = np.nan_to_num(E.implausibility(mean, var, obs.replace_z(z)))
        top = -np.sort(-imp, axis=1)
        out[label] = [float((top[:, k] > s.cutoff).mean()) for k in range(3)]
    out["error_variance"] = pd.Series(
        np.nanvar((y - mean) / np.sqrt(var + obs.var_noise), axis=0), index=names)
    return out


def main(argv: list[str] | None = None) -> None:
    from sim.experiments import history_match as H

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default="hm_0.16.0")
    ap.add_argument("--refit-kmax", type=int, default=0, help="refit the truths with this kmax")
    a = ap.parse_args(argv)
    st = standing(a.tag)
    print(f"{st['truths']} truths ({', '.join(truth_files(a.tag))}); cut-off {st['cutoff']}")
    for label in ("run_only", "with_obs_error"):
        print(f"{label}: truths implausible at their own point by the largest, second and "
              f"third largest implausibility: " + ", ".join(f"{x:.3f}" for x in st[label]))
    ratio = st["error_variance"]
    print(f"variance of the standardised emulator error at the truths: median "
          f"{ratio.median():.2f}; largest:\n{ratio.sort_values(ascending=False).head(6).round(2)}")
    if a.refit_kmax:
        old, _, params, bounds, names, obs, em = _setup(a.tag)
        work = Path(tempfile.mkdtemp(prefix="truths-"))
        summary: dict = {}
        for f in truth_files(a.tag):
            shutil.copy2(RESULTS / f, work / f"{a.tag}_recovery_runs.csv")
            st_k = H.Settings.from_summary(old, kmax=a.refit_kmax, refocus=0)  # wave 1 only
            H._recovery(st_k, work, a.tag, params, bounds, names, obs, [em],
                        old["waves"][0]["tau"], None, None, summary, lambda m: None)
            for mode, by in summary["recovery_coverage90"].items():
                print(f"{f} kmax {a.refit_kmax} {mode}: coverage of the 90% intervals "
                      f"{np.mean(list(by.values())):.3f}")
            (work / f"{a.tag}_recovery_runs.csv").unlink()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
