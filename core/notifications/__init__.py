"""Every e-mail Marketline sends to customers: domain events become mails after the commit.

A service records what happened (core.events) in its transaction. Once the transaction
commits, core.events hands the event to a handler here, which queues a Celery task (run
inline without Redis). The task obtains its settings and sessions (core.tasks.context:
the composition edge), reads what it needs in its own session or takes it from the
event (computed in the transaction), renders the e-mail from the templates beside this
module (HTML and text, one Jinja environment), and sends it with no transaction open.

The mails, by event:

* OrderConfirmed -> the order confirmation (once; `confirmation_emailed_at`);
* ConfirmationResendAsked -> the confirmation again, asked for by an agent;
* ShipmentSent -> the shipment mail, then the invoice with its PDF (once; `emailed_at`);
* InvoiceEmailRequested -> an invoice or credit note issued in the back office (a credit
  note, a cancellation, an approved request, a free-text invoice), or sent again;
* InvoiceCardPaymentFailed -> a link to pay the invoice by card;
* OrderCardNeeded -> a link to confirm a card for the order (renewal refused);
* PayLinkRequested -> a phone order's link to pay by card;
* PasswordResetAsked -> a reset link, if the address has an account (the task looks it up
  and makes the token, so the token never rests in the broker and the request that asked
  looks nothing up);
* EmailConfirmationRequested, RegistrationRepeated -> the shop account's mails;
* QuoteSent -> the quote, its PDF attached, to the buyer it is for (else the customer);
* ApprovalRequested -> each active approver and admin of the company but the buyer: an
  order waits for approval, with a link to the shop's Approvals page;
* ApprovalDecided -> the buyer: their order was approved, or rejected (and cancelled), with
  the approver's comment;
* ReturnMoved -> the return's mails (once each): request received (only while it waits for
  a decision: a request approved at once gets the approval alone), approved (the return
  label PDF attached when the goods come back, or "keep them"), rejected (why), received
  (what arrived, once per receipt), refunded (what went back where, the credit notes; an
  exchange's replacement order).
* BuyerInvited -> an invited company buyer's one-time link to choose a password;
  EmailChangeRequested -> the link that confirms a new address (to it) and a notice to the
  old one; EmailChanged -> the old address is told the change went through.
* DeliveryMoved -> an order's backordered lines ship later (an expected arrival moved or
  was cancelled): the lines and their new dates, once per order.
* StatementEmailRequested -> a statement of account, its PDF attached (monthly once per
  customer and period, or on demand).

One mail is not an event: a sold gift card's code is sent at once, in the process that
sold it, and says whether it went (`send_gift_card_code`): only the code's hash is stored,
the code is not to rest in the broker either, and the agent gives it by hand when the
mail failed.

Links in these e-mails come from core.links (the SHOP_URL setting), never from a request's host.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select, update
from sqlalchemy.orm import object_session, selectinload

from core import audit, events, labels, links, mail, tasks
from core.billing import documents
from core.billing import queries as billing_queries
from core.billing.models import Allocation, Invoice, Refund
from core.config import Settings
from core.customers import queries as customers
from core.customers import roles as customer_roles
from core.customers.models import CustomerUser
from core.db import utcnow
from core.fulfilment import queries as fulfilment_queries
from core.fulfilment.models import Shipment
from core.mail import Attachment, build_message
from core.orders.models import Order
from core.payments import links as paylinks
from core.returns import policy as return_policy
from core.returns import settlement as return_settlement
from core.returns import label as return_label
from core.returns.models import ReturnAuthorisation
from core.returns.states import ReturnStatus
from core.tasks import celery_app

log = logging.getLogger("marketline.notifications")
ACTOR = audit.Actor.system("notifications")
BILLING_ACTOR = audit.Actor.system("billing mail")
TEMPLATES = Path(__file__).resolve().parent / "templates"

# The same rules as the web apps' templates (autoescape for HTML only), with the invoice's
# filters (money, date) and its address lines.
environment = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                          autoescape=select_autoescape(["html", "xml"]))
environment.filters.update(money=documents.environment.filters["money"],
                           date=documents.environment.filters["date"],
                           localtime=labels.shop_time, code_label=labels.code_label)
environment.globals.update(address_lines=documents.address_lines)


def render(template: str, **context) -> str:
    return environment.get_template(template).render(**context)


def _message(settings: Settings, *, to: str, subject: str, template: str, html: bool = True,
             attachments=(), **context):
    """The e-mail `template`.txt (and .html) with `context`, from MAIL_FROM to `to`."""
    return build_message(sender=settings.MAIL_FROM, to=to, subject=subject,
                         text=render(f"{template}.txt", **context),
                         html=render(f"{template}.html", **context) if html else None,
                         attachments=attachments)


def _deliver(settings: Settings, message) -> None:
    mail.deliver(message, settings.SMTP_URL)


def _queue(task, *args, what: str) -> None:
    """Queue `task` (inline without Redis). After commit; never raises: a failure is
    logged, and what was committed stays."""
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not e-mail %s", what)


_RETRY = dict(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)


# -- order confirmation ------------------------------------------------------------------------

def order_link(session, settings: Settings, order: Order) -> str | None:
    """Where the buyer sees the order (core.links.order_page_for)."""
    return links.order_page_for(settings, order.number, customer_id=order.customer_id,
                                can_sign_in=customers.can_sign_in(session, order.customer_id))


def order_confirmation_message(session, order: Order, *, settings: Settings):
    link = order_link(session, settings, order)
    # Over the buyer's spending limit: it waits for the company's approver (approvals).
    awaits_approval = any(h.kind == "approval" and h.reason_code == "spending_limit"
                          for h in order.active_holds)
    return _message(settings, to=order.email, subject=f"Your Marketline order {order.number}",
                    template="order_confirmation", order=order, link=link,
                    awaits_approval=awaits_approval)


@celery_app.task(name="marketline.send_order_confirmation", **_RETRY)
def send_order_confirmation(order_id: int, resend: bool = False) -> bool:
    """E-mail the buyer the order's confirmation; once, unless `resend`. True when sent."""
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        order = session.get(Order, order_id, options=[selectinload(Order.lines)])
        if order is None or order.status == "cancelled":
            return False
        if order.confirmation_emailed_at is not None and not resend:
            return False  # a redelivered task: the buyer has it already
        message = order_confirmation_message(session, order, settings=settings)
        number, to = order.number, order.email
        session.expunge(order)  # kept as read for the audit below, not reloaded after rollback
        session.rollback()  # no transaction stays open while SMTP talks
        _deliver(settings, message)
        session.execute(update(Order).where(Order.id == order_id)
                        .values(confirmation_emailed_at=utcnow()))
        audit.record(session, "order.confirmation_emailed", actor=ACTOR, channel="email",
                     subject=order, data={"number": number, "to": to})
        session.commit()
        return True
    finally:
        session.close()


