"""The dunning run as a background job: the console starts a run (core.credit.dunning.
start_run, committed), then `queue_proposal` hands it to a Celery task that looks at the
accounts in its own session and commits its progress every few accounts, so the run page,
polling, shows "Looked at 12 of 40 accounts". Without Redis the task runs inline: the run
is proposed before the request that started it answers."""
from __future__ import annotations

import logging

from core import tasks
from core.credit import dunning
from core.credit.states import RunStatus
from core.tasks import celery_app

log = logging.getLogger("marketline.dunning")


@celery_app.task(name="marketline.propose_dunning_run")
def propose_dunning_run(run_id: int) -> str:
    """Propose the letters of a queued run; a failure leaves the run failed, with why."""
    context = tasks.context()
    with context.session() as session:
        # Locked: a redelivered task waits for the first to commit, then sees it under way.
        run = dunning.get_run(session, run_id, lock=True)
        if run.status != RunStatus.QUEUED:
            return str(run.status)  # a redelivered task: done or under way
        try:
            dunning.propose(session, run, settings=context.settings,
                            progress=lambda _run: session.commit())
            session.commit()
        except Exception as err:  # noqa: BLE001 - recorded on the run, then raised
            session.rollback()
            log.exception("dunning run %s failed", run_id)
            dunning.fail_run(session, dunning.get_run(session, run_id),
                             f"{type(err).__name__}: {err}")
            session.commit()
            raise
        return str(run.status)


def queue_proposal(run_id: int) -> bool:
    """Propose the run's letters in the background (inline without Redis). After commit;
    never raises: False when it could not be queued or failed inline (the run says why)."""
    try:
        propose_dunning_run.delay(run_id)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not propose dunning run %s", run_id)
        return False
    return True
