"""A buyer accepts a quote: an order at the quoted prices, paid on account or by card.

Spans packages (quotes, orders, customers, credit), so it lives here. The order is placed
through core.orders.services.place_order like any other: in the quote's channel for its
customer, every line overridden to its quoted unit price with the reason "quoted" (the
same pricing engine, tax and rounding as for the quote, and, as for the quote, no
promotion: the goods cost what was quoted), stock checked and reserved. It ships to the
address the buyer picks from the customer's book (the default shipping address first) by
the channel's first shipping method, charged as for any order; tax follows that address.

Payment: a customer allowed to buy on account has the order confirmed at once on its terms,
then credit-checked (core.credit.checks.check_order, which may put it on a credit hold);
any other waits for a card, and the shop sends the buyer to the order's pay page. An order
above the accepting buyer's spending limits waits for a company approver (an "approval"
hold, reason spending_limit: core.workflows.approvals), as their other orders do.

Idempotent: the placement key is the quote's, and an accepted quote answers its order.
A quote past its date is moved to expired and refused (QuoteExpired: the caller commits
the move, then shows the refusal).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.credit import checks as credit
from core.credit.exposure import OVERDUE_DAYS
from core.customers.addresses import validate_address
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.errors import NotFound
from core.orders import services as orders
from core.orders import shipping
from core.orders.models import Order
from core.quotes import services as quotes
from core.quotes.models import Quote
from core.quotes.states import QuoteStatus
from core.workflows import approvals

QuoteError = quotes.QuoteError
QuoteExpired = quotes.QuoteExpired
PO_LENGTH = 60


@dataclass(frozen=True)
class Acceptance:
    order: Order
    on_account: bool

    @property
    def awaits_card(self) -> bool:
        return orders.awaits_card_payment(self.order)

    @property
    def awaits_approval(self) -> bool:
        return any(h.kind == "approval" and h.reason_code == "spending_limit"
                   for h in self.order.active_holds)


def ship_to_choices(session: Session, customer_id: int) -> list[CustomerAddress]:
    """The customer's address book, the default shipping address first."""
    return list(session.scalars(select(CustomerAddress)
                                .where(CustomerAddress.customer_id == customer_id)
                                .order_by(CustomerAddress.default_shipping.desc(),
                                          CustomerAddress.id)))


def _addresses(session: Session, customer: Customer, address_id: int | None) -> tuple[dict, dict]:
    book = ship_to_choices(session, customer.id)
    if not book:
        raise QuoteError("Your account has no delivery address yet: add one, then accept "
                         "the quote.", field="address_id")
    chosen = book[0] if address_id is None else next((a for a in book if a.id == address_id), None)
    if chosen is None:
        raise QuoteError("Choose one of your delivery addresses.", field="address_id")
    ship = validate_address(chosen.as_dict())
    billing = next((a for a in book if a.default_billing), None)
    return ship, billing.as_dict() if billing else dict(ship)


def _key(quote: Quote) -> str:
    """One order per acceptance: the first, then one after each cancelled order."""
    return f"quote-{quote.id}" if quote.order_id is None else \
        f"quote-{quote.id}-after-{quote.order_id}"


def accept_quote(session: Session, quote: Quote, *, user: CustomerUser, actor: audit.Actor,
                 address_id: int | None = None, po_number: str = "",
                 overdue_days: int = OVERDUE_DAYS) -> Acceptance:
    """Accept the quote for `user` (who must see it: core.customers.roles) and place its
    order. Flushes; the caller commits (and on QuoteExpired commits the expiry)."""
    if not quotes.visible_to(user, quote):
        raise NotFound("We could not find that quote.")
    session.refresh(quote, with_for_update=True)  # one acceptance at a time
    if quote.status == QuoteStatus.ACCEPTED and quote.order_id is not None:
        order = orders.get_order(session, quote.order_id)
        if order.status != "cancelled":  # accepted already (a double click): that order
            return Acceptance(order, order.payment_method == "on_account")
    quotes.check_acceptable(session, quote, actor=actor)
    if len(po_number) > PO_LENGTH:
        raise QuoteError(f"Keep the PO number under {PO_LENGTH} characters.", field="po_number")
    customer = session.get(Customer, quote.customer_id)
    ship, billing = _addresses(session, customer, address_id)
    channel, ctx = quotes.context_for(session, quote, customer)
    ctx = replace(ctx, country=ship["country"], region=ship.get("region", ""))  # as checkout
    methods = shipping.methods_for(session, country=ship["country"], channel_code=channel.code)
    if not methods:
        raise QuoteError("We do not deliver to that address's country from this shop.",
                         field="address_id")
    on_account = customer.on_account_allowed
    try:
        order = orders.place_order(
            session, checkout=orders.Checkout(
                lines=[(l.variant_id, l.quantity) for l in quote.lines], email=user.email,
                shipping_address=ship, billing_address=billing,
                shipping_method=methods[0].code,
                payment_method="on_account" if on_account else "card",
                po_number=(po_number.strip() or quote.number)[:PO_LENGTH]),
            channel=channel, ctx=ctx, customer_id=customer.id, actor=actor,
            idempotency_key=_key(quote), overrides=quotes.overrides_for_order(quote),
            promotions=False)  # a negotiated price: what was quoted, no promotion on top
    except orders.OrderError as err:
        raise QuoteError(str(err), field=err.field) from None
    if on_account and order.status == "pending_payment":
        orders.confirm_on_account(session, order, actor=actor)
        credit.check_order(session, order, actor=actor, overdue_days=overdue_days)
    approvals.spending_check(session, order, actor=actor)  # as any order of the buyer's
    approvals.announce(session, order, actor=actor)  # on account: now; a card: once paid
    quotes.mark_accepted(session, quote, order_id=order.id, order_number=order.number,
                         user=user, actor=actor)
    session.flush()
    return Acceptance(order, on_account)