def queue_order_confirmation(order_id: int, *, resend: bool = False) -> None:
    """Send the confirmation in the background (inline without Redis). Call after commit;
    never raises: a failure is logged, and what was committed stays."""
    _queue(send_order_confirmation, order_id, resend, what=f"the confirmation of order {order_id}")


# -- shipments ---------------------------------------------------------------------------------

def shipment_message(session, shipment: Shipment, *, settings: Settings, partial: bool):
    """What left, with which carrier and where to follow it."""
    order = shipment.order
    return _message(settings, to=order.email,
                    subject=f"Your Marketline order {order.number} has shipped",
                    template="shipment", order=order,
                    shipment=fulfilment_queries.shipment_info(shipment), partial=partial,
                    link=order_link(session, settings, order))


@celery_app.task(name="marketline.send_shipment_email", **_RETRY)
def send_shipment_email(shipment_id: int, partial: bool = False) -> bool:
    """Tell the customer a shipment left (`partial`: the order waits for more)."""
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        shipment = session.get(Shipment, shipment_id)
        if shipment is None:
            log.warning("shipment %s to e-mail does not exist", shipment_id)
            return False
        message = shipment_message(session, shipment, settings=settings, partial=partial)
        session.rollback()
        _deliver(settings, message)
        return True
    finally:
        session.close()


# -- invoices and credit notes, the PDF attached -----------------------------------------------

def invoice_message(invoice: Invoice, *, seller: documents.Seller, sender: str,
                    link: str | None = None):
    """The e-mail for an invoice or credit note, its PDF attached."""
    view = billing_queries.describe(object_session(invoice), invoice)
    context = {"view": view, "seller": seller, "link": link}
    pdf = Attachment(documents.pdf_filename(invoice),
                     documents.invoice_pdf(invoice, seller=seller), "application/pdf")
    return build_message(sender=sender, to=invoice.email,
                         subject=f"{view.title} {invoice.number} from {seller.name}",
                         text=render("invoice.txt", **context),
                         html=render("invoice.html", **context), attachments=[pdf])


def invoice_link(session, settings: Settings, invoice: Invoice) -> str | None:
    """Where the customer sees the document (core.links.invoice_page_for)."""
    return links.invoice_page_for(settings, invoice.number, customer_id=invoice.customer_id,
                                  can_sign_in=customers.can_sign_in(session, invoice.customer_id),
                                  guest_order=invoice.order_id is not None)


@celery_app.task(name="marketline.send_invoice_email", **_RETRY)
def send_invoice_email(invoice_id: int, link: str | None = None, resend: bool = False) -> bool:
    """Send the document to its e-mail address; once, unless `resend`. True when sent."""
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        invoice = session.get(Invoice, invoice_id, options=[selectinload(Invoice.lines),
                                                            selectinload(Invoice.tax_lines)])
        if invoice is None:
            log.warning("invoice %s to e-mail does not exist", invoice_id)
            return False
        if invoice.emailed_at is not None and not resend:
            return False  # a redelivered task: the customer has it already
        if not invoice.email:
            log.info("%s has no e-mail address; not sent", invoice.number)
            return False
        message = invoice_message(invoice, seller=documents.Seller.from_settings(settings),
                                  sender=settings.MAIL_FROM,
                                  link=link or invoice_link(session, settings, invoice))
        number, to = invoice.number, invoice.email
        session.rollback()  # nothing written: no transaction stays open while SMTP talks
        _deliver(settings, message)
        session.execute(update(Invoice).where(Invoice.id == invoice_id)
                        .values(emailed_at=utcnow()))
        audit.record(session, "invoice.emailed", actor=BILLING_ACTOR, channel="email",
                     subject=invoice, data={"number": number, "to": to})
        session.commit()
        return True
    finally:
        session.close()


def queue_invoice_email(invoice_id: int, *, link: str | None = None,
                        resend: bool = False) -> None:
    """E-mail an invoice or credit note in the background (inline without Redis).

    Call after commit. Never raises: a failure is logged, and what was committed stays.
    """
    _queue(send_invoice_email, invoice_id, link, resend, what=f"invoice {invoice_id}")


