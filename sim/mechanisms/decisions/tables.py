"""The destination-choice tables: exp(V/lambda) per type and destination, built from
:func:`table_inputs` for every type (:func:`type_tables`) or for the types that decide this
month (:func:`tables_for`), with their kernels. The kernels repeat the array formula they
replaced operation for operation, so the tables are bit-identical to it, and the rows of one
type are the same whichever other rows are built (``tests/test_type_tables.py``)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import N_AGE_GROUPS, N_SCHOOL

N_SEX = 2
N_TRAIN = 2
N_CAP = 2


AGE_GROUP_MID = (22.0, 37.0, 52.0)  # ages at which the groups 15-29, 30-44, 45-64 are costed
AGE_GROUP_LOW = (15.0, 30.0, 45.0)


def age_costs(pars) -> np.ndarray:
    """Extra utility cost of a move by age group (15-29, 30-44, 45-64, at the mid-ages 22, 37
    and 52), over a 22-year-old's: ``age_cost_per_decade`` per decade, plus
    ``age_horizon_cost`` times (H(22) / H(a) - 1), where H = ``exit_age`` - a is the working
    life left to recoup the move's fixed cost (Sjaastad 1962: a cost spread over fewer years
    weighs more each year; the groups' ratio 0 : 0.54 : 2.31 with exit at 65). With an early
    exit a group is costed at most at the middle of its ages before the exit age."""
    mid = np.array(AGE_GROUP_MID)
    cost = (mid - mid[0]) / 10.0 * pars.age_cost_per_decade
    k = float(getattr(pars, "age_horizon_cost", 0.0))
    if k != 0.0:
        exit_age = float(pars.exit_age)  # a group costed at most at the middle of its ages
        at = np.minimum(mid, (np.array(AGE_GROUP_LOW) + exit_age - 1.0) / 2.0)  # before exit
        years_left = exit_age - at
        cost = cost + k * (years_left[0] / years_left - 1.0)
    return cost


def n_types(n_prov: int) -> int:
    """Number of types (rows of the tables): province, schooling, training, age group, sex and
    whether the home county is the provincial capital's."""
    return n_prov * N_SCHOOL * N_TRAIN * N_AGE_GROUPS * N_SEX * N_CAP


class TableInputs(NamedTuple):
    """What the tables are made of (:func:`table_inputs`), in the kernels' argument order."""

    pull: np.ndarray  # (age group,): weight of log net income
    log_net: np.ndarray  # (school, train, sex, dest): log expected net income over y_ref
    move_cost: np.ndarray  # (prov, capital flag, dest)
    age_cost: np.ndarray  # (age group,)
    sex_cost: np.ndarray  # (prov, sex)
    common: np.ndarray  # (dest,): minus the costs common to a destination
    size: np.ndarray  # (dest,): lambda times the size term, zeros without one
    lam: float  # nest_lambda


def table_inputs(
    geo,
    pars,
    wage_rmb_month: np.ndarray,
    emp_rate: np.ndarray,
    living_cost_rmb_month: np.ndarray,
    hukou_penalty: np.ndarray,
    y_ref: float,
    dist_probs: np.ndarray,
    log_size: np.ndarray | None = None,
    fallback_rmb_month: np.ndarray | None = None,
    female_cost: np.ndarray | None = None,
) -> TableInputs:
    """The parts of V/lambda per type and destination (see :func:`type_tables`).

    ``wage_rmb_month`` is (n_dest, n_school, n_train): migrant wage at each destination;
    ``emp_rate`` the employment probability by destination, or by destination and sex.
    ``hukou_penalty`` (n_dest,) is every cost common to a destination: the hukou barrier less
    the value of insurance, plus the controls on movement in force (``sim.core.policies``).
    ``log_size`` adds lambda * log_size to V: in Harris-Todaro mode log(jobs), so a destination
    is drawn in proportion to its jobs, as an aggregate of that many alternatives (McFadden
    1978); otherwise ``destination_size_elasticity`` times the log of its urban economy's size.
    ``fallback_rmb_month`` (n_dest, n_school, n_train), when given, is what a migrant expects to
    earn without a wage job (own-account work): the expected income is then
    ``P(job) * wage + (1 - P(job)) * fallback``. ``female_cost`` (n_prov,) is the female cost
    of moving by home province (``norms.female_costs``); without it, ``pars.female_cost``.
    """
    n_dest = geo.n_dest
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
    if emp_rate.ndim == 1:  # one rate for both sexes
        emp_rate = np.repeat(emp_rate[:, None], N_SEX, axis=1)
    er = emp_rate[:, None, None, :]  # (n_dest, 1, 1, sex)
    income = wage_rmb_month[..., None] * er
    if fallback_rmb_month is not None:
        income = income + (1.0 - er) * fallback_rmb_month[..., None]
    net = np.maximum(income - living_cost_rmb_month[:, None, None, None], 0.05 * y_ref)
    log_net = np.log(net / y_ref)  # (n_dest, school, train, sex)
    pull = np.array([1.0 + pars.young_pull_shift, 1.0, 1.0]) * pars.beta_income
    age_cost = age_costs(pars)
    n_prov = geo.prov_dist_km.shape[0]
    sex_cost = np.zeros((n_prov, N_SEX))
    sex_cost[:, 1] = pars.female_cost if female_cost is None else female_cost
    common = -hukou_penalty  # (n_dest,): hukou, insurance and controls on movement
    size = np.zeros(n_dest) if log_size is None else lam * np.asarray(log_size, np.float64)
    return TableInputs(pull, np.ascontiguousarray(log_net.transpose(1, 2, 3, 0)),
                       np.ascontiguousarray(move_cost), age_cost, sex_cost, common, size,
                       float(lam))


