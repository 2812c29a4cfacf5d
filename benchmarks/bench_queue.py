"""Ack in `web`, answer in `worker`s: the task queue's figures, measured through the Procfile's processes.

    python benchmarks/bench_queue.py            # all four parts (about two minutes)
    python benchmarks/bench_queue.py --part latency --rounds 60

Against a loopback Capillary in a process of its own (1,000-coupon customers, 3.4 MB each, answered at once) and
a loopback Slack, with a throwaway redis-server:

- latency: what the queue adds to one lookup. The same new-customer `/coupons`, one at a time, alternately to
  `web` alone (no `REDIS_URL`: the work runs on `web`'s threads) and to `web` + 2 workers on Redis; POST sent →
  reply received at the response_url. Medians side by side and their difference.
- burst: 300 `/coupons` sent within one second by 50 connections at once, to one `web` + two workers: first 300
  for one 1,000-coupon customer, then for 300 different ones. Acks (POST → HTTP 200) and replies (POST → reply
  at the response_url), answered and answered twice, and each process's peak RSS.
- hit: processor time the workers spend on a click ("Next ▶") and on a repeated `/coupons` of a customer they
  have cached, per request (the workers' user + system time over 40 of each, one at a time), against the honest
  floor: `json.loads` of the same body with the collector off, in a clean process.
- kill: 100 lookups in flight (Capillary taking 2 s), one of two workers SIGKILLed: answered, answered twice, and
  the time the last answer took after the kill.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from bench_end_to_end import (
    ID_BLOCK,
    SECRET,
    Capillary,
    Recorder,
    Web,
    body_for,
    click_body,
    command_body,
    find_button,
)
from slack_sdk.signature import SignatureVerifier
from standins import Workers, bot_env, cpu_seconds, json_loads_floor_ms, machine_line, peak_rss_mib, redis_server

ROOT = Path(__file__).resolve().parent.parent
COUPONS = 1000
SLOW = 2  # customers of this block answer after 2 s (the kill part)


class Deployment:
    """`web` (with `REDIS_URL`: and `workers` workers) against the shared stand-ins; audit lines counted."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.audit: list[dict[str, Any]] = []
        self.web = Web(env)
        self.workers = Workers(ROOT, env, workers, self._line) if workers else None

    def _line(self, line: str) -> None:
        with contextlib.suppress(ValueError):
            self.audit.append(json.loads(line))

    @property
    def pids(self) -> list[int]:
        # The Procfile line runs under `sh -c`: web is the shell's child.
        return [*children(self.web.process.pid), *(self.workers.pids if self.workers else [])]

    def stop(self) -> None:
        if self.workers:
            self.workers.stop()
        self.web.stop()


