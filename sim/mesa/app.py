"""Interactive Mesa (SolaraViz) app over the fast core: policy levers as sliders, live charts.

Serve it in a browser::

    pip install -e ".[viz]"
    solara run sim/mesa/app.py --production   # then open http://localhost:8765

or show ``page`` in a Jupyter cell (``from sim.mesa.app import page; page``).

Sliders (left) set the main policy levers, the number of agents, the start year and the year
the levers take effect; they apply when the model is rebuilt with **Reset**. **Step** advances
one month, **▶** plays. Until the policy year the levers follow the baseline history; from then
on they are held at the slider's value (``network_beta``, behaviour rather than policy, applies
throughout):

- ``hukou_small_medium``: hukou penalty of county towns *and* prefecture cities (utils of the
  destination choice),
- ``labour_inspectors``: labour inspectors per 10,000 workers, which set the chances that the
  minimum wage is respected and arrears and missing contracts are corrected (``inspection``),
- ``local_development``: rise of home income from local off-farm development (log points),
- ``network_beta``: chain-migration weight of contacts already at a destination.

Each slider's label, unit, role and range (the declared one) come from the parameter schema
(:func:`lever_spec`); its starting value is the baseline's value in the default policy year.

Charts: a summary card (date, stock, shares, the levers in force), the migrant stock, the share
in the six main destinations with migrants' unemployment, the migrant stock of the leading
destination provinces over time, a bar chart of the top provinces in the current month and a
map of the migrants by destination province in the current month (:mod:`sim.io.maps`).

The model is kept small (20,000 agents by default, 1985-2006, one numba thread) so that a
month takes milliseconds and drawing the charts sets the pace; ``MIGSIM_APP_AGENTS`` changes
the default number of agents. Starting later than 1985 skips the calibrated build-up of the
stock (the first months then show a burst of arrivals and high unemployment).
"""

from __future__ import annotations

import html
import math
import os
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from mesa.visualization import Slider, SolaraViz, make_plot_component

from sim.engine.registry import Params, schema
from sim.mesa.fast import MigrationModel

DEFAULT_AGENTS = int(os.environ.get("MIGSIM_APP_AGENTS", "20000"))
DEFAULT_START_YEAR = 1985  # the calibrated baseline starts in 1985
DEFAULT_YEARS = 22
DEFAULT_POLICY_YEAR = 2001  # the small-town hukou reform
N_TOP = 10  # provinces in the bar chart
N_LINES = 6  # provinces in the over-time chart

# The sliders: each sets one or more parameters of the schema. Its label (meaning and unit), its
# range (the declared one), its role and its default (the baseline's value in the default policy
# year, on the slider's grid) all come from the parameter schema; nothing is re-declared here.
LEVER_PARAMS = {
    "hukou_small_medium": ("hukou_penalty_small", "hukou_penalty_medium"),
    "labour_inspectors": ("inspectors_per_10k_workers",),
    "local_development": ("local_development",),
    "network_beta": ("network_beta",),  # behaviour, for teaching: applies throughout
}


def lever_spec(name: str, year: int = DEFAULT_POLICY_YEAR) -> tuple[str, float, float, float,
                                                                      float]:
    """(label, default, min, max, step) of a slider, from the schema of its parameters."""
    sch = schema()
    pars = [sch[k] for k in LEVER_PARAMS[name]]
    first = pars[0]
    lo = max(p.lo for p in pars)
    hi = min(p.hi for p in pars)
    step = 10.0 ** math.floor(math.log10((hi - lo) / 100.0))
    value = float(getattr(Params().at(year), first.name))
    value = min(max(round(round(value / step) * step, 10), lo), hi)
    label = " and ".join(p.doc for p in pars)
    label = f"{label[0].upper()}{label[1:]} ({first.unit}, {first.role})"
    return label, value, float(lo), float(hi), step


LEVERS = {name: lever_spec(name) for name in LEVER_PARAMS}


