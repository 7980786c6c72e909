"""Benchmark: the online testing hot path on PostgreSQL, on the real server stack (`naeq serve`: uvicorn, naeq.asgi).

In ONE run, against a freshly dropped and created database:

0. setup (not timed): migrate; one cycle (the shipped current one), one county, ``--attempts``/40 schools with one
   open formal session each, a 40-item questionnaire (Q101..Q140, published), one student TestTaker and one
   in-progress Attempt per student (bulk inserts, the shapes of tests/delivery/factories.py); an attempt token
   per attempt (``naeq.delivery.tokens``). Then ``naeq serve`` on a free 127.0.0.1 port.
a. max sustained throughput of ``GET /t/api/health`` (a trivial Django view on the same server): closed loop,
   C connections, the best of a few C; the same for ``GET /t/api/ping`` (the hot path handler's bare response);
b. the same for ``POST /t/api/attempts/<id>/answers`` (batches of 2 answers, rising seq: every save writes), and
   the saves per database commit that group commit achieved (``pg_stat_database.xact_commit``);
c. pgbench running the single-save statement (``hotpath.SAVE_SQL``: the attempt/session check ``FOR SHARE``, the
   same ``INSERT … ON CONFLICT … WHERE seq < excluded.seq`` with 2 rows, one save per transaction) with b's best C
   clients; ratios b/a and b/c (and b over the bare ping);
d. p50/p95/p99 latency of saves at 70% of b's maximum, open loop (latency from the moment a save was due);
e. simultaneous test takers at questionnaire pacing (see bench/loadgen.py: an answer every 5–15 s, a save 4–6 s
   after the first unsent answer, ≈ 0.1 saves/s per taker), stepping N = 1k, 2k, 5k, 10k, 15k, 20k, 30k … until
   p99 ≥ 150 ms, errors, or the attempt pool or time budget ends;
f. peak RSS of each web worker (VmHWM), limit 300 MiB.

Traffic goes only to 127.0.0.1. The whole run is bounded (about 9 minutes with the defaults). Results: JSON and
a markdown table (``--out DIR``), to be copied into BENCHMARKS.md. Run it on an idle machine:

    .venv/bin/python bench/bench_delivery.py --pg postgres://postgres@127.0.0.1:5432/naeq_bench_delivery

``seed`` is the internal setup step (run in a child process with DATABASE_URL set).
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOADGEN = ROOT / "bench" / "loadgen.py"
NAEQ = [sys.executable, "-m", "naeq.cli"]
ITEMS = 40
P99_LIMIT_MS = 150.0
RSS_LIMIT_MIB = 300.0
GOALS = {"vs_trivial": 0.60, "vs_pgbench": 0.50, "takers": 10_000}


def item_code(n: int) -> str:
    """Item n (1-based) of the benchmark questionnaire; the same codes as pgbench's script (Q101..Q140)."""
    return f"Q{100 + n}"


# ------------------------------------------------------------------------------------------------ seed (child)


