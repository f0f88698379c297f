"""Demo quotes, so a newcomer sees quotes at work: one requested by Acme's buyer from her
cart and waiting in the console's worklist, one an agent priced and sent to Acme (a volume
deal and a note, expiring in three weeks), one that expired unanswered, and one Bea
accepted, whose order (on account, at the quoted prices) is in her account.

Everything goes through the quote services and the acceptance workflow, as real work does;
only dates are moved into the past (the expired quote's, before the expiry task runs).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agents.models import Agent
from core.catalog.models import Variant
from core.config import Settings
from core.customers.models import CustomerUser
from core.customers.services import actor_for
from core.db import utcnow
from core.orders import discounts
from core.orders.services import PriceOverride
from core.quotes import services as quotes
from core.quotes.models import Quote
from core.workflows import quote_acceptance

BUYER = "buyer@acme.example"
AGENT = "agent@marketline.example"


class DemoQuoteError(RuntimeError):
    """A demo quote did not reach the state it shows: the seed stops rather than mislead."""


def _ids(session: Session, *skus: str) -> dict[str, int]:
    return dict(session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(skus))).all())


def _backdate(quote: Quote, days: int) -> None:
    quote.created_at = utcnow() - dt.timedelta(days=days)
    if quote.sent_at is not None:
        quote.sent_at = quote.created_at + dt.timedelta(hours=3)


def load_quotes(session: Session) -> str:
    settings = Settings(DATABASE_URL="")
    limits = discounts.DiscountLimits.from_settings(settings)
    days = settings.QUOTE_VALID_DAYS
    bea = session.scalar(select(CustomerUser).where(CustomerUser.email == BUYER))
    agent = session.scalar(select(Agent).where(Agent.email == AGENT))
    acme = bea.customer
    sku = _ids(session, "PAP-A4-80", "STN-76-YEL", "PEN-G2-BLU", "TON-TN3430", "NTB-A5-RUL-BLK")

    def ask(lines, comment, ago):
        quote = quotes.request_quote(session, lines=[(sku[s], q) for s, q in lines],
                                     customer=acme, user=bea, comment=comment,
                                     actor=actor_for(bea), valid_days=days)
        _backdate(quote, ago)
        return quote

    def send(quote, prices, note, expires_on):
        for code, (reason, value) in prices.items():
            line = next(l for l in quote.lines if l.sku == code)
            quotes.price_line(session, quote, line.id, PriceOverride(reason, **{value[0]: value[1]}),
                              agent=agent)
        quotes.set_terms(session, quote, expires_on=expires_on, note=note, agent=agent,
                         default_days=days)
        quotes.send_quote(session, quote, agent=agent, limits=limits, default_days=days)

    # 1. Requested from the cart, waiting for an agent.
    waiting = ask([("PAP-A4-80", 100), ("STN-76-YEL", 40)],
                  "We order about 100 reams a month for our three offices. "
                  "Can you do a better price on a yearly volume?", 1)

    # 2. Priced and sent to Acme: a volume deal within the agent's limits, and a note.
    offer = ask([("TON-TN3430", 6), ("PAP-A4-80", 20)],
                "Toner for the new printers, please quote 6 and paper to go with it.", 3)
    send(offer, {"TON-TN3430": ("volume_deal", ("percent", Decimal(8)))},
         "Toner at our volume price for orders of six or more.",
         quotes.today() + dt.timedelta(days=21))
    _backdate(offer, 2)

    # 3. Sent weeks ago and never answered: expired by the periodic task.
    lapsed = ask([("PEN-G2-BLU", 50)], "Pens for our trade fair stand.", 40)
    send(lapsed, {"PEN-G2-BLU": ("volume_deal", ("percent", Decimal(5)))}, "",
         quotes.today() + dt.timedelta(days=1))
    _backdate(lapsed, 40)
    lapsed.expires_on = quotes.today() - dt.timedelta(days=10)
    session.flush()
    quotes.expire_due_quotes(session)

    # 4. Accepted by Bea: an order on account at the quoted prices.
    taken = ask([("NTB-A5-RUL-BLK", 10), ("STN-76-YEL", 5)], "Notebooks for the new starters.", 6)
    send(taken, {"NTB-A5-RUL-BLK": ("price_match", ("percent", Decimal(6)))}, "",
         quotes.today() + dt.timedelta(days=20))
    _backdate(taken, 6)
    done = quote_acceptance.accept_quote(session, taken, user=bea, actor=actor_for(bea),
                                         po_number="PO-QT-DEMO")
    session.flush()
    states = (waiting.status, offer.status, lapsed.status, taken.status)
    if states != ("draft", "sent", "expired", "accepted"):
        raise DemoQuoteError(f"demo quotes ended as {states}")
    return (f"Quotes: {waiting.number} requested by Acme's buyer, {offer.number} sent, "
            f"{lapsed.number} expired, {taken.number} accepted as order {done.order.number}.")
