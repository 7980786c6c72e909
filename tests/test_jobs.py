"""Jobs run in-process without REDIS_URL and go to Celery over Redis with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from naeq.core.audit import audit_record
from naeq.core.jobs import enqueue, jobs_in_process
from naeq.core.tasks import audit_verify_task


def test_without_redis_jobs_run_in_process(db: None) -> None:
    audit_record(actor=None, action="t.one", object_type="x", object_id=1)
    assert jobs_in_process()
    done = enqueue(audit_verify_task)
    assert done.in_process
    assert done.result == {"events": 1, "first_bad_id": None, "reason": None}


def _settings_with(env: dict[str, str]) -> dict[str, object]:
    code = ("import json, django; from django.conf import settings; django.setup(); "
            "print(json.dumps({'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'broker': settings.CELERY_BROKER_URL,"
            " 'cache': settings.CACHES['default']['BACKEND']}))")
    full = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    full.update(env, DJANGO_SETTINGS_MODULE="naeq.settings")
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_settings_switch_on_redis_url(tmp_path: object) -> None:
    plain = _settings_with({"NAEQ_DATA_DIR": str(tmp_path)})
    assert plain == {"eager": True, "broker": "memory://",
                     "cache": "django.core.cache.backends.locmem.LocMemCache"}
    redis = _settings_with({"NAEQ_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/5"})
    assert redis == {"eager": False, "broker": "redis://127.0.0.1:6379/5",
                     "cache": "django.core.cache.backends.redis.RedisCache"}


@pytest.mark.slow
def test_a_real_celery_worker_over_redis_runs_the_job(tmp_path: object) -> None:
    """Start a Celery worker against the local Redis and have it run a task sent through the broker."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/7"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:  # pragma: no cover - the CI machine has Redis
        pytest.skip("no Redis on 127.0.0.1:6379")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(REDIS_URL=url, NAEQ_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="naeq.settings")
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=env, check=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "naeq", "worker", "--pool=solo", "--concurrency=1",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", f"naeq-test-{os.getpid()}",
         "--loglevel=WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        code = ("import django; django.setup(); from naeq.core.tasks import audit_verify_task; "
                f"r = audit_verify_task.apply_async(queue='naeq-test-{os.getpid()}'); "
                "print(r.get(timeout=60))")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90,
                             check=True)
        assert "'events': 0" in out.stdout and "'first_bad_id': None" in out.stdout
    finally:
        worker.terminate()
        worker.wait(timeout=30)
