"""A bounded load generator for naeq's answer-save hot path, for 127.0.0.1 only.

Raw HTTP/1.1 over keep-alive connections on asyncio protocols (no HTTP library): the generator shares the two
cores with the server, so a request costs it a few tens of microseconds. Three modes:

``closed``  C connections each send the next request as soon as the previous answer arrives: the maximum
            sustained throughput of ``--target save`` (the answer-save endpoint), ``--target ping`` (the trivial
            response of the same ASGI handler) or ``--target health`` (a trivial Django view on the same
            server). Each connection owns its own attempts and a rising sequence number, so every save really
            writes.
``open``    A fixed request rate, independent of how fast answers come back (open loop): latency is measured from
            the moment a request was *due*, so queueing in the generator counts (no coordinated omission).
``takers``  N simulated test takers at questionnaire pacing. Each taker answers an item every 5–15 s (uniform,
            mean 10 s: a student reads a questionnaire statement and picks an option; one in ten answers revises an
            earlier item) and its browser sends the unsent answers 4–6 s after the first unsaved one (mean 5 s),
            so a taker makes about one save every 10 s (0.1 saves/s; 10,000 takers ≈ 1,000 saves/s; the real
            client's 1.2 s debounce gives the same one save per answer at this pacing). Takers start
            spread over one pacing interval, already answering. A failed save is retried with backoff (1, 2,
            4 … 30 s, ``--max-backoff``) like the browser client; an answer is safe only when acknowledged.
            ``--answer-every`` / ``--save-after`` change the pacing (the fault test uses a fast one).

Takers share a pool of ``--conns`` keep-alive connections (as behind a school's proxy or a reverse proxy); a
connection the server closed is reopened. Every run is bounded by ``--duration`` seconds and ``--max-requests``.

Output: one JSON object (stdout or ``--json``) with counts, statuses, errors, throughput over the measured window
(after ``--warmup``), latency percentiles in milliseconds and the generator's own CPU time. ``--record FILE``
writes every acknowledgement as a JSON line ``[unix time, attempt, item, seq]`` (the fault test checks them
against the database); the answer value of (attempt, item, seq) is :func:`answer_value`; item n of the
questionnaire is ``Q{100 + n}`` (Q101..).

    python bench/loadgen.py --url http://127.0.0.1:8000 --tokens tokens.json --mode takers --takers 1000 \\
        --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ALLOWED_HOST = "127.0.0.1"
PING_PATH = "/t/api/ping"
HEALTH_PATH = "/t/api/health"


def save_path(attempt_id: int) -> str:
    return f"/t/api/attempts/{attempt_id}/answers"


def item_code(n: int) -> str:
    """The code of the n-th (1-based) item of the benchmark questionnaire (Q101..Q140 for 40 items)."""
    return f"Q{100 + n}"


def answer_value(attempt_id: int, item: str, seq: int) -> str:
    """The value a simulated taker sends for (attempt, item, seq): an option code plus the seq, so that a stored
    value betrays which write it came from."""
    return f"{(attempt_id + seq) % 4 + 1}|{seq}"


class Refused(Exception):
    pass


def check_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != ALLOWED_HOST:
        raise Refused(f"refusing {url!r}: load is sent only to http://{ALLOWED_HOST}")
    return ALLOWED_HOST, parts.port or 80


# ------------------------------------------------------------------------------------------------ HTTP


class Conn(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed before the response"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        length = 0
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17: stop if stop >= 0 else len(head)])
        if len(self.buf) < end + 4 + length:
            return
        status = int(head[9:12])
        body = bytes(self.buf[end + 4: end + 4 + length])
        del self.buf[: end + 4 + length]
        if b"\r\nconnection: close" in head:
            self.close_after = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """At most ``size`` connections; a request waits for a free one (that wait counts in its latency)."""

    def __init__(self, host: str, port: int, size: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.slots: asyncio.LifoQueue[Conn | None] = asyncio.LifoQueue()
        for _ in range(size):
            self.slots.put_nowait(None)
        self.host_header = f"Host: {host}:{port}\r\n".encode()

    async def request(self, method: str, path: str, headers: bytes = b"", body: bytes = b"") -> tuple[int, bytes]:
        conn = await self.slots.get()
        try:
            if conn is None or conn.closed:
                _, conn = await asyncio.wait_for(
                    asyncio.get_running_loop().create_connection(Conn, self.host, self.port), self.timeout)
            live = conn
            assert live is not None
            assert live.transport is not None
            live.waiter = asyncio.get_running_loop().create_future()
            live.transport.write(b"".join((
                f"{method} {path} HTTP/1.1\r\n".encode(), self.host_header, headers,
                b"Content-Length: %d\r\n\r\n" % len(body), body)))
            status, payload = await asyncio.wait_for(live.waiter, self.timeout)
            if live.close_after:
                live.close()
            return status, payload
        except BaseException:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            if conn is not None:
                conn.waiter = None
            self.slots.put_nowait(conn)

    def close(self) -> None:
        while not self.slots.empty():
            conn = self.slots.get_nowait()
            if conn is not None:
                conn.close()


# ------------------------------------------------------------------------------------------------ stats


@dataclass
class Stats:
    warmup_until: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    measured: int = 0
    ok_measured: int = 0
    acked: int = 0

    def add(self, started: float, done: float, status: int | str) -> None:
        self.requests += 1
        self.statuses[str(status)] += 1
        if started >= self.warmup_until:
            self.measured += 1
            self.latencies.append(done - started)
            if status == 200:
                self.ok_measured += 1


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    xs = sorted(values)

    def q(p: float) -> float:
        return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 2)

    return {"p50_ms": q(0.50), "p90_ms": q(0.90), "p95_ms": q(0.95), "p99_ms": q(0.99), "p999_ms": q(0.999),
            "max_ms": round(xs[-1] * 1000, 2), "mean_ms": round(sum(xs) / len(xs) * 1000, 2)}


# ------------------------------------------------------------------------------------------------ the runs


@dataclass
class Plan:
    pool: Pool
    tokens: list[tuple[int, str]]
    stats: Stats
    deadline: float
    max_requests: int
    items: int
    batch: int
    record: Any = None
    seq: dict[int, int] = field(default_factory=dict)

    def budget_left(self) -> bool:
        return time.monotonic() < self.deadline and self.stats.requests < self.max_requests


def _save_request(attempt_id: int, token: str, answers: list[tuple[str, int]]) -> tuple[bytes, bytes]:
    body = json.dumps({"answers": [{"item": item, "value": answer_value(attempt_id, item, seq), "seq": seq}
                                   for item, seq in answers]}, separators=(",", ":")).encode()
    headers = b"X-Attempt-Token: " + token.encode() + b"\r\nContent-Type: application/json\r\n"
    return headers, body


async def _one(plan: Plan, target: str, attempt: tuple[int, str] | None, due: float) -> None:
    """One request of the closed and open modes (a save of ``plan.batch`` items, or a ping)."""
    try:
        if target == "health":
            status, _ = await plan.pool.request("GET", HEALTH_PATH)
        elif target == "ping" or attempt is None:
            status, _ = await plan.pool.request("GET", PING_PATH)
        else:
            aid, token = attempt
            seq = plan.seq.get(aid, 0)
            answers = []
            for _ in range(plan.batch):
                seq += 1
                answers.append((item_code((seq - 1) % plan.items + 1), seq))
            plan.seq[aid] = seq
            headers, body = _save_request(aid, token, answers)
            status, payload = await plan.pool.request("POST", save_path(aid), headers, body)
            if status == 200:
                plan.stats.acked += len(json.loads(payload).get("acked", []))
    except (TimeoutError, OSError) as exc:
        plan.stats.errors[type(exc).__name__] += 1
        status = 0
    plan.stats.add(due, time.monotonic(), status)


async def run_closed(plan: Plan, target: str, conns: int) -> None:
    share = [plan.tokens[i::conns] for i in range(conns)] if plan.tokens else [[] for _ in range(conns)]

    async def worker(mine: list[tuple[int, str]]) -> None:
        n = 0
        while plan.budget_left():
            attempt = mine[n % len(mine)] if mine else None
            n += 1
            await _one(plan, target, attempt, time.monotonic())

    await asyncio.gather(*(worker(m) for m in share))


async def run_open(plan: Plan, target: str, rate: float, max_in_flight: int) -> None:
    start = time.monotonic()
    pending: set[asyncio.Task[None]] = set()
    n = 0
    while plan.budget_left():
        now = time.monotonic()
        due_n = int((now - start) * rate) + 1
        while n < due_n and plan.stats.requests + len(pending) < plan.max_requests:
            if len(pending) >= max_in_flight:
                plan.stats.errors["generator_backlog"] += 1  # the server fell this far behind: count, skip
            else:
                attempt = plan.tokens[n % len(plan.tokens)] if plan.tokens else None
                task = asyncio.create_task(_one(plan, target, attempt, start + n / rate))
                pending.add(task)
                task.add_done_callback(pending.discard)
            n += 1
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
    if pending:
        await asyncio.wait(pending, timeout=plan.pool.timeout + 1)


async def run_takers(plan: Plan, n_takers: int, answer_every: tuple[float, float],
                     save_after: tuple[float, float], revise: float, seed: int, max_backoff: float = 30.0) -> None:
    rng = random.Random(seed)
    takers = plan.tokens[:n_takers]
    if len(takers) < n_takers:
        raise Refused(f"{n_takers} takers asked for, only {len(plan.tokens)} attempts in the token file")
    mean_gap = (answer_every[0] + answer_every[1]) / 2

    async def taker(aid: int, token: str, r: random.Random) -> None:
        # Takers join spread over one pacing interval and are already answering (steady state at once).
        await asyncio.sleep(r.uniform(0, mean_gap))
        seq = 0
        answered = 0
        dirty: dict[str, int] = {}
        next_answer = time.monotonic()
        next_save = float("inf")
        backoff = 1.0
        while True:
            wake = min(next_answer, next_save)
            if wake >= plan.deadline:
                return
            await asyncio.sleep(max(0.0, wake - time.monotonic()))
            if not plan.budget_left():
                return
            now = time.monotonic()
            if now >= next_answer:
                seq += 1
                if answered and r.random() < revise:
                    item = item_code(r.randint(1, answered))
                else:
                    answered = answered % plan.items + 1
                    item = item_code(answered)
                dirty[item] = seq
                next_answer = now + r.uniform(*answer_every)
                if next_save == float("inf"):
                    next_save = now + r.uniform(*save_after)
            if now >= next_save and dirty:
                batch = sorted(dirty.items(), key=lambda kv: kv[1])
                headers, body = _save_request(aid, token, batch)
                started = time.monotonic()
                try:
                    status, payload = await plan.pool.request("POST", save_path(aid), headers, body)
                except (TimeoutError, OSError) as exc:
                    plan.stats.errors[type(exc).__name__] += 1
                    status, payload = 0, b""
                done = time.monotonic()
                plan.stats.add(started, done, status)
                if status == 200:
                    acked = json.loads(payload).get("acked", [])
                    plan.stats.acked += len(acked)
                    wall = time.time()
                    for item, ack_seq in acked:
                        if dirty.get(item, -1) <= ack_seq:
                            dirty.pop(item, None)
                        if plan.record is not None:
                            plan.record.write(f"[{wall:.3f},{aid},\"{item}\",{ack_seq}]\n")
                    backoff = 1.0
                    next_save = done + r.uniform(*save_after) if dirty else float("inf")
                elif status in (401, 404, 409) or 400 <= status < 500:
                    return  # refused for good (submitted, closed, bad token): a real client stops too
                else:
                    next_save = done + min(backoff, max_backoff) * r.uniform(0.5, 1.0)
                    backoff *= 2

    await asyncio.gather(*(taker(aid, tok, random.Random(rng.random())) for aid, tok in takers))


# ------------------------------------------------------------------------------------------------ main


def load_tokens(path: str | None) -> list[tuple[int, str]]:
    if not path:
        return []
    with open(path) as fh:
        data = json.load(fh)
    return [(int(aid), str(tok)) for aid, tok in data]


def _pair(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    return float(lo), float(hi or lo)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Bounded load on naeq's hot path (127.0.0.1 only).")
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT of a running `naeq serve`")
    ap.add_argument("--tokens", help="JSON file [[attempt id, token], ...] (from bench_delivery's setup)")
    ap.add_argument("--mode", choices=["closed", "open", "takers"], required=True)
    ap.add_argument("--target", choices=["save", "ping", "health"], default="save")
    ap.add_argument("--conns", type=int, default=64, help="keep-alive connections (closed: concurrency)")
    ap.add_argument("--rate", type=float, default=100.0, help="open mode: requests per second")
    ap.add_argument("--takers", type=int, default=100)
    ap.add_argument("--answer-every", type=_pair, default=(5.0, 15.0), help="takers: seconds LO,HI between answers")
    ap.add_argument("--save-after", type=_pair, default=(4.0, 6.0),
                    help="takers: seconds LO,HI from the first unsent answer to the save")
    ap.add_argument("--revise", type=float, default=0.1, help="takers: share of answers that revise an earlier item")
    ap.add_argument("--max-backoff", type=float, default=30.0, help="takers: longest wait between retries (s)")
    ap.add_argument("--items", type=int, default=40, help="items of the questionnaire (Q001..)")
    ap.add_argument("--batch", type=int, default=2, help="closed/open saves: answers per batch")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds (hard bound)")
    ap.add_argument("--warmup", type=float, default=0.0, help="seconds not measured at the start")
    ap.add_argument("--max-requests", type=int, default=2_000_000, help="hard bound on requests")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--record", help="takers: write every acknowledgement to this file (JSON lines)")
    ap.add_argument("--json", dest="json_out", help="write the result here instead of stdout")
    return ap


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host, port = check_url(args.url)
    if args.duration > 900 or args.duration <= 0:
        raise Refused("--duration must be in (0, 900] seconds")
    tokens = load_tokens(args.tokens)
    if args.target == "save" and not tokens:
        raise Refused("saves need --tokens")
    conns = min(args.conns, 4096)
    pool = Pool(host, port, conns, args.timeout)
    t0 = time.monotonic()
    stats = Stats(warmup_until=t0 + args.warmup)
    record = open(args.record, "w") if args.record else None  # noqa: SIM115 (closed below)
    plan = Plan(pool=pool, tokens=tokens, stats=stats, deadline=t0 + args.duration, max_requests=args.max_requests,
                items=args.items, batch=args.batch, record=record)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        if args.mode == "closed":
            await run_closed(plan, args.target, conns)
        elif args.mode == "open":
            await run_open(plan, args.target, args.rate, max_in_flight=max(1000, int(args.rate * args.timeout)))
        else:
            await run_takers(plan, args.takers, args.answer_every, args.save_after, args.revise, args.seed,
                             args.max_backoff)
    finally:
        pool.close()
        if record is not None:
            record.close()
    wall = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    window = max(1e-9, min(wall, args.duration) - args.warmup)
    out: dict[str, Any] = {
        "mode": args.mode, "target": args.target, "conns": conns, "duration_s": round(wall, 2),
        "warmup_s": args.warmup, "requests": stats.requests, "measured": stats.measured,
        "ok_per_s": round(stats.ok_measured / window, 1), "req_per_s": round(stats.measured / window, 1),
        "acked_answers": stats.acked, "statuses": dict(stats.statuses), "errors": dict(stats.errors),
        "latency": percentiles(stats.latencies),
        "generator_cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
    }
    if args.mode == "open":
        out["rate"] = args.rate
    if args.mode == "takers":
        out["takers"] = args.takers
        out["pacing"] = {"answer_every_s": list(args.answer_every), "save_after_s": list(args.save_after),
                         "revise": args.revise}
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = asyncio.run(run(args))
    except Refused as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, ensure_ascii=False)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
