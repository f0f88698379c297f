"""Dunning under real concurrency (PostgreSQL, READ COMMITTED): two credit controllers start
a dunning run at the same moment. Each alone would see no run busy; together both would
start, and both propose the same letters. start_run locks the dunning levels' rows first, so
the second waits for the first to commit, then sees its run and is refused. Committed data
(threads need their own connections), removed afterwards."""
from __future__ import annotations

import threading
import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from core.credit import dunning
from core.credit.models import DunningRun

RACE = Actor.system("dunning race")


def test_two_runs_started_at_once_the_second_waits_and_is_refused(engine):
    outcome: dict[str, str] = {}

    def second():
        with Session(engine) as s:
            try:
                dunning.start_run(s, as_of=clock.today(), actor=RACE)
                s.commit()
                outcome["second"] = "started"
            except dunning.DunningError as err:
                s.rollback()
                outcome["second"] = str(err)

    try:
        with Session(engine) as first:
            run = dunning.start_run(first, as_of=clock.today(), actor=RACE)
            thread = threading.Thread(target=second)
            thread.start()
            time.sleep(0.5)
            assert thread.is_alive(), "the second start must wait for the first's lock"
            first.commit()
            run_id = run.id
        thread.join(10)
        assert outcome["second"].startswith(f"Dunning run {run_id} is not finished")
    finally:
        with Session(engine) as s:
            s.execute(delete(DunningRun).where(DunningRun.id.in_(
                select(DunningRun.id).where(DunningRun.created_by == RACE.label))))
            s.commit()