def children(pid: int) -> list[int]:
    """`pid`'s child processes, or `pid` itself when it has none (Linux /proc)."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found] or [pid]


def signed_post(base: str, body: str, client: httpx.Client) -> tuple[float, float]:
    """POST `body` signed; (sent, acked) as perf_counter times."""
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    sent = time.perf_counter()
    response = client.post(base + "/slack/events", content=body, headers=headers, timeout=30)
    response.raise_for_status()
    return sent, time.perf_counter()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def part_latency(env: dict[str, str], redis_url: str, slack: Recorder, rounds: int) -> None:
    alone = Deployment(env, 0)
    queued = Deployment({**env, "REDIS_URL": redis_url}, 2)
    times: dict[str, list[float]] = {"in-process": [], "queue": []}
    try:
        customer = ID_BLOCK + 10_000
        for n in range(rounds + 2):
            for name, deployment in (("in-process", alone), ("queue", queued)):
                customer += 1
                key = f"lat{customer}"
                sent = deployment.web.post(command_body(customer, slack.url + "response/" + key))
                arrived, _ = slack.wait(key)
                if n >= 2:  # two warm-up rounds
                    times[name].append((arrived - sent) * 1000)
    finally:
        alone.stop()
        queued.stop()
    a, b = statistics.median(times["in-process"]), statistics.median(times["queue"])
    print(f"latency, new 1,000-coupon customer, {rounds} alternating rounds (POST → reply):")
    print(f"  web alone (in-process)   median {a:7.1f} ms   p90 {pct(times['in-process'], 0.9):7.1f} ms")
    print(f"  web + 2 workers (queue)  median {b:7.1f} ms   p90 {pct(times['queue'], 0.9):7.1f} ms")
    print(f"  the queue adds           median {b - a:+7.1f} ms")


def part_burst(env: dict[str, str], slack: Recorder) -> None:
    deployment = Deployment(env, 2)
    try:
        for label, customers in (
            ("one 1,000-coupon customer", [ID_BLOCK + 20_000] * 300),
            ("300 different customers", [ID_BLOCK + 30_000 + n for n in range(300)]),
        ):
            acks, replies, answered, twice = burst(deployment.web.base_url, customers, slack)
            print(f"burst of 300 within 1 s, {label}:")
            print(
                f"  acks: p50 {pct(acks, 0.5):6.0f} ms  p99 {pct(acks, 0.99):6.0f} ms  max {max(acks):6.0f} ms  "
                f"within 3 s: {sum(a < 3000 for a in acks)}/300"
            )
            print(
                f"  replies: p50 {pct(replies, 0.5):6.0f} ms  p99 {pct(replies, 0.99):6.0f} ms  "
                f"answered {answered}/300, twice {twice}"
            )
        rss = ", ".join(
            f"{name} {peak_rss_mib(pid):.0f}" for name, pid in zip(names(deployment), deployment.pids, strict=True)
        )
        print(f"  peak RSS (MiB): {rss}")
    finally:
        deployment.stop()


def names(deployment: Deployment) -> list[str]:
    return ["web"] + [f"worker{n + 1}" for n in range(len(deployment.pids) - 1)]


def burst(base: str, customers: list[int], slack: Recorder) -> tuple[list[float], list[float], int, int]:
    tag = f"b{time.monotonic_ns()}"
    keys = [f"{tag}-{n}" for n in range(len(customers))]
    sent_at: dict[str, float] = {}
    acks: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()

    def send(n: int) -> None:
        time.sleep(max(0.0, start + n / len(customers) - time.perf_counter()))  # spread over one second
        with httpx.Client() as client:
            sent, acked = signed_post(base, command_body(customers[n], slack.url + "response/" + keys[n]), client)
        with lock:
            sent_at[keys[n]] = sent
            acks.append((acked - sent) * 1000)

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(send, range(len(customers))))
    replies = []
    for key in keys:
        try:
            arrived, _ = slack.wait(key, timeout=60)
            replies.append((arrived - sent_at[key]) * 1000)
        except RuntimeError:
            pass
    time.sleep(1.0)  # let a duplicate, if any, arrive before counting
    twice = sum(1 for key in keys if key in slack.replies)
    return acks, replies, len(replies), twice


def part_hit(env: dict[str, str], slack: Recorder, body: bytes) -> None:
    deployment = Deployment(env, 2)
    try:
        customer = ID_BLOCK + 40_000
        deployment.web.post(command_body(customer, slack.url + "response/first"))
        _, message = slack.wait("first")
        button = find_button(message["blocks"], "Next ▶")
        for warm in range(4):  # both workers have parsed this customer's answer once
            deployment.web.post(command_body(customer, slack.url + f"response/w{warm}"))
            slack.wait(f"w{warm}")
        costs: dict[str, float] = {}
        for kind, make in (
            ("repeated /coupons", lambda n: command_body(customer, slack.url + f"response/h{n}")),
            ("click Next ▶", lambda n: click_body(button, slack.url + f"response/h{n}")),
        ):
            costs[kind] = worker_cpu_per_request(deployment, slack, make)
    finally:
        deployment.stop()
    floor = json_loads_floor_ms(body)
    print(f"cache hits at {COUPONS:,} coupons ({len(body) / 1e6:.1f} MB), workers' processor time per request:")
    print(f"  json.loads floor (collector off, clean process): {floor:.1f} ms")
    for kind, ms in costs.items():
        print(f"  {kind:18} {ms:6.2f} ms   {ms / floor:.2f}× the floor")


def worker_cpu_per_request(
    deployment: Deployment, slack: Recorder, make: Callable[[int], str], count: int = 40
) -> float:
    assert deployment.workers is not None
    before = sum(cpu_seconds(pid) for pid in deployment.workers.pids)
    for n in range(count):
        deployment.web.post(make(n))
        slack.wait(f"h{n}")
    return (sum(cpu_seconds(pid) for pid in deployment.workers.pids) - before) * 1000 / count


def part_kill(env: dict[str, str], slack: Recorder) -> None:
    deployment = Deployment(env, 2)
    assert deployment.workers is not None
    try:
        customers = [SLOW * ID_BLOCK + 50_000 + n for n in range(100)]
        keys = [f"k{customer}" for customer in customers]
        with httpx.Client() as client:
            for customer, key in zip(customers, keys, strict=True):
                signed_post(deployment.web.base_url, command_body(customer, slack.url + "response/" + key), client)
        time.sleep(1.0)  # both workers are fetching
        os.kill(deployment.workers.pids[0], signal.SIGKILL)
        killed = time.perf_counter()
        answered, last = 0, killed
        for key in keys:
            try:
                arrived, _ = slack.wait(key, timeout=max(0.1, killed + 60 - time.perf_counter()))
                answered, last = answered + 1, max(last, arrived)
            except RuntimeError:
                pass
        time.sleep(1.0)
        twice = sum(1 for key in keys if key in slack.replies)
    finally:
        deployment.stop()
    print("SIGKILL of one of two workers with 100 lookups in flight (Capillary taking 2 s):")
    print(f"  answered {answered}/100, twice {twice}, the last {last - killed:.1f} s after the kill")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["latency", "burst", "hit", "kill"], action="append")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    parts = args.part or ["latency", "burst", "hit", "kill"]
    body = body_for(COUPONS)
    upstream = Capillary({1: body}, slow_blocks={SLOW: (body, 2.0)})  # first: it forks this process
    slack = Recorder()
    print(machine_line())
    try:
        with redis_server() as redis_url:
            # A long cache TTL; no request budget: the loopback Capillary has no limit to respect.
            env = bot_env(
                slack.url, upstream.url, SECRET, COUPONS_CACHE_TTL_SECONDS="600", CAPILLARY_MAX_REQUESTS_PER_MINUTE="0"
            )
            queued = {**env, "REDIS_URL": redis_url}
            if "latency" in parts:
                part_latency(env, redis_url, slack, args.rounds)
            if "burst" in parts:
                part_burst(queued, slack)
            if "hit" in parts:
                part_hit(queued, slack, body)
            if "kill" in parts:
                part_kill(queued, slack)
    finally:
        upstream.stop()


if __name__ == "__main__":
    main()
