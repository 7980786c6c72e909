"""The fault test (issue 4, Reliability): "Simulated test takers on 127.0.0.1 save answers while the server process
is killed with SIGKILL and restarted, and while PostgreSQL is restarted: afterwards every answer the server
acknowledged is in the database with its latest value. Zero lost, with synchronous commit on."

Everything runs outside the suite's own database: a private PostgreSQL cluster (initdb into a temporary directory,
its own port and socket directory, synchronous_commit and fsync on) or a private SQLite file (WAL), migrated and
seeded by a child process; the real server (`naeq serve`: uvicorn, the hot path and Django) as a process group;
the takers are bench/loadgen.py at a fast pacing, recording every acknowledgement. Each test is bounded (about 30–40 s).
bench/bench_fault.py runs the same machinery scaled up.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "bench" / "loadgen.py"

pytestmark = pytest.mark.fault


def _loadgen_module() -> Any:
    spec = importlib.util.spec_from_file_location("naeq_bench_loadgen", LOADGEN)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bindir() -> Path | None:
    found = sorted(d for d in glob.glob("/usr/lib/postgresql/*/bin") if Path(d, "initdb").exists()
                   and Path(d, "pg_ctl").exists())
    return Path(found[-1]) if found else None


# ------------------------------------------------------------------------------------------------ PostgreSQL


@dataclass
class PrivatePg:
    """A throw-away PostgreSQL cluster in ``root``; as root it runs as the ``postgres`` OS user."""

    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args), check=check,
                       capture_output=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(self._as_owner(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                                      "postgres", "-E", "UTF8", "--no-sync"),
                       check=True, capture_output=True, timeout=60)
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c synchronous_commit=on "
                   "-c fsync=on -c full_page_writes=on")
        self._pg_ctl("-o", options, "-l", str(self.root / "postgres.log"), "-w", "-t", "30", "start")

    def crash_restart(self) -> None:
        """Stop the way a crash does (immediate: no checkpoint; recovery replays the WAL), then start."""
        self._pg_ctl("-m", "immediate", "-w", "stop")
        self.start()

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop", check=False)


# ------------------------------------------------------------------------------------------------ seed


SEED = r"""
import datetime as dt, json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from naeq.cycles.services import load_shipped_cycles
from naeq.delivery.models import Attempt, InstrumentKind, ItemType
from naeq.delivery.tokens import attempt_token
from naeq.registry.models import Region, RegionLevel, School, SchoolLevel
from tests.delivery.factories import QUESTIONNAIRE_ITEMS, make_instrument, make_session, make_taker

takers, items, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cycle = next(c for c in load_shipped_cycles() if c.is_current)
prov = Region.objects.create(code="310000", name="甲省", level=RegionLevel.PROVINCE, path="310000/")
city = Region.objects.create(code="310100", name="甲省一市", level=RegionLevel.CITY, parent=prov,
                             path="310000/310100/")
county = Region.objects.create(code="310101", name="甲省一市a县", level=RegionLevel.COUNTY, parent=city,
                               path="310000/310100/310101/")
school = School.objects.create(code="1310101001", name="故障测试学校", county=county, path=county.path,
                               level=SchoolLevel.JUNIOR, urban_rural="121", g8_enrollment=takers, g8_classes=1)
likert = QUESTIONNAIRE_ITEMS[1]
specs = [{**likert, "code": f"Q{100 + n}", "screen": n, "skip": None, "stem": f"陈述{n}"}
         for n in range(1, items + 1)]
inst = make_instrument(cycle, "fault_questionnaire", kind=InstrumentKind.QUESTIONNAIRE, items=specs)
session = make_session(cycle, school, instruments=[inst.code], title="学生问卷", minutes=600)
ids = [Attempt.objects.create(session=session, test_taker=make_taker(cycle, school, f"F{n:05d}",
                                                                     booklets={inst.code: 1}),
                              instrument=inst, booklet=1).pk for n in range(1, takers + 1)]
