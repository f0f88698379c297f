"""The demo's dunning: an account in dunning, through the real services.

Two weeks ago a dunning run looked at the overdue invoices (run, reviewed and sent on that
day, core.demo.orders.dated: the charges invoice's date and its journal entry agree): Birch &
Co's invoice (68 days old on 2 % 10 days net 30, so 24 days overdue then) got the first
dunning letter with its 5.00 EUR fee, posted as a charges invoice; Acme's invoice (48 days
old, net 30) was only 4 days overdue then, not yet due a reminder. The console shows the
run, sent, with its charges document.

The collections demo runs after this one: since then Birch promised to pay next week and
Acme disputes its invoice, so a run started today proposes no letter to either and lists
both invoices as skipped, with why."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.agents.models import Agent
from core.agents.services import actor_for
from core.config import Settings
from core.credit import dunning
from core.demo.orders import dated

DAYS_AGO = 14


def load_dunning(session: Session) -> str:
    """Flushes; the caller commits (the demo's e-mails are silenced)."""
    controller = actor_for(session.scalar(
        select(Agent).where(Agent.email == "billing@marketline.example")))  # billing + credit
    settings = Settings(DATABASE_URL="")
    with dated(DAYS_AGO):
        run = dunning.start_run(session, as_of=clock.today(), actor=controller)
        dunning.propose(session, run, settings=settings)
        sent = dunning.send_run(session, run, actor=controller, settings=settings)
    charged = sum(1 for letter in sent if letter.charges_invoice_id)
    return (f"Dunning: a run sent {DAYS_AGO} days ago ({len(sent)} letter"
            f"{'' if len(sent) == 1 else 's'}, {charged} charges invoice"
            f"{'' if charged == 1 else 's'}).")