# -- links to pay by card ----------------------------------------------------------------------

def invoice_pay_link_message(settings: Settings, *, invoice_id: int, number: str, email: str,
                             reason: str):
    """Ask the customer to pay invoice `number` by card (/pay/invoice/<token>)."""
    return _message(settings, to=email, subject=f"Please pay invoice {number} by card",
                    template="invoice_pay_link", number=number, reason=reason.rstrip("."),
                    link=paylinks.invoice_pay_link(settings, invoice_id))


@celery_app.task(name="marketline.send_invoice_pay_link", **_RETRY)
def send_invoice_pay_link(invoice_id: int, number: str, email: str, reason: str) -> None:
    settings = tasks.context().settings
    _deliver(settings, invoice_pay_link_message(settings, invoice_id=invoice_id, number=number,
                                                email=email, reason=reason))


def order_card_needed_message(settings: Settings, *, order_id: int, number: str, email: str,
                              reason: str):
    """Ask the customer for a card again: the authorisation of order `number` lapses."""
    return _message(settings, to=email, subject=f"Please confirm your card for order {number}",
                    template="order_card_needed", number=number, reason=reason.rstrip("."),
                    link=paylinks.order_pay_link(settings, order_id))


@celery_app.task(name="marketline.send_order_card_needed", **_RETRY)
def send_order_card_needed(order_id: int, number: str, email: str, reason: str) -> None:
    settings = tasks.context().settings
    _deliver(settings, order_card_needed_message(settings, order_id=order_id, number=number,
                                                 email=email, reason=reason))


def order_pay_link_message(settings: Settings, happened: events.PayLinkRequested):
    """A phone order's link to pay by card (/pay/<token>, valid 7 days); text only."""
    return _message(settings, to=happened.email,
                    subject=f"Pay for your Marketline order {happened.number}",
                    template="order_pay_link", html=False, number=happened.number,
                    total=happened.total, prepaid=happened.prepaid, left=happened.left,
                    link=paylinks.order_pay_link(settings, happened.order_id))


@celery_app.task(name="marketline.send_order_pay_link", **_RETRY)
def send_order_pay_link(order_id: int, number: str, email: str, total: str, prepaid: str = "",
                        left: str = "") -> None:
    settings = tasks.context().settings
    _deliver(settings, order_pay_link_message(settings, events.PayLinkRequested(
        order_id, number, email, total, prepaid, left)))


# -- shop accounts -----------------------------------------------------------------------------

@celery_app.task(name="marketline.send_email_confirmation", **_RETRY)
def send_email_confirmation(email: str, full_name: str, token: str) -> None:
    """The link that confirms a new account's address (core.links.email_confirmation)."""
    settings = tasks.context().settings
    _deliver(settings, _message(settings, to=email,
                                subject="Confirm your e-mail address for Marketline",
                                template="email_confirmation", user={"full_name": full_name},
                                link=links.email_confirmation(settings, token)))


@celery_app.task(name="marketline.send_already_registered", **_RETRY)
def send_already_registered(email: str, full_name: str) -> None:
    """Someone registered this address again: sign in, or choose a new password."""
    settings = tasks.context().settings
    _deliver(settings, _message(settings, to=email,
                                subject="You already have a Marketline account",
                                template="already_registered", user={"full_name": full_name},
                                sign_in_link=links.sign_in(settings),
                                forgot_link=links.forgot_password(settings)))


# -- password resets: the token is made in the task, so it never rests in the broker --------

@celery_app.task(name="marketline.send_password_reset", **_RETRY)
def send_password_reset(email: str) -> bool:
    """Make a reset link for the e-mail's account, if there is one, and mail it. The
    request that asked only queued the address: whether an account exists, the answer
    and its time are the same, and the token exists only here and in the e-mail."""
    from core.customers import services as accounts
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        found = accounts.request_password_reset(session, email)
        session.commit()
        if found is None:
            return False
        user, token = found
        message = _message(settings, to=user.email, subject="Reset your Marketline password",
                           template="password_reset", user=user,
                           link=links.password_reset(settings, token))
        session.rollback()
        _deliver(settings, message)
        return True
    finally:
        session.close()


def queue_password_reset(email: str) -> None:
    """Ask for a reset link for `email` in the background (inline without Redis); never
    raises."""
    _queue(send_password_reset, email, what="a password reset")


# -- a gift card's code: sent at once, in this process ------------------------------------------

def send_gift_card_code(to: str, *, code: str, amount: str,
                        expires_on: dt.date | None) -> bool:
    """E-mail a gift card's code (of `amount`, formatted) to `to`, with where to check the
    balance. After commit. Sent here and now, never through the task queue: only the
    code's hash is stored, and the code is not to rest in the broker (Redis) either. Like
    a task run inline, it takes the settings of core.tasks.context(). False when it could
    not be sent (logged without the code, never raised): the agent gives it by hand."""
    settings = tasks.context().settings
    try:
        _deliver(settings, _message(settings, to=to,
                                    subject=f"Your Marketline gift card of {amount}",
                                    template="gift_card", card={"expires_on": expires_on},
                                    code=code, amount=amount,
                                    link=links.gift_card_balance(settings)))
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not e-mail a gift card's code to %s", to)
        return False
    return True


# -- returns -----------------------------------------------------------------------------------