def type_tables(geo, pars, *args, **kwargs):
    """exp(V/lambda - vmax) for every type and destination, cumulative rows, row sums and vmax
    (the largest V/lambda): :func:`tables_for` with every row. Arguments as
    :func:`table_inputs`."""
    inp = table_inputs(geo, pars, *args, **kwargs)
    return tables_for(inp, np.arange(n_types(inp.move_cost.shape[0])))


def tables_for(inp: TableInputs, rows: np.ndarray):
    """The rows ``rows`` (type indices) of :func:`type_tables`, bit for bit: exp(V/lambda -
    vmax) (row k is type ``rows[k]``), its running sums and row sums, and vmax (the maximum
    over every type, :func:`utility_max`). A month's decisions need only the deciders' types,
    few of the 2,232 in a small population."""
    vmax = utility_max(*inp)
    e = np.empty((rows.shape[0], inp.move_cost.shape[2]))
    utility_rows(rows, *inp, vmax, e)
    np.exp(e, out=e)  # numpy's exp, as in type_tables
    cum = np.empty_like(e)
    cumulate_rows(e, cum)
    return e, cum, cum[:, -1].copy(), vmax


@njit(cache=True, parallel=True)
def cumulate_rows(e, out):
    """Running sums along each row (numpy's cumsum along axis 1: sequential additions)."""
    n, m = e.shape
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        for i in range(lo, hi):
            acc = 0.0
            for j in range(m):
                acc = acc + e[i, j]
                out[i, j] = acc


@njit(cache=True)
def utility_max(pull, log_net, move_cost, age_cost, sex_cost, common, size, lam):
    """The largest V/lambda over every type and destination (``lam`` > 0), without the table.
    Every operation of :func:`utility_rows` rounds monotonically in each operand, so for each
    destination, age group and sex the largest value comes from the largest income term
    ``pull * log_net`` over schooling and training, with each province and capital flag
    evaluated as the row kernel does (the sex cost depends on the province); the combination
    is a type, so the result is the table's maximum bit for bit."""
    n_prov, n_cap, n_dest = move_cost.shape
    n_school, n_train, n_sex, _ = log_net.shape
    best = -np.inf
    for j in range(n_dest):
        for a in range(pull.size):
            pa = pull[a]
            for x in range(n_sex):
                top = -np.inf
                for s in range(n_school):
                    for tr in range(n_train):
                        top = max(top, pa * log_net[s, tr, x, j])
                for p in range(n_prov):
                    for c in range(n_cap):
                        v = ((top - move_cost[p, c, j] - age_cost[a] - sex_cost[p, x]
                              + common[j]) + size[j]) / lam
                        best = max(best, v)
    return best


@njit(cache=True, parallel=True)
def utility_rows(rows, pull, log_net, move_cost, age_cost, sex_cost, common, size, lam, shift,
                 out):
    """V/lambda - ``shift`` for the types ``rows`` (row k of ``out`` is type ``rows[k]``, rows in
    :func:`~sim.mechanisms.decisions.choice.type_index` order): the operations of the array
    formula, in its order, one element at a time (bit-identical to it, without its
    seven-dimensional temporaries), less the shift. ``log_net`` is (school, train, sex, dest);
    ``size`` is lambda times the log size term, zeros without one (adding 0.0 leaves every value
    as it was)."""
    n_prov, n_cap, n_dest = move_cost.shape
    n_school, n_train, n_sex, _ = log_net.shape
    n_age = pull.size
    for k in prange(rows.shape[0]):
        q = rows[k]
        c = q % n_cap
        q //= n_cap
        x = q % n_sex
        q //= n_sex
        a = q % n_age
        q //= n_age
        tr = q % n_train
        q //= n_train
        s = q % n_school
        p = q // n_school
        ln, mc, o = log_net[s, tr, x], move_cost[p, c], out[k]
        pa, ac, sx = pull[a], age_cost[a], sex_cost[p, x]
        for j in range(n_dest):
            o[j] = ((pa * ln[j] - mc[j] - ac - sx + common[j]) + size[j]) / lam - shift
