"""Tallies of the month over all persons (parallel by fixed chunks, ``sim.core.chunks``): the
stock by destination and distance, the migrant profile (``PROFILE``), pay brackets and sums,
and the December counts by province. :mod:`sim.io.results` records them."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import (
    ACROSS_PROVINCE,
    HOME,
    JOB_INFORMAL,
    JOB_INSURED,
    MALE,
    N_SECTORS,
    NO_SECTOR,
    RURAL,
    URBAN,
)
from sim.core.state import household

PROFILE = (
    "male",
    "aged_15_29",
    "age_sum",
    "employed",
    "rural_lf",
    "settled",
    "permit",
    "school_sum",
    "informal",
    "insured",
    "trained_migrants",
    "trained_rural",
)
N_PROFILE = len(PROFILE)
# column of each PROFILE entry in Recorder.profile (and in tally's counts)
PR_MALE = PROFILE.index("male")
PR_AGED_15_29 = PROFILE.index("aged_15_29")
PR_AGE_SUM = PROFILE.index("age_sum")
PR_EMPLOYED = PROFILE.index("employed")
PR_RURAL_LF = PROFILE.index("rural_lf")
PR_SETTLED = PROFILE.index("settled")
PR_PERMIT = PROFILE.index("permit")
PR_SCHOOL_SUM = PROFILE.index("school_sum")
PR_INFORMAL = PROFILE.index("informal")
PR_INSURED = PROFILE.index("insured")
PR_TRAINED_MIGRANTS = PROFILE.index("trained_migrants")
PR_TRAINED_RURAL = PROFILE.index("trained_rural")


@njit(cache=True)
def _tally_range(lo, hi, age, sex, school, trained, loc, hukou, dist, sector, job,
                 permit, n_dest):
    """The counts of :func:`tally` over persons [lo, hi): a plain serial loop into arrays of its
    own (which the compiler knows alias no input, so it runs as fast as the serial tally did)."""
    by_dest = np.zeros(n_dest, np.int64)
    by_dest_xprov = np.zeros(n_dest, np.int64)
    by_dist = np.zeros(4, np.int64)
    prof = np.zeros(N_PROFILE, np.int64)
    by_sector = np.zeros(N_SECTORS, np.int64)
    for i in range(lo, hi):
        if hukou[i] != RURAL:
            if hukou[i] == URBAN:
                prof[PR_SETTLED] += 1
            continue
        prof[PR_RURAL_LF] += 1
        prof[PR_TRAINED_RURAL] += trained[i]
        d = loc[i]
        if d == HOME:
            continue
        prof[PR_TRAINED_MIGRANTS] += trained[i]
        by_dest[d] += 1
        by_dist[dist[i]] += 1
        if dist[i] == ACROSS_PROVINCE:
            by_dest_xprov[d] += 1
        if sex[i] == MALE:
            prof[PR_MALE] += 1
        if age[i] < 30:
            prof[PR_AGED_15_29] += 1
        prof[PR_AGE_SUM] += age[i]
        prof[PR_PERMIT] += permit[i]
        prof[PR_SCHOOL_SUM] += school[i]
        if sector[i] != NO_SECTOR:
            prof[PR_EMPLOYED] += 1
            by_sector[sector[i]] += 1
            if (job[i] & JOB_INFORMAL) != 0:
                prof[PR_INFORMAL] += 1
            if (job[i] & JOB_INSURED) != 0:
                prof[PR_INSURED] += 1
    return by_dest, by_dist, prof, by_sector, by_dest_xprov


@njit(cache=True, parallel=True)
def tally(p, n_dest):
    """One pass over persons: stock by destination and distance class, migrant profile,
    employed migrants by sector, and the inter-provincial stock by destination (partial counts
    by fixed chunk in parallel, then summed: integers, the same with any number of threads)."""
    age = p.age
    sex = p.sex
    school = p.school
    trained = p.trained
    loc = p.loc
    hukou = p.hukou
    dist = p.dist
    sector = p.sector
    job = p.job
    permit = p.permit
    n = age.shape[0]
    c_dest = np.zeros((N_CHUNKS, n_dest), np.int64)
    c_xprov = np.zeros((N_CHUNKS, n_dest), np.int64)  # those who crossed a provincial border
    c_dist = np.zeros((N_CHUNKS, 4), np.int64)
    c_prof = np.zeros((N_CHUNKS, N_PROFILE), np.int64)
    c_sector = np.zeros((N_CHUNKS, N_SECTORS), np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        a, b, e, f, g = _tally_range(lo, hi, age, sex, school, trained, loc, hukou, dist,
                                     sector, job, permit, n_dest)
        c_dest[c] = a
        c_dist[c] = b
        c_prof[c] = e
        c_sector[c] = f
        c_xprov[c] = g
    return (c_dest.sum(axis=0), c_dist.sum(axis=0), c_prof.sum(axis=0), c_sector.sum(axis=0),
            c_xprov.sum(axis=0))


@njit(cache=True, parallel=True)
def tally_pay(loc, wage, paid, remit, job, contrib, minw, to_2005, edges):
    """Wage brackets (2005 prices), fully paid, covered by and paid at least the minimum wage
    (pay before the insured migrant's own contribution, as the 2004 Provisions compare it);
    sums of wages, of remittances and of the wages of informal jobs (``JOB_INFORMAL``): partial
    sums by fixed chunk in parallel, added in chunk order, so the sums do not depend on
    threads."""
    n = wage.shape[0]
    c_bins = np.zeros((N_CHUNKS, 4), np.int64)
    c_out = np.zeros((N_CHUNKS, 3), np.int64)  # paid in full, covered by a minimum wage, >= it
    c_sum = np.zeros((N_CHUNKS, 3), np.float64)  # wages, remittances, informal wages
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        bins = c_bins[c]
        out = c_out[c]
        total = 0.0
        total_remit = 0.0
        total_informal = 0.0
        for i in range(lo, hi):
            w = wage[i]
            if w <= 0.0:
                continue
            total += w
            total_remit += remit[i]
            if (job[i] & JOB_INFORMAL) != 0:
                total_informal += w
            w5 = w * to_2005
            k = 0
            while k < 3 and w5 >= edges[k]:
                k += 1
            bins[k] += 1
            out[0] += paid[i]
            m = minw[loc[i]]
            if m > 0.0:
                out[1] += 1
                gross = w / (1.0 - contrib) if (job[i] & JOB_INSURED) != 0 else w
                if gross >= m * 0.999999:
                    out[2] += 1
        c_sum[c, 0] = total
        c_sum[c, 1] = total_remit
        c_sum[c, 2] = total_informal
    total = 0.0
    total_remit = 0.0
    total_informal = 0.0
    for c in range(N_CHUNKS):
        total += c_sum[c, 0]
        total_remit += c_sum[c, 1]
        total_informal += c_sum[c, 2]
    return c_bins.sum(axis=0), c_out.sum(axis=0), total, total_remit, total_informal


@njit(cache=True)
def tally_provinces(p, hh_prov, dest_prov, n_prov):
    """One serial pass over persons (December): rural-hukou migrants (away, as in the migrant
    stock) by the province of their household, where they are registered, and converted
    (urban-hukou) persons by the province where they live. Integer counts: the same with any
    number of threads."""
    loc = p.loc
    hukou = p.hukou
    by_origin = np.zeros(n_prov, np.int64)
    settled = np.zeros(n_prov, np.int64)
    for i in range(loc.shape[0]):
        d = loc[i]
        if d == HOME:
            continue
        if hukou[i] == RURAL:
            by_origin[hh_prov[household(p, i)]] += 1
        elif hukou[i] == URBAN:
            settled[dest_prov[d]] += 1
    return by_origin, settled
