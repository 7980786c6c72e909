"""The fault test scaled up: more takers, several kills, on a private PostgreSQL cluster (and optionally SQLite).

Same machinery as tests/delivery/test_fault.py (private cluster with synchronous_commit and fsync on, `naeq serve`
as a process group, bench/loadgen.py takers at a fast pacing recording every acknowledgement). During
``--duration`` seconds it alternates, every ``--every`` seconds: SIGKILL of the whole server (master and workers)
and restart; SIGKILL of one worker only (the supervisor replaces it); an immediate ("crash") stop of PostgreSQL and
restart. At the end every acknowledged answer must be in the database with a seq ≥ the acknowledged one and the
value sent with the stored seq. Traffic only to 127.0.0.1; bounded by ``--duration`` (≤ 300 s).

    .venv/bin/python bench/bench_fault.py --takers 300 --duration 90
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.delivery.test_fault import (  # noqa: E402  (after the path is set)
    PrivatePg,
    Server,
    acks_between,
    base_env,
    failed_saves,
    free_port,
    pg_answers,
    pg_bindir,
    run_faults,
    seed,
    sqlite_answers,
    verify,
)


def worker_pids(master: int) -> list[int]:
    """The server's worker processes (uvicorn spawns them; its multiprocessing resource tracker is not one)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PPid:") and int(line.split()[1]) == master and b"spawn_main" in cmdline:
                pids.append(int(status.parent.name))
    return pids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--takers", type=int, default=300)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--duration", type=float, default=90.0)
    ap.add_argument("--every", type=float, default=8.0, help="seconds between faults")
    ap.add_argument("--sqlite", action="store_true", help="SQLite (WAL) instead of PostgreSQL: server kills only")
    ap.add_argument("--out", default=str(ROOT / "var" / "bench"))
    args = ap.parse_args()
    if not 0 < args.duration <= 300:
        raise SystemExit("--duration must be in (0, 300] seconds")
    work = Path(tempfile.mkdtemp(prefix="naeq-bench-fault-"))
    work.chmod(0o755)
    pg: PrivatePg | None = None
    server: Server | None = None
    try:
        if args.sqlite:
            url = f"sqlite:///{work / 'naeq.sqlite3'}"
        else:
            bindir = pg_bindir()
            if bindir is None:
                raise SystemExit("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
            (work / "pg").mkdir()
            pg = PrivatePg(bindir=bindir, root=work / "pg")
            pg.init()
            url = pg.url
        env = base_env(work, url)
        tokens = work / "tokens.json"
        print(f"» seed {args.takers} takers", file=sys.stderr)
        seed(env, args.takers, args.items, tokens)
        server = Server(env=env, port=free_port(), log=work / "serve.log")
        server.start()
        srv = server

        def kill_server() -> None:
            srv.kill()
            time.sleep(0.5)
            srv.start()

        def kill_worker() -> None:
            assert srv.proc is not None
            pids = worker_pids(srv.proc.pid)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
            time.sleep(1.0)

        kinds: list[tuple[str, Callable[[], None]]] = [("server SIGKILL", kill_server),
                                                        ("one worker SIGKILL", kill_worker)]
        if pg is not None:
            kinds.append(("PostgreSQL crash restart", pg.crash_restart))
        faults = []
        t = args.every
        n = 0
        while t < args.duration - args.every / 2:
            name, action = kinds[n % len(kinds)]
            faults.append((t, name, action))
            t += args.every
            n += 1
        print(f"» {len(faults)} faults over {args.duration:.0f} s", file=sys.stderr)
        run = run_faults(server, tokens, work, takers=args.takers, items=args.items, duration=args.duration,
                         faults=faults)
        server.cleanup()
        stored = sqlite_answers(work / "naeq.sqlite3") if args.sqlite else pg_answers(url)
        counts = verify(run, stored)  # raises, listing what was lost
        windows = []
        edges = [0.0] + [f[2] for f in run.faults]
        ends = [f[1] for f in run.faults] + [float("inf")]
        for start, end in zip(edges, ends, strict=True):
            windows.append(acks_between(run, start, end))
        result: dict[str, Any] = {
            "database": "sqlite" if args.sqlite else "postgresql", "takers": args.takers,
            "duration_s": args.duration, "faults": [f[0] for f in run.faults], "acks": counts["acks"],
            "answers_checked": counts["answers"], "lost": 0, "failed_saves_retried": failed_saves(run),
            "acks_between_faults": windows, "loadgen": run.loadgen,
        }
        if min(windows) == 0:
            raise SystemExit(f"a window between faults saw no acknowledgement: {windows}")
    finally:
        if server is not None:
            server.cleanup()
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"bench_fault_{result['database']}.json"
    (out / name).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    kinds_count: dict[str, int] = {}
    for f in result["faults"]:
        kinds_count[f] = kinds_count.get(f, 0) + 1
    print(f"| {result['database']} | {args.takers} | {args.duration:.0f} s | "
          f"{', '.join(f'{v}× {k}' for k, v in kinds_count.items())} | {result['acks']:,} | "
          f"{result['answers_checked']:,} | {result['failed_saves_retried']:,} | 0 |")
    print(f"results in {out / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