RETURN_SUBJECTS = {
    "requested": "We have your return request {number}",
    "approved": "Your return {number} is approved",
    "rejected": "Your return {number} could not be approved",
    "received": "Your return {number} has arrived",
    "refunded": "Your return {number} is refunded",
}
# Where the money of a refund goes, in the customer's words (core.returns.policy.REFUND_METHODS):
# what they asked for, and what happens.
REFUND_WAYS = {"card": "to the card you paid with",
               "gift_card": "onto the gift card you paid with",
               "store_credit": "as store credit for your next orders",
               "invoices": "set against your open invoices"}
MONEY_GOES = {"card": "your money goes back to the card you paid with",
              "gift_card": "your money goes back onto the gift card you paid with",
              "store_credit": "your money is kept as store credit for your next orders",
              "invoices": "your money is set against your open invoices"}
REFUNDED_TO = {"card": "Refunded to your card", "gift_card": "Back onto your gift card",
               "bank_transfer": "Paid to your bank account"}


@dataclass(frozen=True)
class ReturnMailLine:
    quantity: int
    name: str
    sku: str
    reason: str
    comment: str
    received: int

    @property
    def expected(self) -> int:
        return self.quantity - self.received


@dataclass
class ReturnMail:
    """What a return's e-mails say: the return, its order, its lines with their reasons,
    where the customer follows it, and, once settled, what went back where."""

    rma: ReturnAuthorisation
    order_number: str
    lines: list[ReturnMailLine]
    link: str | None
    return_address: list[str]
    refund_way: str
    money_goes: str
    credit_notes: list[str] = field(default_factory=list)
    credited: Decimal = Decimal(0)
    paid_out: list[tuple[str, Decimal]] = field(default_factory=list)
    replacement: str = ""

    def money(self, value: Decimal) -> str:
        return self.rma.money(value).format()

    @property
    def exchange(self) -> bool:
        return self.rma.resolution == "exchange"

    @property
    def complete(self) -> bool:
        return all(l.expected == 0 for l in self.lines)

    @property
    def card_refunded(self) -> bool:
        return any(label == REFUNDED_TO["card"] for label, _ in self.paid_out)


def return_link(session, settings: Settings, rma: ReturnAuthorisation) -> str | None:
    """Where the buyer follows the return (core.links.return_page_for)."""
    return links.return_page_for(settings, rma.number, customer_id=rma.customer_id,
                                 can_sign_in=customers.can_sign_in(session, rma.customer_id))


def _money_back(session, rma: ReturnAuthorisation, mail: ReturnMail) -> None:
    """The return's credit notes and where their money went: refunds by way, invoices they
    settled, and what stays open (store credit, or kept for the replacement). Three queries."""
    notes = return_settlement.credit_notes(session, rma)
    ids = [n.id for n in notes]
    mail.credit_notes = [n.number for n in notes]
    mail.credited = sum((n.gross_total for n in notes), Decimal(0))
    if not ids:
        return
    for method, amount in session.execute(
            select(Refund.method, func.sum(Refund.amount))
            .where(Refund.credit_note_id.in_(ids), Refund.status == "succeeded")
            .group_by(Refund.method).order_by(Refund.method)):
        mail.paid_out.append((REFUNDED_TO.get(method, "Refunded"), Decimal(amount)))
    for number, order_id, amount in session.execute(
            select(Invoice.number, Invoice.order_id, func.sum(Allocation.amount))
            .join(Invoice, Invoice.id == Allocation.invoice_id)
            .where(Allocation.credit_note_id.in_(ids))
            .group_by(Invoice.number, Invoice.order_id).order_by(Invoice.number)):
        paid = ("Pays the replacement order's invoice" if order_id == rma.replacement_order_id
                and order_id is not None else "Set against invoice")
        mail.paid_out.append((f"{paid} {number}", Decimal(amount)))
    left = sum((n.amount_open for n in notes), Decimal(0))
    if left > 0:
        mail.paid_out.append(("Kept for your replacement order" if mail.exchange
                              else "Kept as credit for your next invoices"
                              if rma.refund_method == "invoices"
                              else "Kept as store credit for your next orders", left))


def return_mail(session, rma: ReturnAuthorisation, *, settings: Settings) -> ReturnMail:
    """The facts every e-mail about the return shares (see ReturnMail)."""
    order = session.get(Order, rma.order_id)
    replacement = (session.get(Order, rma.replacement_order_id)
                   if rma.replacement_order_id is not None else None)
    reasons = return_policy.describe_reasons()
    mail = ReturnMail(
        rma, order_number=order.number if order is not None else "",
        lines=[ReturnMailLine(l.quantity, l.name, l.sku, reasons.get(l.reason, l.reason),
                              l.comment, l.quantity_received) for l in rma.lines],
        link=return_link(session, settings, rma),
        return_address=[part.strip() for part in settings.RETURN_ADDRESS.split(";")
                        if part.strip()],
        refund_way=REFUND_WAYS.get(rma.refund_method, REFUND_WAYS["store_credit"]),
        money_goes=MONEY_GOES.get(rma.refund_method, MONEY_GOES["store_credit"]),
        replacement=replacement.number if replacement is not None else "")
    if rma.status in (ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED, ReturnStatus.CLOSED,
                      ReturnStatus.RECEIVED, ReturnStatus.PARTLY_RECEIVED):
        _money_back(session, rma, mail)
    return mail


