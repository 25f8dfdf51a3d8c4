"""Job matching of the month (``matching`` stage): separations, then hires through openings and
contacts (seed 1.4: 95% of migrants found jobs through friends or by themselves)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core.encodings import HOME, JOB_INFORMAL, JOB_INSURED, JOB_SELF, NO_SECTOR, RURAL
from sim.core.prefetch import contact_ring, contacts_ring
from sim.core.rng import uniform
from sim.core.state import CONTACT_CHUNK, flat_nonzero


def match_jobs(
    key_sep,
    key_find,
    key_job,
    p,
    sec_in,
    cn,
    max_degree,
    find_sex,
    sexw,
    openings,
    layoff,
    sep,
    net_boost,
    sector_pull,
    informal_prob,
    minwage_prob,
    insured_prob,
    train_boost,
    self_accept=None,
):
    """Separations and hires from start-of-step status (``sec_in``: the sector, NO_SECTOR
    without a job; also what contacts are read from) into ``p.sector`` (and ``p.job``); a hire
    draws its sector from openings weighted by the seeker's sex (``sexw``, employers' sex mix
    by sector) and up by contacts working in each sector, then the job's informality and
    minimum-wage coverage and, for formal jobs, social insurance (bit flags in ``job``). A
    self-employed seeker takes the job with chance ``self_accept[d, sector]`` (None: always;
    ``self_employment.SelfEmployment.offer_acceptance``) and otherwise keeps working on their
    own.
    ``find_sex`` is the chance of a job by destination and sex. Training raises the chance of
    finding a job.

    Two passes, as the decisions: :func:`_separations` (every person: separations, and which
    migrants seek a job), then :func:`_hires` over the seekers, prefetching their contact lists
    and the contacts' state a few seekers ahead. The draws are those of one pass."""
    if self_accept is None:
        self_accept = np.ones_like(openings)
    seeking = _separations(key_sep, p, sec_in, layoff, sep)
    _hires(flat_nonzero(seeking), key_find, key_job, p, sec_in, cn, max_degree,
           find_sex, sexw, openings, net_boost, sector_pull, informal_prob, minwage_prob,
           insured_prob, train_boost, self_accept)


@njit(cache=True, parallel=True)
def _separations(key_sep, p, sec_in, layoff, sep):
    """Pass 1 (``p.sector`` holds the start-of-step status, ``sec_in``):
    employed migrants separate with chance ``sep`` plus the layoff chance; returns 1 for the
    migrants without a job at the start (the seekers)."""
    loc = p.loc
    hukou = p.hukou
    sec_out = p.sector
    job = p.job
    n = loc.shape[0]
    seeking = np.empty(n, np.int8)
    for i in prange(n):
        d = loc[i]
        seeking[i] = 0
        if d == HOME or hukou[i] != RURAL:
            continue
        if sec_in[i] != NO_SECTOR:
            if uniform(key_sep, i, 0) < sep + layoff[d, sec_in[i]]:
                sec_out[i] = NO_SECTOR
                job[i] = 0
            continue
        seeking[i] = 1
    return seeking


@njit(cache=True, parallel=True)
def _hires(who, key_find, key_job, p, sec_in, cn, max_degree, find_sex, sexw,
           openings, net_boost, sector_pull, informal_prob, minwage_prob, insured_prob,
           train_boost, self_accept):
    """Pass 2: the seekers ``who`` find a job or not (see :func:`match_jobs`). Draws of
    ``key_job`` per seeker: 0-3 the job's flags, 4 a self-employed seeker's acceptance."""
    loc = p.loc
    sex = p.sex
    trained = p.trained
    sec_out = p.sector
    job = p.job
    m = who.shape[0]
    n_sec = openings.shape[1]
    for ch in prange((m + CONTACT_CHUNK - 1) // CONTACT_CHUNK):  # one contact scratch per chunk
        ring, ring_n = contact_ring(max_degree)
        lo, hi = ch * CONTACT_CHUNK, min(m, (ch + 1) * CONTACT_CHUNK)
        for r in range(lo, hi):
            cont = contacts_ring(who, r, lo, hi, m, cn, loc, sec_in, ring, ring_n)
            i = who[r]
            d = loc[i]
            k = 0
            for a in range(cont.shape[0]):
                c = cont[a]
                if loc[c] == d and sec_in[c] != NO_SECTOR:
                    k += 1
            x = sex[i]
            f = 1.0 - (1.0 - find_sex[d, x]) ** (1.0 + net_boost * min(k, 4))
            if trained[i] == 1:
                f = min(1.0, f * (1.0 + train_boost))
            if uniform(key_find, i, 0) >= f:
                continue
            n_by = _contacts_by_sector(d, cont, loc, sec_in, n_sec)
            total = 0.0
            for s in range(n_sec):
                total += openings[d, s] * sexw[s, x] * (1.0 + sector_pull * n_by[s])
            if total <= 0.0:
                continue
            u = uniform(key_job, i, 0) * total
            acc = 0.0
            pick = n_sec - 1
            for s in range(n_sec):
                acc += openings[d, s] * sexw[s, x] * (1.0 + sector_pull * n_by[s])
                if u < acc:
                    pick = s
                    break
            if (job[i] & JOB_SELF) != 0 and uniform(key_job, i, 4) >= self_accept[d, pick]:
                continue  # keeps working on their own
            sec_out[i] = pick
            flags = 0
            if uniform(key_job, i, 1) < informal_prob[pick]:
                flags |= 1
            if uniform(key_job, i, 2) < minwage_prob:
                flags |= 2
            if (flags & JOB_INFORMAL) == 0 and uniform(key_job, i, 3) < insured_prob:
                flags |= JOB_INSURED
            job[i] = flags


@njit(inline="always", cache=True)
def _contacts_by_sector(d, cont, loc, sec, n_sec):
    """The contacts ``cont`` employed at destination ``d``, by sector (one pass over the
    contact list, for the hires of the month only)."""
    k = np.zeros(n_sec, np.int64)
    for a in range(cont.shape[0]):
        c = cont[a]
        if loc[c] == d and sec[c] >= 0:
            k[sec[c]] += 1
    return k
