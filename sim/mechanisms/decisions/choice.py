"""The choice kernels of the decision stage: per-type utility tables and the nested-logit draw.

Everything but the network term is common to a person's type, so ``exp(V/lambda)`` is
tabulated per type and destination once a month, for the deciders' types (:func:`decide`,
``tables.tables_for``); each person adds the few destinations where contacts are
(:func:`_network_adjustment`) and draws by inverse CDF (:func:`_pick_dest`). See the package
docstring for the utility.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import (
    EVENT_DEPART,
    EVENT_NONE,
    EVENT_ONWARD,
    EVENT_RETURN,
    HOME,
    N_AGE_GROUPS,
    N_SCHOOL,
    NEVER_LEFT,
    NO_DIST,
    NO_SECTOR,
    RURAL,
)
from sim.core.prefetch import AHEAD, contact_ring, contacts_ring, prefetch
from sim.core.rng import uniform
from sim.core.state import (
    CONTACT_CHUNK,
    carer_at_home,
    county_of,
    flat_nonzero,
    household,
)
from sim.mechanisms.decisions.family import (  # noqa: F401  (re-exported)
    _spouse_terms,
    family_cost,
    family_params,
)
from sim.mechanisms.decisions.tables import (  # noqa: F401  (re-exported)
    N_CAP,
    N_SEX,
    N_TRAIN,
    TableInputs,
    n_types,
    table_inputs,
    tables_for,
    type_tables,
)


@njit(inline="always", cache=True)
def type_index(prov, school, trained, agegrp, sex, cap):
    return (
        (((prov * N_SCHOOL + school) * N_TRAIN + trained) * N_AGE_GROUPS + agegrp) * N_SEX + sex
    ) * N_CAP + cap


@njit(inline="always", cache=True)
def person_type(i, p, county_prov, county_capital):
    """(type index, age group) of person ``i``: age groups 15-29, 30-44, 45+."""
    c = county_of(p, i)
    ag = 0 if p.age[i] < 30 else (1 if p.age[i] < 45 else 2)
    return type_index(county_prov[c], p.school[i], p.trained[i], ag, p.sex[i],
                      county_capital[c]), ag


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


def home_coefficients(pars) -> np.ndarray:
    """b_push by (age group, sex)."""
    b = np.full((N_AGE_GROUPS, N_SEX), pars.beta_income)
    b[2, :] *= 1.0 + pars.old_push_shift
    b[:, 1] *= 1.0 + pars.female_push_shift
    return b


@njit(inline="always", cache=True)
def _contact_term(t, e, cont, loc, a, beta_net_lam, near, fmul):
    """(destination, network term) of contact ``a`` of the list ``cont`` (a person's contacts,
    :func:`~sim.core.contacts.contacts_into`): e[t, d] * ((1 + n_d)^(b/lambda) - 1) at the
    first contact in destination d, 0 at later ones and for contacts at home; times ``fmul``
    when d is in the home province (``near[d, 3] < 1``; see :func:`_near_adjustment`)."""
    d = loc[cont[a]]
    if d < 0:
        return d, 0.0
    for b in range(a):
        if loc[cont[b]] == d:
            return d, 0.0
    cnt = 0
    for b in range(a, cont.shape[0]):
        if loc[cont[b]] == d:
            cnt += 1
    x = e[t, d] * ((1.0 + cnt) ** beta_net_lam - 1.0)
    if fmul != 1.0 and near[d, 3] < 1.0:
        x *= fmul
    return d, x


@njit(inline="always", cache=True)
def _near_adjustment(t, e, near, fmul):
    """Sum over the destinations of the home province of e[t, d] * (fmul - 1): a parent (or
    the carer of an elder) who stays in the home province gives up only part of the family
    cost, so those destinations' weights are multiplied by ``fmul`` = exp(saved / lambda)."""
    if fmul == 1.0:
        return 0.0
    s = 0.0
    for d in range(e.shape[1]):
        if near[d, 3] < 1.0:
            s += e[t, d]
    return s * (fmul - 1.0)


