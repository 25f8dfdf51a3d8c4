"""Who migrates where: push-pull random utility with a sparse chain-migration term.

A person at home who considers moving this month (seasonal: most moves follow the Spring
Festival) compares staying with each of the destinations in a nested logit (stay | move, then
which destination). Utility of destination j for person i (seed 1.1, Harris & Todaro 1970,
Zhao 2003):

    V_ij = b_pull(age, sex) * log(net_ij / y_ref) - move_cost(distance class, km)
           - hukou_penalty(tier) - control - age_cost - female_cost + b_net * log(1 + n_ij)

where ``net_ij`` is the destination wage for the person's schooling times the chance of a job
there, less living cost, and ``n_ij`` the person's contacts already at j. Staying gives
``b_push(age, sex) * log(y_home_i / y_ref) + asc_home`` with home income from land per worker.
Young people weigh pull more, older people and women weigh push more (seed 1.1).

Everything but the network term is common to a person's *type* (home province, schooling,
training, age group, sex, capital prefecture), so ``exp(V/lambda)`` is tabulated per type and
destination once a month; a person adds only the few destinations where contacts are, and the
choice is drawn by inverse CDF over the table (binary search), not one draw per destination.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import HOME, N_AGE_GROUPS, N_SCHOOL, RURAL

PARAMS = (
    Param(
        "consider_rate_year",
        0.714874,
        "decisions/year",
        0.0,
        12.0,
        "assumption; rural workers reconsider work plans about once a year (seed 1.3: "
        "seasonal cycles)",
        "rate at which a person at home weighs migrating",
    ),
    Param(
        "spring_festival_share",
        0.5,
        "share",
        0.0,
        1.0,
        "seed 1.3 (seasonal cycles); most departures follow the Spring Festival",
        "share of the year's migration decisions taken in February and March",
    ),
    Param(
        "beta_income",
        2.0,
        "utils per log RMB",
        0.0,
        10.0,
        "assumption; income elasticity of migration odds (Zhao 1999, AER P&P 89(2))",
        "weight of log expected net income",
    ),
    Param(
        "young_pull_shift",
        0.3,
        "share",
        0.0,
        3.0,
        "seed 1.1: the young weigh pull factors",
        "extra weight on destination income for ages 15-29",
    ),
    Param(
        "old_push_shift",
        0.3,
        "share",
        0.0,
        3.0,
        "seed 1.1: older migrants weigh push factors",
        "extra weight on home income for ages 45-64",
    ),
    Param(
        "female_push_shift",
        0.2,
        "share",
        0.0,
        3.0,
        "seed 1.1: women cite push factors more",
        "extra weight on home income for women",
    ),
    Param(
        "asc_home",
        -0.35783,
        "utils",
        -20.0,
        20.0,
        "hand-set; calibrated in calibration/",
        "attachment to home (utility of staying before income)",
    ),
    Param(
        "nest_lambda",
        0.6,
        "dissimilarity",
        0.05,
        1.0,
        "nested logit (McFadden 1978); destinations are closer substitutes than staying",
        "dissimilarity parameter of the destination nest",
    ),
    Param(
        "age_cost_per_decade",
        2.04236,
        "utils per 10 years",
        0.0,
        5.0,
        "seed 1.3: 71% of migrants aged 15-29",
        "extra cost of moving per decade of age above 22, by age group (15-29, 30-44, 45-64 "
        "counted at 22, 37 and 52)",
    ),
    Param(
        "female_cost",
        {"1985": 1.2, "2003": -0.8},
        "utils",
        -5.0,
        10.0,
        "seed 1.3: one third of migrants female earlier, 49% by 2003, with demand for young "
        "women in manufacturing",
        "extra cost of moving for women (a yearly path: falls as migration feminises)",
    ),
    Param(
        "mobility_control",
        {"1985": 3.0, "1990": 1.5, "1995": 0.8, "2000": 0.3, "2003": 0.0},
        "utils",
        0.0,
        20.0,
        "seed 1.1, 2.2: movement tightly controlled until the mid-1980s, then "
        "quasi-free; 2003 abolition of custody and repatriation",
        "cost of leaving home from the control of movement (grain rations, permits)",
    ),
    Param(
        "cost_within_county", 0.2, "utils", 0.0, 20.0, "assumption", "moving cost, within county"
    ),
    Param(
        "cost_across_county",
        0.6,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across counties within a prefecture",
    ),
    Param(
        "cost_across_prefecture",
        1.0,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across prefectures within a province",
    ),
    Param(
        "cost_across_province",
        1.6,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across provinces (before distance)",
    ),
    Param(
        "cost_per_1000km",
        0.5,
        "utils per 1000 km",
        0.0,
        10.0,
        "assumption",
        "moving cost per 1000 km between provincial capitals",
    ),
    Param(
        "network_beta",
        0.8,
        "utils per log contact",
        0.0,
        5.0,
        "seed 1.4: 95% found jobs via friends or themselves; Zhao 2003",
        "chain-migration weight of log(1 + contacts at the destination)",
    ),
    Param(
        "local_share_small_town",
        0.6,
        "share",
        0.0,
        1.0,
        "assumption; census 2000: 43.7% of moves within county (seed 1.3)",
        "share of moves to county towns of the home province that stay in the home county",
    ),
    Param(
        "own_prefecture_share_medium",
        0.5,
        "share",
        0.0,
        1.0,
        "assumption",
        "share of moves to prefecture cities of the home province that go to the home prefecture",
    ),
    Param(
        "ht_mode",
        False,
        "flag",
        0,
        1,
        "Harris & Todaro 1970 (AER 60(1)); teaching mode, see scenarios/harris_todaro.toml",
        "deterministic wage arbitrage: move if the expected urban wage beats home, return if "
        "not; one national rural and one urban wage level",
        kind=bool,
    ),
    Param(
        "onward_prob_unemployed",
        0.08,
        "per month",
        0.0,
        1.0,
        "seed 1.4: high job mobility and on-migration",
        "chance an unemployed migrant reconsiders",
    ),
    Param(
        "onward_prob_employed",
        0.004,
        "per month",
        0.0,
        1.0,
        "seed 1.4 (Knight & Yueh 2004: high job mobility)",
        "chance an employed migrant reconsiders",
    ),
)

N_SEX = 2
N_TRAIN = 2
N_CAP = 2


def n_types(n_prov: int) -> int:
    return n_prov * N_SCHOOL * N_TRAIN * N_AGE_GROUPS * N_SEX * N_CAP


@njit(inline="always", cache=True)
def age_group(age):
    if age < 30:
        return 0
    if age < 45:
        return 1
    return 2


@njit(inline="always", cache=True)
def type_index(prov, school, trained, agegrp, sex, cap):
    return (
        (((prov * N_SCHOOL + school) * N_TRAIN + trained) * N_AGE_GROUPS + agegrp) * N_SEX + sex
    ) * N_CAP + cap


def dist_class_probs(n_prov: int, dest_prov: np.ndarray, dest_tier: np.ndarray, pars) -> np.ndarray:
    """P(distance class | home province, capital flag, destination): shape (n_prov, 2, n_dest, 4).

    Moves across provinces are class 3. Within the home province, county towns are in the home
    county or not, prefecture cities in the home prefecture or not, and the capital is in the
    home prefecture only for people of the capital prefecture.
    """
    out = np.zeros((n_prov, 2, dest_prov.size, 4))
    s, m = pars.local_share_small_town, pars.own_prefecture_share_medium
    for p in range(n_prov):
        for cap in range(2):
            for j in range(dest_prov.size):
                if dest_prov[j] != p:
                    out[p, cap, j, 3] = 1.0
                elif dest_tier[j] == 0:
                    out[p, cap, j, :3] = (s, (1 - s) * 0.6, (1 - s) * 0.4)
                elif dest_tier[j] == 1:
                    out[p, cap, j, 1:3] = (m, 1 - m)
                else:
                    out[p, cap, j, 1 if cap else 2] = 1.0
    return out


def type_tables(
    geo,
    pars,
    year: float,
    wage_rmb_month: np.ndarray,
    emp_rate: np.ndarray,
    living_cost_rmb_month: np.ndarray,
    hukou_penalty: np.ndarray,
    y_ref: float,
    dist_probs: np.ndarray,
):
    """exp(V/lambda) per type and destination, its row sums and cumulative rows.

    ``wage_rmb_month`` is (n_dest, n_school, n_train): migrant wage at each destination.
    """
    n_prov, n_dest = geo.n_prov, geo.n_dest
    lam = pars.nest_lambda
    costs = np.array(
        [
            pars.cost_within_county,
            pars.cost_across_county,
            pars.cost_across_prefecture,
            pars.cost_across_province,
        ]
    )
    move_cost = dist_probs @ costs  # (n_prov, 2, n_dest)
    move_cost = (
        move_cost + pars.cost_per_1000km * (geo.prov_dist_km[:, geo.dest_prov] / 1000.0)[:, None, :]
    )
    net = np.maximum(
        wage_rmb_month * emp_rate[:, None, None] - living_cost_rmb_month[:, None, None],
        0.05 * y_ref,
    )
    log_net = np.log(net / y_ref)  # (n_dest, school, train)
    pull = np.array([1.0 + pars.young_pull_shift, 1.0, 1.0]) * pars.beta_income
    age_cost = np.array([0.0, 1.5, 3.0]) * pars.age_cost_per_decade  # mid-group ages 22, 37, 52
    sex_cost = np.array([0.0, pars.female_cost])
    common = -(hukou_penalty + pars.mobility_control)  # (n_dest,)
    # V[p, s, tr, a, sex, cap, j]
    v = (
        pull[None, None, None, :, None, None, None]
        * log_net.transpose(1, 2, 0)[None, :, :, None, None, None, :]
        - move_cost[:, None, None, None, None, :, :]
        - age_cost[None, None, None, :, None, None, None]
        - sex_cost[None, None, None, None, :, None, None]
        + common[None, None, None, None, None, None, :]
    )
    v = v.reshape(n_types(n_prov), n_dest) / lam
    vmax = v.max()
    e = np.exp(v - vmax)  # shift for range; undone through log_shift
    cum = np.cumsum(e, axis=1)
    return e, cum, cum[:, -1].copy(), vmax


def home_coefficients(pars) -> np.ndarray:
    """b_push by (age group, sex)."""
    b = np.full((N_AGE_GROUPS, N_SEX), pars.beta_income)
    b[2, :] *= 1.0 + pars.old_push_shift
    b[:, 1] *= 1.0 + pars.female_push_shift
    return b


@njit(inline="always", cache=True)
def _pick_dest(t, u, adj, e, cum, indptr, indices, loc, i, beta_net_lam):
    """Draw a destination given u in [0, adj + cum[t, -1]): the sparse part first, then binary
    search of the type's cumulative row."""
    if u < adj:
        acc = 0.0
        for a in range(indptr[i], indptr[i + 1]):
            d = loc[indices[a]]
            if d < 0:
                continue
            first = True
            for b in range(indptr[i], a):
                if loc[indices[b]] == d:
                    first = False
                    break
            if not first:
                continue
            cnt = 0
            for b in range(a, indptr[i + 1]):
                if loc[indices[b]] == d:
                    cnt += 1
            acc += e[t, d] * ((1.0 + cnt) ** beta_net_lam - 1.0)
            if u < acc:
                return d
        u = adj  # rounding: fall through to the table
    u -= adj
    row = cum[t]
    lo, hi = 0, row.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if row[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(inline="always", cache=True)
def _network_adjustment(t, e, indptr, indices, loc, i, beta_net_lam):
    """Sum over distinct destinations of contacts: e[t, d] * ((1 + n_d)^(b/lambda) - 1)."""
    adj = 0.0
    for a in range(indptr[i], indptr[i + 1]):
        d = loc[indices[a]]
        if d < 0:
            continue
        first = True
        for b in range(indptr[i], a):
            if loc[indices[b]] == d:
                first = False
                break
        if not first:
            continue
        cnt = 0
        for b in range(a, indptr[i + 1]):
            if loc[indices[b]] == d:
                cnt += 1
        adj += e[t, d] * ((1.0 + cnt) ** beta_net_lam - 1.0)
    return adj


@njit(cache=True, parallel=True)
def decide(
    key_consider,
    key_choice,
    key_dist,
    age,
    sex,
    school,
    trained,
    county,
    hh,
    loc,
    hukou,
    employed,
    county_prov,
    county_capital,
    indptr,
    indices,
    e,
    cum,
    rowsum,
    vmax,
    lam,
    beta_net,
    home_log_income_hh,
    b_push,
    asc_home,
    p_consider,
    p_onward_unemp,
    p_onward_emp,
    dist_probs,
    force_move,
    skip,
    ht_mode,
    new_loc,
    new_dist,
    event,
):
    """One month of migration decisions; reads ``loc`` (start of month), writes new_* arrays.

    event: 0 nothing, 1 departure from home (outflow), 2 move between destinations (onflow),
    3 return home by choice (Harris-Todaro mode only). Persons with ``skip[i] != 0`` (just
    returned) do not decide. With ``force_move`` every deciding person at home moves (used to
    place the initial stock). In ``ht_mode`` (teaching mode, Harris & Todaro 1970) the
    comparison with home is deterministic arbitrage: a person at home draws a destination from
    the nest and goes if its expected utility beats home; a migrant considering goes home if
    home beats the current destination.
    """
    n = age.shape[0]
    beta_net_lam = beta_net / lam
    for i in prange(n):
        event[i] = 0
        new_loc[i] = loc[i]
        if hukou[i] != RURAL or skip[i] != 0:
            continue
        at_home = loc[i] == HOME
        u0 = uniform(key_consider, i, 0)
        if at_home:
            if u0 >= p_consider:
                continue
        elif ht_mode:
            if u0 >= p_consider:
                continue
        elif u0 >= (p_onward_emp if employed[i] == 1 else p_onward_unemp):
            continue
        c = county[i]
        p = county_prov[c]
        ag = 0 if age[i] < 30 else (1 if age[i] < 45 else 2)
        t = type_index(p, school[i], trained[i], ag, sex[i], county_capital[c])
        adj = _network_adjustment(t, e, indptr, indices, loc, i, beta_net_lam)
        total = rowsum[t] + adj  # sum of exp(V/lam - vmax)
        u = uniform(key_choice, i, 0)
        picked = False
        d = -1
        if ht_mode and not force_move:
            v_home = b_push[ag, sex[i]] * home_log_income_hh[hh[i]] + asc_home
            if not at_home:
                if v_home > lam * (np.log(e[t, loc[i]]) + vmax):
                    new_loc[i] = HOME
                    new_dist[i] = -1
                    event[i] = 3
                continue
            d = _pick_dest(t, u * total, adj, e, cum, indptr, indices, loc, i, beta_net_lam)
            picked = True
            if lam * (np.log(e[t, d]) + vmax) <= v_home:
                continue
        elif at_home and not force_move:
            # nested logit: P(move) = S^lam / (S^lam + exp(V_home)), S in exp(V/lam) units
            log_move = lam * (np.log(total) + vmax)
            v_home = b_push[ag, sex[i]] * home_log_income_hh[hh[i]] + asc_home
            p_move = 1.0 / (1.0 + np.exp(v_home - log_move))
            if u >= p_move:
                continue
            u = u / p_move  # reuse the draw, rescaled, for the destination
        if not picked:
            d = _pick_dest(t, u * total, adj, e, cum, indptr, indices, loc, i, beta_net_lam)
        if d == loc[i]:
            continue
        new_loc[i] = d
        cap = county_capital[c]
        ud = uniform(key_dist, i, 0)
        acc = 0.0
        k = 3
        for q in range(4):
            acc += dist_probs[p, cap, d, q]
            if ud < acc:
                k = q
                break
        new_dist[i] = k
        event[i] = 1 if at_home else 2


@njit(cache=True)
def ht_admit(cand, order_key, event, loc, new_loc, capacity):
    """Harris-Todaro mode: arbitrage without overshoot. Migrants who chose to go home leave a
    destination only while it holds more migrants than the number at which its expected wage
    equals the rural wage (``capacity`` < 0); then newcomers are admitted, in the order of
    their own draws, while room remains. ``capacity`` = that number minus those present."""
    order = np.argsort(order_key)
    for q in range(order.shape[0]):
        i = cand[order[q]]
        if event[i] == 3:
            d = loc[i]
            if capacity[d] < 0:
                capacity[d] += 1
            else:
                event[i] = 0
    for q in range(order.shape[0]):
        i = cand[order[q]]
        if event[i] == 1:
            d = new_loc[i]
            if capacity[d] > 0:
                capacity[d] -= 1
            else:
                event[i] = 0


@njit(cache=True)
def apply_moves(
    event,
    new_loc,
    new_dist,
    loc,
    dist,
    employed,
    months_away,
    sector,
    job,
    permit,
    first_year,
    year,
    out_by_dist,
):
    """Commit the month's moves; returns the numbers of onward moves and of returns by choice
    (Harris-Todaro mode) and adds departures by distance class to ``out_by_dist``. Movers arrive
    without a job or permit."""
    onward = 0
    back = 0
    for i in range(event.shape[0]):
        ev = event[i]
        if ev == 0:
            continue
        loc[i] = new_loc[i]
        dist[i] = new_dist[i]
        employed[i] = 0
        sector[i] = -1
        job[i] = 0
        permit[i] = 0
        if ev == 1:
            months_away[i] = 0
            out_by_dist[new_dist[i]] += 1
            if first_year[i] < 0:
                first_year[i] = year
        elif ev == 3:
            months_away[i] = 0
            back += 1
        else:
            onward += 1
    return onward, back


@njit(cache=True, parallel=True)
def add_month_away(loc, hukou, months_away):
    for i in prange(loc.shape[0]):
        if loc[i] != HOME and hukou[i] == RURAL and months_away[i] < 32000:
            months_away[i] += 1
