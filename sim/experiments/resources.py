"""What a run may ask for: years the data allow, threads, seeds, and the memory it needs.

Everything here is checked before any work, so a run that cannot start is refused with one line
naming the option, the value and what is allowed (:class:`LimitError`), instead of failing
after minutes or with a ``MemoryError``.

Memory. A run holds about :data:`STATE_BYTES_PER_SLOT` bytes of state per person slot
(``sum(Simulation.memory_bytes().values())``) and peaks, during the run, at about
:data:`PEAK_BYTES_PER_SLOT` bytes per slot over the interpreter's own :data:`BASE_BYTES`.
Slots are the agents plus the room reserved for the cohorts entering during the run
(``demography.slot_capacity``: 1.38 slots per agent for 1985-2006). Measured in session 27
(``Simulation.memory_bytes()``, and the high-water RSS over a warmed-up interpreter, two
threads): at 1e6 agents, 1985-2006, 85.5 B/slot of state, a build peak of 96 and a run peak
of 110 B/slot (session 26's code: 97, 108 and 124); at 2e5 agents, 2000-2024, 85.0, 104.5
and 139.6 (session 26's code: 96.6, 112 and 148). The constants keep a margin of about 11%
over those; ``benchmarks/README.md`` gives the state by component.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STATE_BYTES_PER_SLOT = 95  # measured 85.0-85.5 (see above)
PEAK_BYTES_PER_SLOT = 155  # measured 110-140 (see above), with a margin
BASE_BYTES = 400 * 2**20  # Python, numpy, pandas, numba and LLVM, warmed up (~250-300 MB)
MAX_SLOTS = 2**31 - 1  # person and network indices are int32
YEARS = (1, 200)
SIM_YEARS = (1949, 2100)  # Simulation's own bounds on the start year
SEED_MAX = 2**63 - 1


class LimitError(ValueError):
    """A value outside what the model, its data or the machine allow."""


# ------------------------------------------------------------------ years
def year_range(params: Any, years: int) -> tuple[int, int]:
    """First and last start year a run of ``years`` years may have, given ``births.csv``.

    The start year's age structure needs every cohort aged 15 to ``exit_age - 1`` (so the
    start year is within the cohorts' entry years, ``cohort_entry`` or not); with
    ``cohort_entry`` the last simulated year needs its entering cohort too."""
    from sim.core.geography import load_geography
    from sim.mechanisms.demography import Projection

    proj = Projection(load_geography(), params)
    pars = params.at(SIM_YEARS[0])
    first = max(SIM_YEARS[0], proj.first_entry + int(pars.exit_age) - 16)
    last = min(SIM_YEARS[1], proj.last_entry)
    if pars.cohort_entry:
        last = min(last, proj.last_entry - years + 1)
    return first, last


def check_years(params: Any, start_year: int, years: int, *, opt_start: str = "--start-year",
                opt_years: str = "--years") -> None:
    """Refuse a number of years or a start year the model or ``births.csv`` cannot serve."""
    lo, hi = YEARS
    if not lo <= years <= hi:
        raise LimitError(f"{opt_years} {years} is outside the allowed range [{lo}, {hi}]")
    first, last = year_range(params, years)
    if first > last:
        raise LimitError(f"{opt_years} {years}: no start year allows a run that long with the "
                         f"birth cohorts of sim/data/births.csv; the longest is "
                         f"{year_range(params, 1)[1] - first + 1} years (or set "
                         "cohort_entry=false)")
    if not first <= start_year <= last:
        from sim.core.geography import load_geography

        b = load_geography().births["birth_year"]
        why = (f"; the cohorts of sim/data/births.csv reach 15 in {int(b[0]) + 15}-"
               f"{int(b[-1]) + 15}")
        raise LimitError(f"{opt_start} {start_year} is outside the years the data allow for a "
                         f"{years}-year run: [{first}, {last}]{why}")


# ------------------------------------------------------------------ threads and seeds
def check_threads(threads: int | None, option: str = "--threads") -> None:
    import numba

    hi = numba.config.NUMBA_NUM_THREADS
    if threads is not None and not 1 <= threads <= hi:
        raise LimitError(f"{option} {threads} is outside the allowed range [1, {hi}] "
                         "(NUMBA_NUM_THREADS on this machine)")


def check_seed(seed: int, replicates: int = 1, option: str = "--seed") -> None:
    hi = SEED_MAX - (replicates - 1)
    if not 0 <= seed <= hi:
        extra = f" with {replicates} replicates" if replicates > 1 else ""
        raise LimitError(f"{option} {seed} is outside the allowed range [0, {hi}]{extra}")


def check_count(value: int, option: str, lo: int, hi: int | None = None) -> None:
    if value < lo or (hi is not None and value > hi):
        shown = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise LimitError(f"{option} {value} is outside the allowed range {shown}")


# ------------------------------------------------------------------ memory
def slots(params: Any, agents: int, start_year: int, years: int) -> int:
    """Person slots a run allocates (agents plus room for entrants), as the model computes it."""
    from sim.core.geography import load_geography
    from sim.mechanisms.demography import Projection, slot_capacity

    pars = params.at(start_year)
    proj = Projection(load_geography(), params)
    return slot_capacity(
        proj, agents, start_year, years, pars.cohort_entry, families=bool(pars.life_course)
    )


def run_bytes(n_slots: int, runs: int = 1, processes: int = 0) -> int:
    """Estimated peak memory (bytes) of ``runs`` concurrent runs of ``n_slots`` slots each,
    ``processes`` of them in new worker processes (each adding an interpreter)."""
    return runs * PEAK_BYTES_PER_SLOT * n_slots + processes * BASE_BYTES


def _meminfo() -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    except OSError:
        pass
    return out


def _cgroup_room() -> int | None:
    """Room left under a cgroup v2 memory limit, if there is one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
    except OSError:
        return None
    if not limit.isdigit() or not used.isdigit():
        return None
    return max(0, int(limit) - int(used))