@njit(inline="always", cache=True)
def _pick_dest(t, u, adj, nadj, e, cum, cont, loc, beta_net_lam, near, fmul):
    """Draw a destination given u in [0, adj + nadj + cum[t, -1]): the network part first,
    then the home-province part (``nadj``, :func:`_near_adjustment`), then binary search of the
    type's cumulative row."""
    if u < adj:
        acc = 0.0
        for a in range(cont.shape[0]):
            d, x = _contact_term(t, e, cont, loc, a, beta_net_lam, near, fmul)
            if x == 0.0:
                continue
            acc += x
            if u < acc:
                return d
        u = adj  # rounding: fall through to the table
    u -= adj
    if u < nadj:
        acc = 0.0
        for d in range(e.shape[1]):
            if near[d, 3] < 1.0:
                acc += e[t, d] * (fmul - 1.0)
                if u < acc:
                    return d
        u = nadj
    u -= nadj
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
def _network_adjustment(t, e, cont, loc, beta_net_lam, near, fmul):
    """Sum over distinct destinations of the contacts ``cont``: e[t, d] * ((1 + n_d)^(b/lambda)
    - 1) (times ``fmul`` in the home province)."""
    adj = 0.0
    for a in range(cont.shape[0]):
        adj += _contact_term(t, e, cont, loc, a, beta_net_lam, near, fmul)[1]
    return adj


@njit(inline="always", cache=True)
def _dest_weight(t, d, e, cont, loc, beta_net_lam, near, fmul):
    """The weight exp(V_d / lambda - vmax) of destination ``d`` for a person with contacts
    ``cont``: the type's table, times the contacts' term at d and ``fmul`` in the home province
    (as the network and near adjustments add them)."""
    cnt = 0
    for a in range(cont.shape[0]):
        if loc[cont[a]] == d:
            cnt += 1
    w = e[t, d] * (1.0 + cnt) ** beta_net_lam
    if fmul != 1.0 and near[d, 3] < 1.0:
        w *= fmul
    return w


def decide(
    key_consider,
    key_choice,
    key_dist,
    p,
    county_prov,
    county_capital,
    cn,
    max_degree,
    tables,
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
    ht_response,
    log_size,
    hh_start,
    hs,
    families,
    fam,
    elder_need,
    elder_cost,
    returnee_bonus,
    new_loc,
    event,
):
    """One month of migration decisions; reads ``loc`` (start of month), writes ``new_loc``,
    ``event`` and, for a mover, the distance class of the move into ``p.dist`` (no decision
    reads another person's ``dist``; a cancelled departure is reset by the household stage).

    event: 0 nothing, 1 departure from home (outflow), 2 move between destinations (onflow),
    3 return home by choice (Harris-Todaro mode only). Persons with ``skip[i] != 0`` (just
    returned) do not decide. With ``force_move`` every deciding person at home moves (used to
    place the initial stock). In ``ht_mode`` (teaching mode, Harris & Todaro 1970) the
    comparison with home is arbitrage on expected income (the tables ``e`` are built from the
    agents' expected employment rates): a person at home draws a destination from the nest and
    goes if its utility (without the size term ``log_size``, which only weights the draw) beats
    home by a gain g > 0; a migrant considering goes home if home beats the current destination
    by g > 0. Either acts with the chance min(1, ``ht_response`` * g), Harris and Todaro's
    migration function psi(g), psi(0) = 0, psi' > 0. With ``families`` (the household life
    course) a parent at home adds :func:`family_cost` to the utility of staying; a person at
    home whose household has an elder in need of care (``elder_need``, ``sim.mechanisms.
    elders``) and no other member aged 15-64 at home adds ``elder_cost``. A person at home
    who has migrated before (``first_left`` set) subtracts ``returnee_bonus`` from staying
    (migration-specific capital; DaVanzo 1983).

    ``tables`` (:class:`~sim.mechanisms.decisions.tables.TableInputs`) are the parts of the
    destination utilities. Two passes: :func:`_deciders` draws who considers a move this month
    (every person, in order); the tables are then built for the types of those persons only
    (:func:`~sim.mechanisms.decisions.tables.tables_for`); :func:`_decide` takes their
    decisions, prefetching the contact lists and places of the deciders a few places ahead
    (few persons decide in most months, so these reads would otherwise wait on memory one
    after another). The draws are those of one pass.
    """
    _deciders(key_consider, p, p_consider, p_onward_unemp, p_onward_emp, skip, ht_mode,
              new_loc, event)
    who = flat_nonzero(event)
    slot, rows = _rows_of(who, p, county_prov, county_capital,
                          n_types(tables.move_cost.shape[0]))
    e, cum, rowsum, vmax = tables_for(tables, rows)
    _decide(who, slot, key_consider, key_choice, key_dist, p, county_prov, county_capital,
            cn, max_degree, e, cum, rowsum, vmax, tables.lam, beta_net, home_log_income_hh,
            b_push, asc_home, p_consider, dist_probs, force_move, ht_mode, ht_response, log_size,
            hh_start, hs, families, fam, elder_need, elder_cost, returnee_bonus, new_loc,
            event)


