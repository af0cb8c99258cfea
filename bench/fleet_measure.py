"""Measures of the grand open (bench/fleet.py): watchers' lag, arrival order, the proxy's own timings."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from bench.rush_load import lag_of
from bench.rush_measure import percentile

ROOT = Path(__file__).resolve().parent.parent


def ws_lag_p99(watchers: list[dict], watched: dict, finals: list[dict]) -> float | None:
    """From each booking's commit to the first frame a watcher of that company and rank received after it
    (a watcher sees its rank's seats: another rank's booking changes nothing it is shown)."""
    commits: dict[tuple[int, str], list[float]] = defaultdict(list)
    for one in finals:
        if one["final"] == "booked" and one["booked"] and one["booked"][0]:
            commits[(one["tag"], one["rank"])].append(float(one["booked"][0]))
    lags = []
    for watcher, frames in zip(watchers, watched.get("frames", []), strict=False):
        mine = sorted(commits.get((watcher["tag"], watcher["rank"]), []))[:200]
        lags.extend(lag_of([sorted(frames)], mine))
    if not lags:
        return None
    lag = percentile(lags, 0.99)
    return round(lag, 3) if lag != float("inf") else -1.0  # -1: a watcher never saw a commit


def order_inversions(students: list[dict], *, key: str, apart: float, seed: int) -> tuple[float, int]:
    """(share, pairs): sampled pairs of students of the same company, arriving more than `apart` seconds
    apart, whose `key` (a ticket, a time) puts them in the opposite order."""
    by_company: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for one in students:
        if one.get(key):
            by_company[one["tag"]].append((one["arrived"], float(one[key])))
    pairs = inverted = 0
    rng = random.Random(seed)
    for taken in by_company.values():
        if len(taken) < 2:
            continue
        for _ in range(min(20_000, len(taken) * 20)):
            (a_at, a_key), (b_at, b_key) = rng.sample(taken, 2)
            if abs(a_at - b_at) < apart:
                continue
            pairs += 1
            inverted += (a_at < b_at) != (a_key < b_key)
    return (round(inverted / pairs, 4) if pairs else 0.0), pairs


def entry_order_inversions(students: list[dict]) -> tuple[float, int]:
    """Pairs arriving at least a second apart that the rush path took in (a decision or a place in line) in
    the opposite order. Covers every student, ticket or not: a student the proxy turned away ("busy") is
    taken in at a later try, and a later arrival may be taken in first; the ticket measure cannot see that."""
    return order_inversions(students, key="entered", apart=1.0, seed=11)


PROXY_LOG = ROOT / ".data" / "bench-logs" / "rush-timing.log"


def proxy_times(*, since: float, until: float) -> list[float]:
    """Seconds the proxy took for each students' rush answer logged between `since` and `until`
    (deploy/nginx.conf.template's rush_timing log: from the request's first byte to the answer's last).

    The servers' side of every answer, busy ones and page copies included; p99_s adds the load processes'
    own waits (for one of their connections, for their event loop), which a browser does not have."""
    times: list[float] = []
    if not PROXY_LOG.exists():
        return times
    with PROXY_LOG.open() as log_file:
        for line in log_file:
            parts = line.split()
            if len(parts) >= 2 and since <= float(parts[0]) <= until:
                times.append(float(parts[1]))
    return times


def fifo_inversions(students: list[dict]) -> tuple[float, int]:
    """Pairs of queued students whose tickets (the waiting room's admission order) disagree with arrival
    order; pairs arriving within 10 ms of each other are not counted (their order on the wire is not the
    load generator's to promise). (0.0, 0) when nobody was given a place in line."""
    return order_inversions(students, key="ticket", apart=0.010, seed=7)