def seed(attempts: int, tokens_path: str) -> None:
    """Create the benchmark world in the database DATABASE_URL names (fresh and migrated by the caller)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from naeq.cycles.services import load_shipped_cycles
    from naeq.delivery.models import (
        Attempt,
        Booklet,
        Instrument,
        InstrumentKind,
        InstrumentStatus,
        Item,
        ItemType,
        Respondent,
        SessionKind,
        SessionStatus,
        TestSession,
        TestTaker,
    )
    from naeq.delivery.tokens import attempt_token
    from naeq.registry.models import Region, RegionLevel, School, SchoolLevel

    per_school = 40
    n_schools = -(-attempts // per_school)
    now = timezone.now()
    with transaction.atomic():
        cycle = next(c for c in load_shipped_cycles() if c.is_current)
        prov = Region.objects.create(code="310000", name="基准省", level=RegionLevel.PROVINCE,
                                     path=Region.path_for("310000", None))
        city = Region.objects.create(code="310100", name="基准市", level=RegionLevel.CITY, parent=prov,
                                     path=Region.path_for("310100", prov.path))
        county = Region.objects.create(code="310101", name="基准县", level=RegionLevel.COUNTY, parent=city,
                                       path=Region.path_for("310101", city.path))
        School.objects.bulk_create(
            School(code=f"31{i:08d}", name=f"基准第{i}学校", county=county, path=county.path,
                   level=SchoolLevel.JUNIOR, urban_rural="121", g8_enrollment=per_school, g8_classes=1)
            for i in range(1, n_schools + 1))
        schools = list(School.objects.filter(county=county).order_by("code"))
        inst = Instrument.objects.create(cycle=cycle, code="bench_questionnaire", name="基准学生问卷",
                                         kind=InstrumentKind.QUESTIONNAIRE, status=InstrumentStatus.PUBLISHED,
                                         published_at=now, time_limit_minutes=40)
        likert = [{"value": str(v), "label": label} for v, label in
                  enumerate(["完全不同意", "不同意", "同意", "完全同意"], start=1)]
        Item.objects.bulk_create(
            Item(instrument=inst, code=item_code(n), seq=n, screen=(n - 1) // 5 + 1, type=ItemType.LIKERT,
                 stem=f"陈述{n}", options=likert, dimension="学习兴趣", indicator_1="学习兴趣")
            for n in range(1, ITEMS + 1))
        Booklet.objects.create(instrument=inst, number=1, blocks=["Q"])
        TestSession.objects.bulk_create(
            TestSession(cycle=cycle, county=county, school=s, path=s.path, level="middle", grade=8,
                        respondent=Respondent.STUDENT, kind=SessionKind.FORMAL, title="学生问卷",
                        instruments=[inst.code], starts_at=now - dt.timedelta(minutes=10),
                        ends_at=now + dt.timedelta(hours=6), code=f"B{i:07d}", key="K7Q2M9",
                        status=SessionStatus.OPEN, opened_at=now)
            for i, s in enumerate(schools, start=1))
        sessions = {ts.school_id: ts for ts in TestSession.objects.filter(cycle=cycle, county=county)}
        takers = TestTaker.objects.bulk_create(
            TestTaker(cycle=cycle, kind=Respondent.STUDENT, code=f"{s.code}{k:03d}"[-16:], county=county,
                      school=s, path=s.path, grade=8, booklets={inst.code: 1})
            for s in schools for k in range(1, per_school + 1))[:attempts]
        Attempt.objects.bulk_create(
            Attempt(session=sessions[t.school_id], test_taker=t, instrument=inst, booklet=1, started_at=now)
            for t in takers)
    ids = list(Attempt.objects.order_by("id").values_list("id", flat=True))
    if ids[-1] - ids[0] + 1 != len(ids):
        raise SystemExit("attempt ids are not contiguous (pgbench partitions them by range)")
    with open(tokens_path, "w") as fh:
        json.dump([[aid, attempt_token(aid)] for aid in ids], fh)
    Path(tokens_path + ".pgbench.sql").write_text(pgbench_script())


#: The two-answer batch as the endpoint sends it to PostgreSQL (one JSON text parameter), put together by string
#: concatenation so that pgbench, too, passes it as a parameter of the prepared statement.
BATCH_TEXT = ("""('[{"item":"Q' || :i1 || '","value":"\\"2\\"","seq":' || :seq || '},"""
              """{"item":"Q' || :i2 || '","value":"\\"3\\"","seq":' || :seq2 || '}]')""")


def pgbench_script() -> str:
    """The pgbench script of the endpoint's save: the hot path's own statement (``naeq.delivery.hotpath.SAVE_SQL``)
    with the same two-answer batch, run by pgbench as a prepared statement (``-M prepared``) as the endpoint runs
    it."""
    from naeq.delivery import hotpath

    template = hotpath.SAVE_SQL
    head = "\\set seq :seq + 2\n\\set seq2 :seq + 1\n\\set aid :amin + :client_id * :per + random(0, :per - 1)\n" \
           "\\set i1 :seq % 40 + 101\n\\set i2 :seq2 % 40 + 101\n"
    grace = int(hotpath.GRACE.total_seconds())
    subs = [f"now() + interval '{grace} seconds'", f"now() - interval '{grace} seconds'", ":aid",
            BATCH_TEXT, "now()", "2"]
    parts = template.split("%s")
    if len(parts) != len(subs) + 1:
        raise SystemExit(f"the hot path's save SQL has {len(parts) - 1} parameters; this script knows {len(subs)}")
    text = parts[0] + "".join(sub + rest for sub, rest in zip(subs, parts[1:], strict=True))
    return head + " ".join(text.split()) + ";\n"


# ------------------------------------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"{name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