class MigrationApp(MigrationModel):
    """:class:`~sim.mesa.fast.MigrationModel` with the app's levers as plain keyword arguments.

    The policy levers (``hukou_small_medium``, which sets both ``hukou_penalty_small`` and
    ``hukou_penalty_medium``, ``labour_inspectors`` (``inspectors_per_10k_workers``),
    ``local_development``) follow the baseline history until ``policy_year`` and are held at
    the slider's value from then on; ``network_beta`` (behaviour, not policy) applies
    throughout. Other keyword arguments are model parameters (named ``kwargs`` because
    SolaraViz checks the signature for required arguments).
    """

    def __init__(self, agents: int = DEFAULT_AGENTS, start_year: int = DEFAULT_START_YEAR,
                 years: int = DEFAULT_YEARS, policy_year: int = DEFAULT_POLICY_YEAR,
                 seed: int = 1,
                 hukou_small_medium: float = LEVERS["hukou_small_medium"][1],
                 labour_inspectors: float = LEVERS["labour_inspectors"][1],
                 local_development: float = LEVERS["local_development"][1],
                 network_beta: float = LEVERS["network_beta"][1],
                 threads: int | None = 1, **kwargs: Any):
        start_year, policy_year = int(start_year), int(policy_year)
        self.policy_year = policy_year
        self.levers = {
            "hukou_small_medium": float(hukou_small_medium),
            "labour_inspectors": float(labour_inspectors),
            "local_development": float(local_development),
            "network_beta": float(network_beta),
        }
        policy = {
            "hukou_penalty_small": self.levers["hukou_small_medium"],
            "hukou_penalty_medium": self.levers["hukou_small_medium"],
            "inspectors_per_10k_workers": self.levers["labour_inspectors"],
            "local_development": self.levers["local_development"],
        }
        paths = {k: policy_path(k, v, start_year, policy_year) for k, v in policy.items()}
        params = {**paths, "network_beta": self.levers["network_beta"], **kwargs}
        super().__init__(agents=int(agents), seed=int(seed), start_year=start_year,
                         years=int(years), threads=threads, **params)


def policy_path(name: str, value: float, start_year: int, policy_year: int) -> dict | float:
    """Yearly path of parameter ``name``: its default (historical) path until
    ``policy_year - 1``, ``value`` from ``policy_year`` on (step mode)."""
    if policy_year <= start_year:
        return float(value)
    hist = Params({})
    path: dict[str, Any] = {"mode": "step"}
    for y in range(start_year, policy_year):
        path[str(y)] = float(getattr(hist.at(y), name))
    path[str(policy_year)] = float(value)
    return path


def model_params() -> dict[str, Any]:
    """SolaraViz ``model_params``: sliders for the levers, agents, start and policy years."""
    out: dict[str, Any] = {
        "agents": Slider("Agents", DEFAULT_AGENTS, 5_000, 100_000, 5_000),
        "start_year": Slider("Start year", DEFAULT_START_YEAR, 1985, 2010, 1),
        "policy_year": Slider("Levers from year", DEFAULT_POLICY_YEAR, 1985, 2015, 1),
    }
    for name, (label, value, lo, hi, step) in LEVERS.items():
        out[name] = Slider(label, value, lo, hi, step, dtype=float)
    out["years"] = DEFAULT_YEARS
    out["seed"] = 1
    return out


# ---------------------------------------------------------------- chart helpers
def _millions(ax) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:g}M"))


def _post_stock(ax) -> None:
    ax.set_title("Migrant stock (real persons), by month")
    _millions(ax)


def _post_shares(ax) -> None:
    ax.set_title("Share in six main destinations; migrants' unemployment")
    ax.set_ylim(0, 1)


def _calendar(model: MigrationModel) -> np.ndarray:
    mv = model.datacollector.model_vars
    return np.asarray(mv["year"], float) + (np.asarray(mv["month"], float) - 0.5) / 12.0


def _by_province(model: MigrationModel) -> tuple[list[str], np.ndarray]:
    """Province names and a (months, provinces) array of migrant stocks collected so far."""
    rows = model.datacollector.model_vars["migrants_by_province"]
    names = list(model._prov_name)
    if not rows:
        return names, np.zeros((0, len(names)))
    return names, np.array([[r[n] for n in names] for r in rows])