def label_attachment(session, rma: ReturnAuthorisation, settings: Settings) -> Attachment:
    """The return label (core.returns.label) as the approval e-mail carries it."""
    return Attachment(return_label.filename(rma), return_label.label_pdf(session, rma, settings),
                      "application/pdf")


def return_message(session, rma: ReturnAuthorisation, what: str, *, settings: Settings):
    """The e-mail telling the customer that their return was `what` (a ReturnMoved)."""
    mail = return_mail(session, rma, settings=settings)
    attachments = []
    if what == "approved" and rma.ship_back:
        attachments.append(label_attachment(session, rma, settings))
    subject = RETURN_SUBJECTS[what].format(number=rma.number)
    if what == "refunded" and mail.exchange:
        subject = (f"Your exchange {rma.number}: replacement order {mail.replacement}"
                   if mail.replacement else f"Your exchange {rma.number} is settled")
    return _message(settings, to=rma.email, subject=subject, template=f"return_{what}",
                    attachments=attachments, mail=mail, rma=rma,
                    label_attached=bool(attachments))


def _return_told(session, rma: ReturnAuthorisation, marker: str) -> bool:
    """Whether the customer was already sent this mail (a redelivered task)."""
    sent = session.scalars(select(audit.AuditEvent.data).where(
        audit.AuditEvent.subject_type == ReturnAuthorisation.__tablename__,
        audit.AuditEvent.subject_id == str(rma.id),
        audit.AuditEvent.action == "return.emailed"))
    return any((data or {}).get("what") == marker for data in sent)


@celery_app.task(name="marketline.send_return_email", **_RETRY)
def send_return_email(return_id: int, what: str) -> bool:
    """Tell the customer their return was `what` (see RETURN_SUBJECTS); once each (each
    receipt once). A request decided before this runs gets no "request received": the
    decision's mail says it all. True when sent."""
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        rma = session.get(ReturnAuthorisation, return_id)
        if rma is None or what not in RETURN_SUBJECTS:
            log.warning("return %s to e-mail (%s) does not exist", return_id, what)
            return False
        if what == "requested" and rma.status != ReturnStatus.REQUESTED:
            return False
        marker = f"received-{rma.quantity_received}" if what == "received" else what
        if not rma.email or _return_told(session, rma, marker):
            return False
        message = return_message(session, rma, what, settings=settings)
        number, to = rma.number, rma.email
        session.rollback()  # no transaction stays open while SMTP talks
        _deliver(settings, message)
        audit.record(session, "return.emailed", actor=ACTOR, channel="email",
                     subject=session.get(ReturnAuthorisation, return_id),
                     data={"number": number, "to": to, "what": marker})
        session.commit()
        return True
    finally:
        session.close()


def queue_return_email(return_id: int, what: str) -> None:
    """Send the return's mail in the background (inline without Redis). Call after commit;
    never raises."""
    _queue(send_return_email, return_id, what, what=f"return {return_id} ({what})")


# -- from events -------------------------------------------------------------------------------

def _shipment_sent(happened: events.ShipmentSent) -> None:
    _queue(send_shipment_email, happened.shipment_id, happened.partial,
           what=f"shipment {happened.shipment_id}")
    queue_invoice_email(happened.invoice_id)  # after the collection: it shows what was paid


events.subscribe(events.OrderConfirmed, lambda happened: queue_order_confirmation(happened.order_id))
events.subscribe(events.ConfirmationResendAsked, lambda happened: queue_order_confirmation(
    happened.order_id, resend=True))
events.subscribe(events.ShipmentSent, _shipment_sent)
events.subscribe(events.InvoiceEmailRequested, lambda happened: queue_invoice_email(
    happened.invoice_id, resend=happened.resend))
events.subscribe(events.InvoiceCardPaymentFailed, lambda happened: _queue(
    send_invoice_pay_link, happened.invoice_id, happened.number, happened.email,
    happened.reason, what=f"a pay link for invoice {happened.number}"))
events.subscribe(events.OrderCardNeeded, lambda happened: _queue(
    send_order_card_needed, happened.order_id, happened.number, happened.email,
    happened.reason, what=f"a card request for order {happened.number}"))
events.subscribe(events.PayLinkRequested, lambda happened: _queue(
    send_order_pay_link, happened.order_id, happened.number, happened.email, happened.total,
    happened.prepaid, happened.left, what=f"a pay link for order {happened.number}"))
events.subscribe(events.EmailConfirmationRequested, lambda happened: _queue(
    send_email_confirmation, happened.email, happened.full_name, happened.token,
    what="an e-mail confirmation"))
events.subscribe(events.PasswordResetAsked,
                 lambda happened: queue_password_reset(happened.email))
events.subscribe(events.RegistrationRepeated, lambda happened: _queue(
    send_already_registered, happened.email, happened.full_name,
    what="an already-registered notice"))
events.subscribe(events.ReturnMoved, lambda happened: queue_return_email(
    happened.return_id, happened.what))


# -- company: invitations and e-mail changes (core.customers.company) --------------------------

@celery_app.task(name="marketline.send_buyer_invitation", **_RETRY)
def send_buyer_invitation(email: str, full_name: str, company: str, invited_by: str,
                          token: str, days: int) -> None:
    """The invited buyer's one-time link to choose a password (core.links.buyer_invitation)."""
    settings = tasks.context().settings
    _deliver(settings, _message(settings, to=email,
                                subject=f"You are invited to buy for {company} on Marketline",
                                template="buyer_invitation", user={"full_name": full_name},
                                company=company, invited_by=invited_by, days=days,
                                link=links.buyer_invitation(settings, token)))


