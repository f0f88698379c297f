"""Background jobs: inline without Redis; a real Celery worker with it."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.notifications import send_already_registered
from core.tasks import celery_app, context

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_without_redis_tasks_run_inline(smtp_sink):
    assert celery_app.conf.task_always_eager
    send_already_registered.delay("inline@example.com", "Ina Line")
    assert smtp_sink.wait_for("inline@example.com", timeout=0.5)["Subject"] == (
        "You already have a Marketline account")


@pytest.mark.skipif(not redis_reachable(), reason="Redis is not listening on 127.0.0.1:6379")
def test_with_redis_a_real_worker_delivers_the_mail(smtp_sink, settings):
    smtp_url = context().settings.SMTP_URL
    env = {**os.environ, "REDIS_URL": REDIS_URL, "SMTP_URL": smtp_url, "DATABASE_URL": settings.DATABASE_URL}
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen([str(celery), "-A", "core.tasks:celery_app", "worker", "--pool=solo",
                               "--concurrency=1", "--loglevel=WARNING", "--without-gossip",
                               "--without-mingle", "--without-heartbeat"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The sender is a process of its own too, configured from its environment as a web
        # worker would be: with REDIS_URL set, a task is queued instead of run inline.
        sender = subprocess.run(
            [sys.executable, "-c", "from core.tasks import celery_app as c; "
             "assert not c.conf.task_always_eager; "
             "from core.notifications import send_already_registered as t; "
             "t.delay('queued@example.com', 'Queue Dee')"],
            env=env, capture_output=True, text=True, timeout=60)
        assert sender.returncode == 0, sender.stderr
        assert smtp_sink.wait_for("queued@example.com", timeout=30)["Subject"] == (
            "You already have a Marketline account")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
