"""Measuring the rush benchmark: percentiles, peak RSS and CPU seconds of the servers, the report table."""

from __future__ import annotations

import os
import threading
import time

import psutil


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by every process on the machine, grouped by what it is.

    Processes that ended in between are missing: the load processes report their own CPU time.
    """
    groups: dict[str, float] = {}
    me = os.getpid()
    for process in psutil.process_iter(["cmdline", "name", "cpu_times", "ppid"]):
        try:
            cmd = " ".join(process.info["cmdline"] or [process.info["name"] or ""])
            times = process.info["cpu_times"]
            if "multiprocessing" in cmd:
                # A worker uvicorn spawned: its command line names multiprocessing, its parent uvicorn.
                cmd += " " + " ".join(psutil.Process(process.info["ppid"]).cmdline())
        except psutil.Error:
            continue
        if times is None:
            continue
        role = "bench driver" if process.pid == me else "other"
        for needle, name in (
            ("rush_load.py", "load generator"),
            ("uvicorn", "uvicorn (rush path)"),
            ("gunicorn", "gunicorn"),
            ("daphne", "daphne (websockets)"),
            ("saas.serve", "daphne (websockets)"),  # daphne started through saas/serve.py
            ("nginx", "nginx"),
            ("postgres", "postgresql"),
            ("redis", "redis"),
        ):
            if needle in cmd:
                role = name
                break
        groups[role] = groups.get(role, 0.0) + times.user + times.system
    return groups


def quiet_wait(pids: list[int], *, below: float = 0.2, most_s: float = 60.0) -> float:
    """Wait until the server processes together use less than `below` of a core for a second; seconds waited.

    One scenario's tail (thousands of websockets closing, mails queued) must not run into the next one's
    opening second.
    """
    started = time.monotonic()

    def total() -> float:
        seconds = 0.0
        for pid in pids:
            try:
                parent = psutil.Process(pid)
                for process in [parent, *parent.children(recursive=True)]:
                    times = process.cpu_times()
                    seconds += times.user + times.system
            except psutil.Error:
                pass
        return seconds

    before = total()
    while time.monotonic() - started < most_s:
        time.sleep(1.0)
        after = total()
        if after - before < below:
            break
        before = after
    return time.monotonic() - started


class RssSampler:
    """Peak of the summed RSS of every server process (parents and their children)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = 0.0
        self.max_fds = 0  # the most descriptors the server processes held open together
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        # The process tree is listed again every few seconds only: walking /proc for every child twice a
        # second cost the benchmark's driver about 2 CPU-seconds per scenario, on the cores it measures.
        processes: list[psutil.Process] = []
        listed_at = float("-inf")
        while not self.stop.is_set():
            if time.monotonic() - listed_at > 5.0:
                processes, listed_at = self._tree(), time.monotonic()
            total = fds = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                    fds += process.num_fds()
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total / 2**20)
            self.max_fds = max(self.max_fds, fds)
            time.sleep(0.5)

    def _tree(self) -> list[psutil.Process]:
        found = []
        for pid in self.pids:
            try:
                parent = psutil.Process(pid)
                found += [parent, *parent.children(recursive=True)]
            except psutil.Error:
                pass
        return found

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def print_table(r: dict) -> None:
    rows = [
        ("students", r["students"], ""),
        ("decisions/s (ours, closed loop)", r["decisions_per_s"], ""),
        ("decisions/s (baseline)", r["baseline_decisions_per_s"], ""),
        ("ratio to baseline", r["ratio"], ">= 10"),
        ("ceiling answers/s", r["ceiling_per_s"], ""),
        ("decisions/s in the scenario", r["scenario_decisions_per_s"], "(open loop: arrivals bound it)"),
        ("fraction of ceiling", r["ceiling_fraction"], ">= 0.5"),
        ("HTTP p50 / p95 / p99 s", f"{r['p50_s']} / {r['p95_s']} / {r['p99_s']}", "p99 <= 1"),
        ("final answer p99 s", r["final_answer_p99_s"], "<= 30"),
        (
            "5xx / timeouts / unanswered",
            f"{r['errors_5xx']} / {r['timeouts']} / {r['unanswered']}",
            "0 / 0 / 0",
        ),
        ("overbooked", r["overbooked"], "0"),
        ("booked answers / in PostgreSQL", f"{r['booked_answers']} / {r['booked_in_db']}", "equal"),
        ("big release confirmed/s", r["big_confirmed_per_s"], ">= 500"),
        ("websockets / lag p99 s", f"{r['websockets']} / {r['ws_lag_p99_s']}", "10000 / <= 1"),
        ("peak RSS MB (all servers)", r["peak_rss_mb"], "< 3072"),
    ]
    print()
    print(f"{'measure':34} {'value':>24}  target")
    for name, value, target in rows:
        print(f"{name:34} {value!s:>24}  {target}")