def fresh_pg(url: str) -> dict[str, Any]:
    import dj_database_url
    import psycopg

    c = dj_database_url.parse(url)
    if c["HOST"] not in ("127.0.0.1", "localhost"):
        raise SystemExit("the benchmark database must be on 127.0.0.1")
    with psycopg.connect(host=c["HOST"], port=c["PORT"] or 5432, user=c["USER"], dbname="postgres",
                         password=c.get("PASSWORD") or None, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{c["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{c["NAME"]}"')
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                    for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers",
                                 "max_connections")}
    return {"conn": c, "settings": settings}


def wait_http(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/t/api/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not answer /t/api/ping within {timeout:.0f} s")


def loadgen(port: int, tokens: str, *args: str, timeout: float = 400) -> dict[str, Any]:
    cmd = [sys.executable, str(LOADGEN), "--url", f"http://127.0.0.1:{port}", "--tokens", tokens, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode:
        raise SystemExit(f"loadgen failed: {out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def worker_rss(master_pid: int) -> list[float]:
    out = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            text = Path(status).read_text()
            cmdline = (Path(status).parent / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", text, re.M)
        hwm = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
        # uvicorn's workers, not its multiprocessing resource tracker
        if ppid and hwm and int(ppid.group(1)) == master_pid and b"spawn_main" in cmdline:
            out.append(round(int(hwm.group(1)) / 1024, 1))
    return out


#: The endpoint runs its save as a server-side prepared statement; pgbench runs the same statement the same way.
PGBENCH_MODE = "prepared"


def xact_commits(conn: dict[str, Any]) -> int:
    """Transactions committed in the benchmark database so far (pg_stat_database)."""
    out = subprocess.run([pg_bin("psql"), "-h", conn["HOST"], "-p", str(conn["PORT"] or 5432), "-U", conn["USER"],
                          "-d", conn["NAME"], "-Atc", "SELECT pg_stat_force_next_flush(); "
                          "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def pgbench(conn: dict[str, Any], clients: int, seconds: int, amin: int, n: int, script: Path) -> dict[str, Any]:
    per = max(1, n // clients)
    cmd = [pg_bin("pgbench"), "-h", conn["HOST"], "-p", str(conn["PORT"] or 5432), "-U", conn["USER"], "-n",
           "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-M", PGBENCH_MODE,
           "-D", f"amin={amin}", "-D", f"per={per}", "-D", f"seq={10**12}", "-f", str(script), "-r", conn["NAME"]]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if out.returncode:
        raise SystemExit(f"pgbench failed: {out.stderr}")
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
    lat = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
    return {"clients": clients, "seconds": seconds, "tps": float(tps.group(1)) if tps else 0.0,
            "latency_avg_ms": float(lat.group(1)) if lat else None}


# ------------------------------------------------------------------------------------------------ the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    t_start = time.monotonic()
    pg = fresh_pg(args.pg)
    work = Path(tempfile.mkdtemp(prefix="naeq-bench-delivery-"))
    env = dict(os.environ, DATABASE_URL=args.pg, NAEQ_DATA_DIR=str(work), NAEQ_SECRET_KEY=secrets.token_urlsafe(40),
               NAEQ_ALLOWED_HOSTS="127.0.0.1", DJANGO_SETTINGS_MODULE="naeq.settings")
    env.pop("NAEQ_DEBUG", None)
    tokens = str(work / "tokens.json")
    print(f"» setup: migrate, {args.attempts} attempts", file=sys.stderr)
    subprocess.run([*NAEQ, "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "seed", "--attempts", str(args.attempts),
                    "--tokens", tokens], env=env, check=True, cwd=ROOT)
    ids = [aid for aid, _ in json.loads(Path(tokens).read_text())]
    port = free_port()
    log = open(work / "serve.log", "w")  # noqa: SIM115 (closed in finally)
    server = subprocess.Popen([*NAEQ, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                               "--threads", str(args.threads), "--save-connections", str(args.save_connections)],
                              env=env, cwd=ROOT, stdout=log, stderr=log,
                              start_new_session=True)
    result: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "postgresql": pg["settings"]},
        "server": {"workers": args.workers, "threads": args.threads, "save_connections": args.save_connections,
                   "stack": "uvicorn (httptools, uvloop) + naeq.asgi"},
        "attempts": len(ids), "date": dt.date.today().isoformat(),
    }
    try:
        wait_http(port)
        sec, warm = str(args.seconds), str(min(3.0, args.seconds / 4))

        def closed(target: str, c: int) -> dict[str, Any]:
            r = loadgen(port, tokens, "--mode", "closed", "--target", target, "--conns", str(c),
                        "--duration", sec, "--warmup", warm, "--items", str(ITEMS), "--batch", "2")
            print(f"  {target} C={c}: {r['ok_per_s']}/s p99 {r['latency'].get('p99_ms')} ms "
                  f"statuses {r['statuses']}", file=sys.stderr)
            return r

        print("» a. trivial view, closed loop", file=sys.stderr)
        pings = [closed("ping", c) for c in args.conns]
        print("» a'. trivial Django view, closed loop", file=sys.stderr)
        healths = [closed("health", c) for c in args.conns]
        print("» b. answer saves, closed loop", file=sys.stderr)
        commits0 = xact_commits(pg["conn"])
        saves = [closed("save", c) for c in args.conns]
        time.sleep(11)  # an idle backend publishes its statistics within 10 s
        saves_per_commit = sum(r["statuses"].get("200", 0) for r in saves) / max(
            xact_commits(pg["conn"]) - commits0, 1)
        print(f"  {saves_per_commit:.1f} saves per database commit (group commit)", file=sys.stderr)
        best_ping = max(pings, key=lambda r: r["ok_per_s"])
        best_health = max(healths, key=lambda r: r["ok_per_s"])
        best_save = max(saves, key=lambda r: r["ok_per_s"])
        print(f"» c. pgbench, same transaction, {best_save['conns']} clients", file=sys.stderr)
        pgb = pgbench(pg["conn"], best_save["conns"], int(args.seconds), ids[0], len(ids),
                      Path(tokens + ".pgbench.sql"))
        pgb["script"] = Path(tokens + ".pgbench.sql").read_text()
        print(f"  pgbench: {pgb['tps']:.0f} tps", file=sys.stderr)
        rate = round(0.7 * best_save["ok_per_s"], 1)
        print(f"» d. saves open loop at 70% = {rate}/s", file=sys.stderr)
        at70 = loadgen(port, tokens, "--mode", "open", "--rate", str(rate), "--conns", str(args.pool),
                       "--duration", str(args.seconds + 5), "--warmup", "3", "--items", str(ITEMS), "--batch", "2")
        print(f"  {at70['ok_per_s']}/s latency {at70['latency']}", file=sys.stderr)
        print("» e. simultaneous takers at questionnaire pacing", file=sys.stderr)
        steps = []
        held = 0
        for n in args.takers:
            if n > len(ids):
                print(f"  {n}: more than the {len(ids)} attempts set up; stop", file=sys.stderr)
                break
            if time.monotonic() - t_start > args.budget:
                print("  time budget spent; stop", file=sys.stderr)
                break
            r = loadgen(port, tokens, "--mode", "takers", "--takers", str(n), "--conns", str(args.pool),
                        "--duration", str(args.step_seconds), "--warmup", "15", "--items", str(ITEMS),
                        "--seed", str(n))
            errors = sum(r["errors"].values()) + sum(v for k, v in r["statuses"].items() if k != "200")
            p99 = r["latency"].get("p99_ms", float("inf"))
            ok = p99 < P99_LIMIT_MS and errors == 0 and r["measured"] > 0
            steps.append({"takers": n, "saves_per_s": r["ok_per_s"], "latency": r["latency"], "errors": errors,
                          "generator_cpu_s": r["generator_cpu_s"], "held": ok})
            print(f"  {n}: {r['ok_per_s']} saves/s p99 {p99} ms errors {errors} → {'held' if ok else 'BROKE'}",
                  file=sys.stderr)
            if not ok:
                break
            held = n
        rss = worker_rss(server.pid)
        result.update({
            "ping": best_ping, "health": best_health, "save": best_save, "ping_all": pings,
            "health_all": healths, "save_all": saves, "saves_per_commit": round(saves_per_commit, 2), "pgbench": pgb,
            "at_70": at70, "takers_steps": steps, "takers_held": held, "worker_rss_mib": rss,
            "ratios": {"save_vs_trivial": round(best_save["ok_per_s"] / max(best_health["ok_per_s"], 1e-9), 3),
                       "save_vs_bare_ping": round(best_save["ok_per_s"] / max(best_ping["ok_per_s"], 1e-9), 3),
                       "save_vs_pgbench": round(best_save["ok_per_s"] / max(pgb["tps"], 1e-9), 3)},
            "wall_s": round(time.monotonic() - t_start, 1),
        })
        result["goals"] = {
            "save_vs_trivial >= 0.60": result["ratios"]["save_vs_trivial"] >= GOALS["vs_trivial"],
            "save_vs_pgbench >= 0.50": result["ratios"]["save_vs_pgbench"] >= GOALS["vs_pgbench"],
            "takers >= 10000 at p99 < 150 ms": held >= GOALS["takers"],
            "worker RSS <= 300 MiB": bool(rss) and max(rss) <= RSS_LIMIT_MIB,
        }
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return result


def markdown(r: dict[str, Any]) -> str:
    lat = r["at_70"]["latency"]
    rows = [
        "| measure | value |", "|---|---:|",
        f"| trivial Django view `GET /t/api/health`, max sustained (C={r['health']['conns']}) | "
        f"{r['health']['ok_per_s']:,.0f} req/s |",
        f"| bare ASGI response `GET /t/api/ping` (no framework, no database), max sustained "
        f"(C={r['ping']['conns']}) | {r['ping']['ok_per_s']:,.0f} req/s |",
        f"| answer save, max sustained (C={r['save']['conns']}, 2 answers per batch) | "
        f"{r['save']['ok_per_s']:,.0f} saves/s |",
        f"| saves per database commit (group commit, all save runs) | {r['saves_per_commit']:.1f} |",
        f"| pgbench, same transaction ({r['pgbench']['clients']} clients) | {r['pgbench']['tps']:,.0f} tps |",
        f"| save / trivial Django view (goal ≥ 0.60) | {r['ratios']['save_vs_trivial']:.2f} |",
        f"| save / bare ASGI response | {r['ratios']['save_vs_bare_ping']:.2f} |",
        f"| save / pgbench (goal ≥ 0.50) | {r['ratios']['save_vs_pgbench']:.2f} |",
        f"| saves at 70% ({r['at_70']['rate']:,.0f}/s, open loop): p50 / p95 / p99 | "
        f"{lat.get('p50_ms')} / {lat.get('p95_ms')} / {lat.get('p99_ms')} ms |",
        f"| simultaneous takers held, p99 < 150 ms (goal ≥ 10,000) | {r['takers_held']:,} |",
        f"| peak RSS per web worker (limit 300 MiB) | {', '.join(str(x) for x in r['worker_rss_mib'])} MiB |",
        "", "| takers | saves/s | p50 ms | p95 ms | p99 ms | errors | held |", "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in r["takers_steps"]:
        la = s["latency"]
        rows.append(f"| {s['takers']:,} | {s['saves_per_s']:,.0f} | {la.get('p50_ms')} | {la.get('p95_ms')} | "
                    f"{la.get('p99_ms')} | {s['errors']} | {'yes' if s['held'] else 'no'} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd")
    sp = sub.add_parser("seed")
    sp.add_argument("--attempts", type=int, required=True)
    sp.add_argument("--tokens", required=True)
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/naeq_bench_delivery")
    ap.add_argument("--attempts", type=int, default=40_000, help="attempts set up (bounds the takers steps)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads", type=int, default=8, help="`naeq serve --threads` (Django's pages)")
    ap.add_argument("--save-connections", type=int, default=2, help="`naeq serve --save-connections`")
    ap.add_argument("--conns", type=lambda s: [int(x) for x in s.split(",")], default=[8, 16, 32],
                    help="closed-loop connection counts tried for a and b (comma-separated)")
    ap.add_argument("--pool", type=int, default=64, help="keep-alive connections of the open loop and the takers")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each closed-loop run and of pgbench")
    ap.add_argument("--takers", type=lambda s: [int(x) for x in s.split(",")],
                    default=[1000, 2000, 5000, 10000, 15000, 20000, 30000, 40000])
    ap.add_argument("--step-seconds", type=float, default=35.0, help="length of each takers step (15 s warm-up)")
    ap.add_argument("--budget", type=float, default=540.0, help="no new takers step after this many seconds")
    ap.add_argument("--out", default=str(ROOT / "var" / "bench"), help="directory for result JSON and table")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (server log, tokens)")
    args = ap.parse_args()
    if args.cmd == "seed":
        seed(args.attempts, args.tokens)
        return
    result = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_delivery.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    table = markdown(result)
    (out / "bench_delivery.md").write_text(table)
    print(table)
    print(f"results in {out}/bench_delivery.json and .md", file=sys.stderr)


if __name__ == "__main__":
    main()