@celery_app.task(name="marketline.send_email_change", **_RETRY)
def send_email_change(old_email: str, new_email: str, full_name: str, token: str) -> None:
    """The link that confirms a new address goes to it; the old address hears of the request."""
    settings = tasks.context().settings
    _deliver(settings, _message(settings, to=new_email,
                                subject="Confirm your new e-mail address for Marketline",
                                template="email_change", user={"full_name": full_name},
                                new_email=new_email, link=links.email_change(settings, token)))
    _deliver(settings, _message(settings, to=old_email,
                                subject="Your Marketline e-mail address is about to change",
                                template="email_change_notice", user={"full_name": full_name},
                                new_email=new_email, done=False,
                                sign_in_link=links.sign_in(settings)))


@celery_app.task(name="marketline.send_email_changed", **_RETRY)
def send_email_changed(old_email: str, new_email: str, full_name: str) -> None:
    """The old address is told the change went through."""
    settings = tasks.context().settings
    _deliver(settings, _message(settings, to=old_email,
                                subject="Your Marketline e-mail address has changed",
                                template="email_change_notice", user={"full_name": full_name},
                                new_email=new_email, done=True,
                                sign_in_link=links.sign_in(settings)))


events.subscribe(events.BuyerInvited, lambda happened: _queue(
    send_buyer_invitation, happened.email, happened.full_name, happened.company,
    happened.invited_by, happened.token, happened.days, what="a buyer invitation"))
events.subscribe(events.EmailChangeRequested, lambda happened: _queue(
    send_email_change, happened.old_email, happened.new_email, happened.full_name,
    happened.token, what="an e-mail change link"))
events.subscribe(events.EmailChanged, lambda happened: _queue(
    send_email_changed, happened.old_email, happened.new_email, happened.full_name,
    what="an e-mail change notice"))


# -- spending-limit approvals (core.workflows.approvals) ----------------------------------------

def _approvers(session, order: Order) -> list[CustomerUser]:
    """Who decides the order: the active approvers and admins of its company who have
    accepted their invitation (an invitee has no password yet), not its buyer."""
    buyer_id = order.placed_by_id if order.placed_by_kind == "customer" else None
    return [u for u in session.scalars(
        select(CustomerUser).where(CustomerUser.customer_id == order.customer_id,
                                   CustomerUser.active,
                                   CustomerUser.email_confirmed_at.is_not(None),
                                   CustomerUser.role.in_(["approver", "admin"]))
        .order_by(CustomerUser.id)) if u.id != buyer_id and customer_roles.can_approve(u)]


def approval_request_messages(session, order: Order, *, settings: Settings) -> list:
    """One e-mail per approver of the order's company (none for an order of no company)."""
    if order.customer_id is None:
        return []
    buyer = (session.get(CustomerUser, order.placed_by_id)
             if order.placed_by_kind == "customer" and order.placed_by_id else None)
    hold = next((h for h in order.active_holds if h.kind == "approval"
                 and h.reason_code == "spending_limit"), None)
    if hold is None:
        return []  # decided before the mail went out
    return [_message(settings, to=approver.email,
                     subject=f"Order {order.number} waits for your approval",
                     template="approval_requested", order=order, approver=approver,
                     buyer_name=buyer.full_name if buyer else "A buyer", reason=hold.note,
                     link=links.approvals_page(settings))
            for approver in _approvers(session, order)]


@celery_app.task(name="marketline.send_approval_requests", **_RETRY)
def send_approval_requests(order_id: int) -> int:
    """E-mail every approver of the company that the order waits; how many were sent."""
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        order = session.get(Order, order_id, options=[selectinload(Order.lines)])
        if order is None or order.status == "cancelled":
            return 0
        messages = approval_request_messages(session, order, settings=settings)
        session.rollback()  # no transaction stays open while SMTP talks
        for message in messages:
            _deliver(settings, message)
        return len(messages)
    finally:
        session.close()


def approval_decided_message(session, order: Order, *, settings: Settings, approved: bool,
                             comment: str, approver: str):
    return _message(settings, to=order.email,
                    subject=(f"Your order {order.number} was approved" if approved else
                             f"Your order {order.number} was rejected"),
                    template="approval_decided", order=order, approved=approved,
                    comment=comment, approver=approver,
                    link=order_link(session, settings, order))


@celery_app.task(name="marketline.send_approval_decided", **_RETRY)
def send_approval_decided(order_id: int, approved: bool, comment: str = "") -> bool:
    """Tell the buyer their order was approved or rejected."""
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        order = session.get(Order, order_id)
        if order is None:
            return False
        decided = next((h for h in reversed(order.holds) if h.kind == "approval"
                        and h.reason_code == "spending_limit" and h.released_at), None)
        approver = ""
        if decided is not None and decided.released_by:
            user = session.scalar(select(CustomerUser).where(
                CustomerUser.email == decided.released_by))
            approver = user.full_name if user else ""
        message = approval_decided_message(session, order, settings=settings,
                                           approved=approved, comment=comment,
                                           approver=approver)
        session.rollback()
        _deliver(settings, message)
        return True
    finally:
        session.close()


events.subscribe(events.ApprovalRequested, lambda happened: _queue(
    send_approval_requests, happened.order_id,
    what=f"the approval requests of order {happened.order_id}"))
events.subscribe(events.ApprovalDecided, lambda happened: _queue(
    send_approval_decided, happened.order_id, happened.approved, happened.comment,
    what=f"the approval decision of order {happened.order_id}"))