def available_memory() -> tuple[int, str]:
    """Bytes of memory available to new runs now, and where the figure comes from:
    ``MemAvailable`` of /proc/meminfo (else free pages by ``os.sysconf``), lowered to the
    room left under a cgroup memory limit."""
    info = _meminfo()
    if "MemAvailable" in info:
        avail, src = info["MemAvailable"], "MemAvailable in /proc/meminfo"
    else:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            src = "free physical pages (os.sysconf)"
        except (ValueError, OSError, AttributeError):
            return 2**62, "unknown (not checked)"
    room = _cgroup_room()
    if room is not None and room < avail:
        return room, "the cgroup memory limit (memory.max - memory.current)"
    return avail, src


def _gib(x: float) -> str:
    return f"{x / 2**30:,.1f} GiB"


def check_memory(params: Any, agents: int, start_year: int, years: int, runs: int = 1,
                 processes: int = 0, option: str = "--agents") -> int:
    """Refuse a run (or ``runs`` concurrent runs, ``processes`` of them in new worker
    processes) that would not fit in memory; return the estimate in bytes."""
    n = slots(params, agents, start_year, years)
    per = PEAK_BYTES_PER_SLOT * n / agents
    need = run_bytes(n, runs, processes)
    avail, src = available_memory()
    if need > avail:
        most = max(0, int((avail - processes * BASE_BYTES) / runs / per))
        each = f" x {runs} concurrent runs" if runs > 1 else ""
        base = f" + {_gib(BASE_BYTES)} per worker process" if processes else ""
        raise LimitError(f"{option} {agents}{each} needs about {_gib(need)} of memory "
                         f"(estimated {per:.0f} B per agent at the build peak{base}), more "
                         f"than the {_gib(avail)} available ({src}); at most about "
                         f"{most:,} agents fit")
    if n > MAX_SLOTS:
        most = math.floor(agents * MAX_SLOTS / n)
        raise LimitError(f"{option} {agents} is outside the allowed range [1000, {most}] "
                         f"for {start_year}-{start_year + years - 1} ({n:,} person slots; "
                         f"indices are 32-bit)")
    return need


def check_run(params: Any, *, agents: int, start_year: int, years: int, seed: int,
              threads: int | None = None, replicates: int = 1, runs: int = 1,
              processes: int = 0, memory: bool = True,
              names: Mapping[str, str] | None = None) -> None:
    """All checks of a run's arguments, cheapest first; raise :class:`LimitError`.
    ``names`` maps argument names to the option names used in messages."""
    opt = {"agents": "--agents", "start_year": "--start-year", "years": "--years",
           "seed": "--seed", "threads": "--threads", **(names or {})}
    check_count(agents, opt["agents"], 1000)
    check_seed(seed, replicates, opt["seed"])
    check_threads(threads, opt["threads"])
    check_years(params, start_year, years, opt_start=opt["start_year"],
                opt_years=opt["years"])
    if memory:
        check_memory(params, agents, start_year, years, runs, processes, opt["agents"])


__all__ = ["BASE_BYTES", "PEAK_BYTES_PER_SLOT", "STATE_BYTES_PER_SLOT", "LimitError",
           "available_memory", "check_count", "check_memory", "check_run", "check_seed",
           "check_threads", "check_years", "run_bytes", "slots", "year_range"]