def summary_lines(model: MigrationModel) -> tuple[list[str], list[str]]:
    """Summary card lines (the month shown, headline indicators) and the levers in force."""
    head = [f"migsim · {model.sim.agents:,} agents · start {model.sim.start_year} · "
            f"months run: {model.sim.t}"]
    if model.sim.t == 0:
        head.append("Press Step or ▶ to run month by month.")
    else:
        head += [f"{model.year}-{model.month:02d}: migrant stock "
                 f"{model.migrant_stock / 1e6:.1f} million; share in six destinations "
                 f"{model.share_to_six:.2f}; migrants' unemployment "
                 f"{model.unemployment_rate:.2f}",
                 f"Top provinces: {model.top_provinces()}"]
    policy_year = getattr(model, "policy_year", model.sim.start_year)
    head.append(f"Levers from {policy_year}:")
    levers = [f"{k} = {v:.2f}" for k, v in getattr(model, "levers", {}).items()]
    return head, levers


def summary_text(model: MigrationModel) -> str:
    """The summary card as plain text."""
    head, levers = summary_lines(model)
    return "\n".join(head + [f"- {x}" for x in levers])


def province_lines_figure(model: MigrationModel) -> Figure:
    """Migrant stock of the leading destination provinces over time."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    names, arr = _by_province(model)
    if arr.shape[0]:
        x = _calendar(model)
        for j in np.argsort(-arr[-1], kind="stable")[:N_LINES]:
            ax.plot(x, arr[:, j], label=names[j])
        ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"Migrants by destination province (top {N_LINES})")
    ax.set_xlabel("Year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _millions(ax)
    return fig


def top_provinces_figure(model: MigrationModel) -> Figure:
    """Bar chart of the provinces with most migrants in the current month."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    names, arr = _by_province(model)
    if arr.shape[0]:
        last = arr[-1]
        top = np.argsort(-last, kind="stable")[:N_TOP][::-1]
        ax.barh([names[j] for j in top], last[top] / 1e6, color="tab:orange")
        ax.set_title(f"Top destination provinces, {model.year}-{model.month:02d}")
    else:
        ax.set_title("Top destination provinces (step the model)")
    ax.set_xlabel("Migrants (million)")
    return fig


def province_map_figure(model: MigrationModel) -> Figure:
    """Choropleth of the migrants by destination province in the current month (grey until
    the model has run a month)."""
    from sim.io.maps import figure as map_figure

    names, arr = _by_province(model)
    if not arr.shape[0]:
        return map_figure({}, "Migrants by destination province (step the model)",
                          "million persons")
    return map_figure(dict(zip(names, arr[-1] / 1e6, strict=True)),
                      f"Migrants by destination province, {model.year}-{model.month:02d}",
                      "million persons")


# ---------------------------------------------------------------- components
def Summary(model: MigrationModel):
    """Summary card (wrapped by SolaraViz so that it updates on every step). Plain HTML, not
    ``solara.Markdown``, which loads KaTeX from a CDN."""
    head, levers = summary_lines(model)
    items = "".join(f"<li><code>{html.escape(x)}</code></li>" for x in levers)
    paras = "".join(f"<p>{html.escape(x)}</p>" for x in head)
    return solara.HTML(tag="div", unsafe_innerHTML=f"{paras}<ul>{items}</ul>",
                       classes=["migsim-summary"])


def ProvincesOverTime(model: MigrationModel):
    return solara.FigureMatplotlib(province_lines_figure(model), format="png",
                                   bbox_inches="tight")


def TopProvinces(model: MigrationModel):
    return solara.FigureMatplotlib(top_provinces_figure(model), format="png",
                                   bbox_inches="tight")


def ProvinceMap(model: MigrationModel):
    return solara.FigureMatplotlib(province_map_figure(model), format="png",
                                   bbox_inches="tight")


COMPONENTS = [
    (Summary, 0),
    make_plot_component("migrant_stock", post_process=_post_stock),
    make_plot_component({"share_to_six_destinations": "tab:blue",
                         "unemployment_rate": "tab:red"}, post_process=_post_shares),
    (ProvincesOverTime, 0),
    (TopProvinces, 0),
    (ProvinceMap, 0),
]

model = MigrationApp()
page = SolaraViz(model, components=COMPONENTS, model_params=model_params(),
                 name="migsim: rural-urban labour migration", play_interval=50)

__all__ = ["COMPONENTS", "LEVERS", "MigrationApp", "model", "model_params", "page",
           "province_lines_figure", "province_map_figure", "summary_lines", "summary_text",
           "top_provinces_figure"]