json.dump([[aid, attempt_token(aid)] for aid in ids], open(out, "w"))
"""


def seed(env: dict[str, str], takers: int, items: int, tokens: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SEED, str(takers), str(items), str(tokens)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]


# ------------------------------------------------------------------------------------------------ server


@dataclass
class Server:
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, timeout: float = 40.0) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "naeq.cli", "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                 "--threads", "4"],
                env=self.env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        self.started.append(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/t/api/ping", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"server did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole server: master and every worker, no chance to finish anything."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        for p in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)


# ------------------------------------------------------------------------------------------------ the run


@dataclass
class FaultRun:
    acks: list[tuple[float, int, str, int]]
    faults: list[tuple[str, float, float]]  # (what, down at, back at)
    loadgen: dict[str, Any]


def run_faults(server: Server, tokens: Path, workdir: Path, *, takers: int, items: int, duration: float,
               faults: list[tuple[float, str, Callable[[], None]]]) -> FaultRun:
    """Run ``takers`` fast takers for ``duration`` s; at each (offset s, name, action) run the fault action
    (which must leave the system up again when it returns)."""
    acks_file = workdir / "acks.jsonl"
    cmd = [sys.executable, str(LOADGEN), "--url", f"http://127.0.0.1:{server.port}", "--tokens", str(tokens),
           "--mode", "takers", "--takers", str(takers), "--conns", str(min(takers, 64)), "--items", str(items),
           "--answer-every", "0.05,0.3", "--save-after", "0.05,0.2", "--revise", "0.2", "--timeout", "3",
           "--max-backoff", "1", "--duration", str(duration), "--record", str(acks_file), "--seed", "7"]
    gen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.monotonic()
    done: list[tuple[str, float, float]] = []
    back = t0
    try:
        for offset, name, action in faults:
            # At the planned offset, but never sooner than 2.5 s after the last fault ended (a slow restart must
            # not leave a window without traffic).
            time.sleep(max(0.0, t0 + offset - time.monotonic(), back + 2.5 - time.monotonic()))
            down = time.time()
            action()
            back = time.monotonic()
            done.append((name, down, time.time()))
        out, err = gen.communicate(timeout=duration + 60)
    finally:
        if gen.poll() is None:
            os.killpg(gen.pid, signal.SIGKILL)
            gen.wait(timeout=10)
    assert gen.returncode == 0, err.decode()[-3000:]
    acks = [tuple(json.loads(line)) for line in acks_file.read_text().splitlines() if line.strip()]
    return FaultRun(acks=acks, faults=done, loadgen=json.loads(out.decode().strip().splitlines()[-1]))


def verify(run: FaultRun, stored: dict[tuple[int, str], tuple[str, int]]) -> dict[str, int]:
    """Every acknowledged (attempt, item, seq) is stored with a seq ≥ it, and the stored value is the one the
    taker sent with the stored seq. Returns counts; raises AssertionError listing what was lost."""
    answer_value = _loadgen_module().answer_value
    highest: dict[tuple[int, str], int] = {}
    for _t, aid, item, seq in run.acks:
        key = (int(aid), str(item))
        highest[key] = max(highest.get(key, -1), int(seq))
    lost = [(k, s) for k, s in highest.items() if k not in stored or stored[k][1] < s]
    wrong = [(k, stored[k]) for k in highest if k in stored
             and json.loads(stored[k][0]) != answer_value(k[0], k[1], stored[k][1])]
    assert not lost, f"{len(lost)} acknowledged answers lost, e.g. {lost[:5]}"
    assert not wrong, f"{len(wrong)} stored values are not the ones sent with their seq, e.g. {wrong[:5]}"
    return {"acks": len(run.acks), "answers": len(highest)}


def acks_between(run: FaultRun, start: float, end: float) -> int:
    return sum(1 for t, *_ in run.acks if start <= t < end)


def failed_saves(run: FaultRun) -> int:
    """Saves that got no acknowledgement (connection refused or reset, timeout, 5xx): the faults were felt."""
    return sum(run.loadgen["errors"].values()) + sum(n for status, n in run.loadgen["statuses"].items()
                                                      if status != "200")


def pg_answers(url: str) -> dict[tuple[int, str], tuple[str, int]]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute("SELECT attempt_id, item, value, seq FROM delivery_answer").fetchall()
    return {(int(a), str(i)): (str(v), int(s)) for a, i, v, s in rows}


def sqlite_answers(path: Path) -> dict[tuple[int, str], tuple[str, int]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT attempt_id, item, value, seq FROM delivery_answer").fetchall()
    finally:
        conn.close()
    return {(int(a), str(i)): (str(v), int(s)) for a, i, v, s in rows}


def base_env(workdir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database_url, NAEQ_DATA_DIR=str(workdir / "data"),
               NAEQ_SECRET_KEY="fault-test-secret-key-not-for-production-0123456789",
               NAEQ_ALLOWED_HOSTS="127.0.0.1", NAEQ_CONN_MAX_AGE="60", DJANGO_SETTINGS_MODULE="naeq.settings",
               PYTHONPATH=str(ROOT))
    env.pop("NAEQ_DEBUG", None)
    return env


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="naeq-fault-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_pg(workdir: Path) -> Iterator[PrivatePg]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin) are not installed")
    root = workdir / "pg"
    root.mkdir()
    pg = PrivatePg(bindir=bindir, root=root)
    try:
        pg.init()
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def server_factory(workdir: Path) -> Iterator[Callable[[dict[str, str]], Server]]:
    servers: list[Server] = []

    def make(env: dict[str, str]) -> Server:
        server = Server(env=env, port=free_port(), log=workdir / "serve.log")
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.cleanup()


# ------------------------------------------------------------------------------------------------ tests

TAKERS, ITEMS = 30, 20


def test_no_acknowledged_answer_lost_on_postgresql(private_pg: PrivatePg, workdir: Path,
                                                   server_factory: Callable[[dict[str, str]], Server]) -> None:
    env = base_env(workdir, private_pg.url)
    tokens = workdir / "tokens.json"
    seed(env, TAKERS, ITEMS, tokens)
    server = server_factory(env)
    server.start()

    def kill_server() -> None:
        server.kill()
        time.sleep(0.5)  # takers keep answering and retrying against a dead port
        server.start()

    run = run_faults(server, tokens, workdir, takers=TAKERS, items=ITEMS, duration=20,
                     faults=[(5, "server SIGKILL", kill_server), (11, "PostgreSQL crash restart",
                                                                  private_pg.crash_restart)])
    counts = verify(run, pg_answers(private_pg.url))
    (_, kill_at, server_back), (_, pg_down, pg_back) = run.faults
    # Not vacuous: acknowledgements before the kill, between the two faults and after PostgreSQL came back.
    assert acks_between(run, 0, kill_at) > 0
    assert acks_between(run, server_back, pg_down) > 0
    assert acks_between(run, pg_back, float("inf")) > 0
    assert counts["answers"] >= TAKERS
    assert failed_saves(run) > 0


def test_no_acknowledged_answer_lost_on_sqlite(workdir: Path,
                                               server_factory: Callable[[dict[str, str]], Server]) -> None:
    db = workdir / "naeq.sqlite3"
    env = base_env(workdir, f"sqlite:///{db}")
    tokens = workdir / "tokens.json"
    seed(env, TAKERS, ITEMS, tokens)
    server = server_factory(env)
    server.start()

    def kill_server() -> None:
        server.kill()
        time.sleep(0.5)
        server.start()

    # 34 s: on a loaded machine each restart can take ten seconds, which pushes the second fault later (never
    # sooner than 2.5 s after the first is back), and takers must still have time to be acknowledged after it
    # (the last assertion below).
    run = run_faults(server, tokens, workdir, takers=TAKERS, items=ITEMS, duration=34,
                     faults=[(4, "server SIGKILL", kill_server), (9, "server SIGKILL again", kill_server)])
    server.cleanup()
    counts = verify(run, sqlite_answers(db))
    (_, kill1, back1), (_, kill2, back2) = run.faults
    assert acks_between(run, 0, kill1) > 0
    assert acks_between(run, back1, kill2) > 0
    assert acks_between(run, back2, float("inf")) > 0
    assert counts["answers"] >= TAKERS
    assert failed_saves(run) > 0


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://localhost:8000", "https://127.0.0.1:8443",
                                 "http://127.0.0.2:8000"])
def test_load_generator_refuses_every_host_but_127_0_0_1(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Load and fault traffic go only to 127.0.0.1: the generator refuses before sending anything."""
    assert _loadgen_module().main(["--url", url, "--mode", "closed", "--target", "ping", "--duration", "1"]) == 2
    assert "refusing" in capsys.readouterr().err