# -- quotes ----------------------------------------------------------------------------------

def quote_message(session, quote, *, settings: Settings, to: str):
    """The e-mail carrying a sent quote, its PDF attached (core.quotes.document)."""
    from core.quotes import document as quote_document
    seller = documents.Seller.from_settings(settings)
    doc = quote_document.describe(session, quote)
    link = links.quote_page_for(settings, quote.number, customer_id=quote.customer_id,
                                can_sign_in=customers.can_sign_in(session, quote.customer_id))
    pdf = Attachment(quote_document.pdf_filename(quote),
                     quote_document.quote_pdf(session, quote, seller=seller), "application/pdf")
    return _message(settings, to=to, subject=f"Quote {quote.number} from {seller.name}",
                    template="quote", attachments=[pdf], q=quote, doc=doc, link=link)


@celery_app.task(name="marketline.send_quote_email", **_RETRY)
def send_quote_email(quote_id: int) -> bool:
    """E-mail a sent quote with its PDF; once (an audit event marks it). True when sent."""
    from core.quotes import services as quotes
    from core.quotes.models import Quote
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        quote = session.get(Quote, quote_id, options=[selectinload(Quote.lines)])
        if quote is None or quote.sent_at is None:
            log.warning("quote %s to e-mail does not exist or was not sent", quote_id)
            return False
        told = session.scalar(select(func.count()).select_from(audit.AuditEvent).where(
            audit.AuditEvent.subject_type == Quote.__tablename__,
            audit.AuditEvent.subject_id == str(quote.id),
            audit.AuditEvent.action == "quote.emailed"))
        to = quotes.recipient(session, quote)
        if told or not to:
            return False
        message = quote_message(session, quote, settings=settings, to=to)
        number = quote.number
        session.rollback()  # no transaction stays open while SMTP talks
        _deliver(settings, message)
        audit.record(session, "quote.emailed", actor=ACTOR, channel="email",
                     subject=session.get(Quote, quote_id), data={"number": number, "to": to})
        session.commit()
        return True
    finally:
        session.close()


events.subscribe(events.QuoteSent, lambda happened: _queue(
    send_quote_email, happened.quote_id, what=f"quote {happened.quote_id}"))


# -- stock: a delivery moves later (core.workflows.stock_receipts) -----------------------------

def delivery_moved_message(settings: Settings, happened: events.DeliveryMoved):
    """Tell the customer their order (or part of it) will arrive later than promised."""
    lines = [(sku, name, dt.date.fromisoformat(day)) for sku, name, day in happened.lines]
    promised = dt.date.fromisoformat(happened.promised_date) if happened.promised_date else None
    return _message(settings, to=happened.email,
                    subject=f"Your Marketline order {happened.number} will arrive later",
                    template="delivery_moved", number=happened.number, lines=lines,
                    promised=promised)


@celery_app.task(name="marketline.send_delivery_moved", **_RETRY)
def send_delivery_moved(order_id: int, number: str, email: str, promised_date: str,
                        lines: list) -> None:
    settings = tasks.context().settings
    _deliver(settings, delivery_moved_message(settings, events.DeliveryMoved(
        order_id, number, email, promised_date, tuple(tuple(l) for l in lines))))


events.subscribe(events.DeliveryMoved, lambda happened: _queue(
    send_delivery_moved, happened.order_id, happened.number, happened.email,
    happened.promised_date, [list(l) for l in happened.lines],
    what=f"the new delivery date of order {happened.number}"))


# -- purchase orders to drop-shipping suppliers -----------------------------------------------
# PurchaseOrderSent -> the purchase order, its PDF attached, to the supplier (once; `emailed_at`,
# or again when asked); PurchaseOrderCancelled -> the supplier is told not to ship it.

def purchase_order_message(session, po, *, settings: Settings):
    """The e-mail carrying a purchase order to its supplier, its PDF attached."""
    from core.purchasing import document as po_document
    seller = documents.Seller.from_settings(settings)
    doc = po_document.describe(session, po)
    pdf = Attachment(po_document.pdf_filename(po),
                     po_document.purchase_order_pdf(session, po, seller=seller),
                     "application/pdf")
    return _message(settings, to=doc.supplier.email,
                    subject=f"Purchase order {po.number} from {seller.name} (our order "
                            f"{doc.order_number})",
                    template="purchase_order", attachments=[pdf], po=po, doc=doc,
                    seller=seller)


def purchase_order_cancelled_message(session, po, *, settings: Settings):
    from core.purchasing import document as po_document
    seller = documents.Seller.from_settings(settings)
    doc = po_document.describe(session, po)
    return _message(settings, to=doc.supplier.email,
                    subject=f"Cancelled: purchase order {po.number} from {seller.name}",
                    template="purchase_order_cancelled", po=po, doc=doc, seller=seller)


def _purchase_order(session, po_id: int):
    from core.purchasing.models import PurchaseOrder
    return session.get(PurchaseOrder, po_id, options=[selectinload(PurchaseOrder.lines),
                                                      selectinload(PurchaseOrder.supplier)])