DECIDER = 4  # ``event`` of a person who considers a move, between the two passes


@njit(cache=True)
def _rows_of(who, p, county_prov, county_capital, n_all):
    """The types of the persons ``who``, increasing (``rows``), and the row of each type among
    them (``slot``, -1 for types nobody in ``who`` has)."""
    slot = np.full(n_all, -1, np.int32)
    for r in range(who.shape[0]):
        slot[person_type(who[r], p, county_prov, county_capital)[0]] = 0
    rows = np.empty(n_all, np.int64)
    k = 0
    for t in range(n_all):
        if slot[t] == 0:
            slot[t] = k
            rows[k] = t
            k += 1
    return slot, rows[:k]


@njit(cache=True, parallel=True)
def _deciders(key_consider, p, p_consider, p_onward_unemp, p_onward_emp, skip, ht_mode,
              new_loc, event):
    """Pass 1: nobody moves yet (``event`` none, ``new_loc`` the start of the month); marks
    ``DECIDER`` the rural-hukou persons not skipped who consider a move: at home (or, in
    Harris-Todaro mode, away) with chance ``p_consider``, away with the onward chance."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    for i in prange(loc.shape[0]):
        event[i] = EVENT_NONE
        new_loc[i] = loc[i]
        if hukou[i] != RURAL or skip[i] != 0:
            continue
        u0 = uniform(key_consider, i, 0)
        if loc[i] == HOME or ht_mode:
            if u0 >= p_consider:
                continue
        elif u0 >= (p_onward_emp if sector[i] != NO_SECTOR else p_onward_unemp):
            continue
        event[i] = DECIDER


@njit(cache=True, parallel=True)
def _decide(who, slot, key_consider, key_choice, key_dist, p, county_prov, county_capital,
            cn, max_degree, e, cum, rowsum, vmax, lam, beta_net, home_log_income_hh, b_push,
            asc_home, p_consider, dist_probs, force_move, ht_mode, ht_response, log_size,
            hh_start, hs, families, fam, elder_need, elder_cost, returnee_bonus, new_loc,
            event):
    """Pass 2: the decisions of the persons ``who`` (see :func:`decide`); the tables hold the
    rows of their types, type ``t`` in row ``slot[t]``."""
    age = p.age
    sex = p.sex
    hh_county = p.hh_county
    loc = p.loc
    hukou = p.hukou
    dist = p.dist
    m = who.shape[0]
    beta_net_lam = beta_net / lam
    for ch in prange((m + CONTACT_CHUNK - 1) // CONTACT_CHUNK):  # one contact scratch per chunk
        ring, ring_n = contact_ring(max_degree)
        lo, hi = ch * CONTACT_CHUNK, min(m, (ch + 1) * CONTACT_CHUNK)
        for r in range(lo, hi):
            cont = _ask_ahead(who, r, lo, hi, m, cn, loc, p, home_log_income_hh, age,
                              ring, ring_n)
            i = who[r]
            event[i] = EVENT_NONE
            at_home = loc[i] == HOME
            u0 = uniform(key_consider, i, 0)
            h = household(p, i)
            c = hh_county[h]
            prov = county_prov[c]
            q, ag = person_type(i, p, county_prov, county_capital)
            t = slot[q]
            near = dist_probs[prov, county_capital[c]]
            fc = 0.0  # family cost of leaving (children, an elder in need), at home only
            ec = 0.0
            if at_home and not force_move:
                if families:
                    fc = family_cost(i, hh_start, p, hs, fam)
                if (elder_cost != 0.0 and elder_need[h] > 0
                        and not carer_at_home(h, i, hh_start, loc, hukou, age)):
                    ec = elder_cost
            rb = 0.0  # a returnee knows the way: leaving again costs less
            if (at_home and not force_move and returnee_bonus != 0.0
                    and p.first_left[i] != NEVER_LEFT):
                rb = returnee_bonus
            saved = (fc + ec) * (1.0 - fam[3])  # kept by staying in the home province
            fmul = 1.0 if saved == 0.0 else np.exp(saved / lam)
            adj = _network_adjustment(t, e, cont, loc, beta_net_lam, near, fmul)
            nadj = _near_adjustment(t, e, near, fmul)
            sc, sd = _spouse_terms(i, at_home, p, families and not force_move, fam[4])
            sadj = 0.0  # the spouse's destination: its weight times (exp(cost / lam) - 1)
            if sd >= 0:
                sadj = (_dest_weight(t, sd, e, cont, loc, beta_net_lam, near, fmul)
                        * (np.exp(fam[4] / lam) - 1.0))
            total = rowsum[t] + adj + nadj + sadj  # sum of exp(V/lam - vmax)
            u = uniform(key_choice, i, 0)
            picked = False
            d = HOME
            if ht_mode and not force_move:
                v_home = b_push[ag, sex[i]] * home_log_income_hh[h] + asc_home + sc
                if families and at_home:
                    v_home += fc
                if ec != 0.0:
                    v_home += ec
                v_home -= rb
                # u0 is uniform on [0, p_consider) here: act with the chance psi(gain)
                if not at_home:
                    gain = v_home - lam * (np.log(e[t, loc[i]]) + vmax - log_size[loc[i]])
                    if sd == loc[i]:
                        gain -= fam[4]  # going home alone parts the couple
                    elif sd < 0 and families and p.spouse[i] >= 0 and loc[p.spouse[i]] == HOME:
                        gain += fam[4]  # going home joins the spouse there
                    if gain > 0.0 and u0 < p_consider * min(1.0, ht_response * gain):
                        new_loc[i] = HOME
                        dist[i] = NO_DIST
                        event[i] = EVENT_RETURN
                    continue
                d = _pick_spouse_or_dest(t, u * total, sd, sadj, adj, nadj, e, cum, cont, loc,
                                         beta_net_lam, near, fmul)
                picked = True
                gain = lam * (np.log(e[t, d]) + vmax - log_size[d]) - v_home
                if near[d, 3] < 1.0:
                    gain += saved
                if d == sd:
                    gain += fam[4]
                if gain <= 0.0 or u0 >= p_consider * min(1.0, ht_response * gain):
                    continue
            elif at_home and not force_move:
                # nested logit: P(move) = S^lam / (S^lam + exp(V_home)), S in exp(V/lam) units
                log_move = lam * (np.log(total) + vmax)
                v_home = b_push[ag, sex[i]] * home_log_income_hh[h] + asc_home + sc
                if families and at_home:
                    v_home += fc
                if ec != 0.0:
                    v_home += ec
                v_home -= rb
                p_move = 1.0 / (1.0 + np.exp(v_home - log_move))
                if u >= p_move:
                    continue
                u = u / p_move  # reuse the draw, rescaled, for the destination
            if not picked:
                d = _pick_spouse_or_dest(t, u * total, sd, sadj, adj, nadj, e, cum, cont, loc,
                                         beta_net_lam, near, fmul)
            if d == loc[i]:
                continue
            new_loc[i] = d
            cap = county_capital[c]
            ud = uniform(key_dist, i, 0)
            acc = 0.0
            k = 3
            for q in range(4):
                acc += dist_probs[prov, cap, d, q]
                if ud < acc:
                    k = q
                    break
            dist[i] = k
            event[i] = EVENT_DEPART if at_home else EVENT_ONWARD


@njit(inline="always", cache=True)
def _pick_spouse_or_dest(t, u, sd, sadj, adj, nadj, e, cum, cont, loc, beta_net_lam, near,
                         fmul):
    """:func:`_pick_dest` with the spouse's destination ``sd`` first, for u in [0, sadj):
    the part of its weight the spouse adds (``sadj``, 0 without one)."""
    if u < sadj:
        return sd
    return _pick_dest(t, u - sadj, adj, nadj, e, cum, cont, loc, beta_net_lam, near, fmul)


@njit(inline="always", cache=True)
def _ask_ahead(who, k, lo, hi, m, cn, loc, p, y_home, age, ring, ring_n):
    """The contacts of the decider ``who[k]`` and the prefetches of those ahead
    (:func:`sim.core.prefetch.contacts_ring`), and of the own fields and household income of
    the deciders ``2 * AHEAD`` and ``AHEAD`` ahead."""
    cont = contacts_ring(who, k, lo, hi, m, cn, loc, loc, ring, ring_n)
    if k + 2 * AHEAD < m:
        j = who[k + 2 * AHEAD]
        prefetch(p.hh_off, j)
        prefetch(age, j)
    if k + AHEAD < m:
        h = household(p, who[k + AHEAD])
        prefetch(y_home, h)
        prefetch(p.hh_county, h)
    return cont


@njit(cache=True, parallel=True)
def apply_moves(event, new_loc, p, year_code, out_by_dist):
    """Commit the month's moves; returns the numbers of onward moves and of returns by choice
    (Harris-Todaro mode) and adds departures by distance class to ``out_by_dist``; a first
    departure is dated ``year_code`` (the year less ``Persons.year0``). Movers arrive
    without a job or permit. Parallel over fixed chunks with partial counts
    (``sim.core.chunks``)."""
    loc = p.loc
    dist = p.dist
    months_away = p.months_away
    sector = p.sector
    job = p.job
    permit = p.permit
    first_left = p.first_left
    n = event.shape[0]
    c_count = np.zeros((N_CHUNKS, 6), np.int64)  # onward, back, departures by distance class
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        cnt = c_count[c]
        for i in range(lo, hi):
            ev = event[i]
            if ev == EVENT_NONE:
                continue
            loc[i] = new_loc[i]
            sector[i] = NO_SECTOR
            job[i] = 0
            permit[i] = 0
            if ev == EVENT_DEPART:
                months_away[i] = 0
                cnt[2 + dist[i]] += 1
                if first_left[i] == NEVER_LEFT:
                    first_left[i] = year_code
            elif ev == EVENT_RETURN:
                months_away[i] = 0
                cnt[1] += 1
            else:
                cnt[0] += 1
    tot = c_count.sum(axis=0)
    for k in range(4):
        out_by_dist[k] += tot[2 + k]
    return tot[0], tot[1]