@celery_app.task(name="marketline.send_purchase_order", **_RETRY)
def send_purchase_order(po_id: int, resend: bool = False) -> bool:
    """E-mail a purchase order to its supplier with its PDF: once, unless asked again (and
    not once cancelled). True when sent."""
    from core.purchasing import services as purchasing
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        po = _purchase_order(session, po_id)
        if po is None or po.status == "cancelled" or (po.emailed_at and not resend):
            return False
        to = po.supplier.email
        if not to:
            log.warning("supplier of purchase order %s has no e-mail address", po.number)
            return False
        message = purchase_order_message(session, po, settings=settings)
        session.rollback()  # no transaction stays open while SMTP talks
        _deliver(settings, message)
        purchasing.mark_emailed(session, _purchase_order(session, po_id), actor=ACTOR, to=to)
        session.commit()
        return True
    finally:
        session.close()


@celery_app.task(name="marketline.send_purchase_order_cancelled", **_RETRY)
def send_purchase_order_cancelled(po_id: int) -> bool:
    """Tell the supplier a purchase order is cancelled (once). True when sent."""
    from core.purchasing import services as purchasing
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        po = _purchase_order(session, po_id)
        if po is None or po.status != "cancelled" or not po.supplier.email:
            return False
        told = session.scalar(select(func.count()).select_from(audit.AuditEvent).where(
            audit.AuditEvent.subject_type == po.__tablename__,
            audit.AuditEvent.subject_id == str(po.id),
            audit.AuditEvent.action == "purchase_order.cancellation_emailed"))
        if told:
            return False
        to = po.supplier.email
        message = purchase_order_cancelled_message(session, po, settings=settings)
        session.rollback()
        _deliver(settings, message)
        purchasing.mark_emailed(session, _purchase_order(session, po_id), actor=ACTOR, to=to,
                                what="purchase_order.cancellation_emailed")
        session.commit()
        return True
    finally:
        session.close()


events.subscribe(events.PurchaseOrderSent, lambda happened: _queue(
    send_purchase_order, happened.purchase_order_id, happened.resend,
    what=f"purchase order {happened.purchase_order_id}"))
events.subscribe(events.PurchaseOrderCancelled, lambda happened: _queue(
    send_purchase_order_cancelled, happened.purchase_order_id,
    what=f"cancelled purchase order {happened.purchase_order_id}"))


# -- statements of account --------------------------------------------------------------------
# StatementEmailRequested -> the statement for its period, its PDF attached, to the address
# the StatementSend row holds (core.credit.statement_sends: monthly once, or on demand).

def statement_message(session, send, *, settings: Settings):
    """The e-mail carrying a customer's statement of account, its PDF attached."""
    from core.billing import statements
    from core.customers.models import Customer
    seller = documents.Seller.from_settings(settings)
    st = statements.statement(session, session.get(Customer, send.customer_id),
                              statements.Period(send.period_start, send.period_end))
    pdf = Attachment(statements.pdf_filename(st), statements.statement_pdf(st, seller=seller),
                     "application/pdf")
    return _message(settings, to=send.email,
                    subject=f"Your statement of account for {st.period.label} from {seller.name}",
                    template="statement", attachments=[pdf], st=st, seller=seller)


@celery_app.task(name="marketline.send_statement", **_RETRY)
def send_statement(send_id: int) -> bool:
    """E-mail the statement a StatementSend row stands for. True when sent."""
    from core.credit.models import StatementSend
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        send = session.get(StatementSend, send_id)
        if send is None or not send.email:
            return False
        message = statement_message(session, send, settings=settings)
        session.rollback()  # no transaction stays open while SMTP talks
        _deliver(settings, message)
        return True
    finally:
        session.close()


# -- dunning letters (core.credit.dunning) ----------------------------------------------------
# DunningLetterSent -> the customer: the letter's text, its PDF attached, and the charges
# invoice's PDF when fees or interest were posted (once; the letter's `emailed_at`).

def dunning_letter_message(session, letter, *, settings: Settings):
    from core.credit import letters
    seller = documents.Seller.from_settings(settings)
    doc = letters.describe(session, letter)
    attachments = [Attachment(letters.pdf_filename(letter),
                              letters.letter_pdf(session, letter, seller=seller),
                              "application/pdf")]
    if doc.charges is not None:
        attachments.append(Attachment(documents.pdf_filename(doc.charges),
                                      documents.invoice_pdf(doc.charges, seller=seller),
                                      "application/pdf"))
    return _message(settings, to=letter.email, subject=doc.subject, template="dunning_letter",
                    attachments=attachments, doc=doc, seller=seller)


@celery_app.task(name="marketline.send_dunning_letter", **_RETRY)
def send_dunning_letter(letter_id: int) -> bool:
    """E-mail a sent dunning letter to the customer with its PDF (once). True when sent."""
    from core.credit import dunning
    from core.credit.models import DunningLetter
    context = tasks.context()
    settings = context.settings
    session = context.session()
    try:
        letter = session.get(DunningLetter, letter_id)
        if letter is None or letter.status != "sent" or letter.emailed_at or not letter.email:
            return False
        message = dunning_letter_message(session, letter, settings=settings)
        to = letter.email
        session.rollback()  # no transaction stays open while SMTP talks
        _deliver(settings, message)
        dunning.mark_emailed(session, session.get(DunningLetter, letter_id), to=to)
        session.commit()
        return True
    finally:
        session.close()


events.subscribe(events.StatementEmailRequested, lambda happened: _queue(
    send_statement, happened.statement_send_id,
    what=f"statement {happened.statement_send_id}"))
events.subscribe(events.DunningLetterSent, lambda happened: _queue(
    send_dunning_letter, happened.letter_id, what=f"dunning letter {happened.letter_id}"))
