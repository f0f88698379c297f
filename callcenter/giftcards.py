"""Gift cards in the console: sell one for a customer's recorded bank transfer or cheque
(its code is shown once, and e-mailed to the recipient), check a balance by code, see a
card's movements, disable a card (supervisor), and pay an open invoice with a card.

A sale out of a payment the seller recorded themselves waits (core.billing.
giftcard_requests): a colleague with the credit or supervisor role confirms the money came
in on the sale's page (listed on the billing start page), and the code is made then, shown
to them once and e-mailed to the recipient, else to the customer.

A code is never stored and never put in a URL: checks are posted, and the page that shows
a card shows its last four characters only.
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from flask import Blueprint, flash, request, session, url_for

from callcenter.access import requires_role
from callcenter.catalog_forms import options
from callcenter.giftcard_forms import (CODE_HINT, CheckForm, ConfirmSaleForm, DisableForm,
                                       PayerForm, RedeemInvoiceForm, RejectSaleForm, SellForm)
from core import notifications
from core.billing import giftcard_operations, giftcard_requests
from core.errors import DomainError
from core.money import Money
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, place_error
from core.web.render import redirect_to, render_page

bp = Blueprint("gift_cards", __name__)
ROLES = ("agent", "billing", "supervisor")
SELLERS = ("billing", "supervisor")  # a sale spends money billing recorded: not every agent
CONFIRMERS = ("credit", "supervisor")  # confirm a sale the seller's own payment pays for
SALE_VIEWERS = ("billing", "credit", "supervisor")  # a sale awaiting confirmation
SOLD_KEY = "gift_cards_sold"  # this browser's recent sales: form key -> card id, never a code
RECENT = 50


def _key(raw: str | None) -> str:
    return raw if raw and re.fullmatch(r"[0-9a-f]{32}", raw) else uuid.uuid4().hex


def _index(*, customer=None, sell_form: SellForm | None = None,
           check_form: CheckForm | None = None, payer_form: PayerForm | None = None):
    """The page; with `customer`, the sale form offers what they paid and is not yet used."""
    payments = giftcard_operations.sale_payments(db_session, customer) if customer else []
    if customer is not None:
        sell_form = sell_form or SellForm(formdata=None, key=uuid.uuid4().hex,
                                          customer=customer.number)
        sell_form.payment.choices = options((str(p.payment.id), p.label) for p in payments)
        if len(payments) == 1 and not sell_form.payment.data:
            sell_form.payment.data = str(payments[0].payment.id)
    if payer_form is None:
        payer_form = PayerForm(formdata=None, customer=customer.number if customer else "")
    return render_page("giftcards/index.html", sell_form=sell_form, payer_form=payer_form,
                       customer=customer, sale_payments=payments,
                       check_form=check_form or CheckForm(formdata=None),
                       cards=giftcard_operations.recent_cards(db_session, limit=RECENT),
                       labels=giftcard_operations.STATUS_LABELS, code_hint=CODE_HINT)


def _payer(payer_form: PayerForm):
    """The customer the payer form names, or None with the error at its field."""
    try:
        return giftcard_operations.payer(db_session, payer_form.customer.data or "")
    except DomainError as err:
        place_error(payer_form, err)
        return None


@bp.get("/", endpoint="index")
@requires_role(*ROLES)
def index():
    if "customer" not in request.args or not current_account().has_role(*SELLERS):
        return _index()
    payer_form = PayerForm(request.args)
    customer = _payer(payer_form) if payer_form.validate() else None
    return _index(customer=customer, payer_form=payer_form)


def _no_store(response):
    """A page with a gift card's code: no cache keeps it, not even the browser's back button."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/sell", endpoint="sell")
@requires_role(*SELLERS)
def sell():
    form = SellForm()
    payer_form = PayerForm(formdata=None, customer=form.customer.data or "")
    customer = _payer(payer_form)
    if customer is None:
        return _index(payer_form=payer_form)
    if not form.validate_on_submit():
        return _index(customer=customer, sell_form=form)
    key = _key(form.key.data)
    sold = dict(session.get(SOLD_KEY) or {})
    if key in sold:  # a second submit of the same page sells nothing more
        view = giftcard_operations.describe(
            db_session, giftcard_operations.get_card(db_session, sold[key]))
        return _no_store(render_page("giftcards/sold.html", view=view, code=None))
    try:
        sale = giftcard_operations.sell_card(
            db_session, amount=form.amount.data, customer_number=customer.number,
            payment_id=form.payment.data or "", actor=current_actor(), key=f"gift-sale-{key}",
            recipient_email=(form.recipient_email.data or "").strip().lower(),
            expires_on=form.expires_on.data)
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return _index(customer=customer, sell_form=form)
    db_session.commit()
    if sale.request is not None:
        if sale.request.status != "requested":  # the same page again, already decided
            return redirect_to(url_for(".sale", sale_id=sale.request.id))
        flash(f"You recorded this payment yourself, so the sale of "
              f"{Money(sale.request.amount, sale.request.currency).format()} waits for a "
              "colleague with the credit or supervisor role to confirm the money came in. No "
              "card exists yet: its code is made then, and e-mailed to "
              f"{giftcard_requests.deliver_to(db_session, sale.request) or 'the customer'}.",
              "info")
        return redirect_to(url_for(".sale", sale_id=sale.request.id))
    card, code = sale.card, sale.code
    session[SOLD_KEY] = dict(list(sold.items())[-9:] + [(key, card.id)])
    if card.recipient_email and not _email_code(card, code, card.recipient_email):
        flash(f"The e-mail to {card.recipient_email} could not be sent; give the customer "
              "the code shown here.", "error")
    view = giftcard_operations.describe(db_session, card)
    return _no_store(render_page("giftcards/sold.html", view=view, code=code,
                                 emailed_to=card.recipient_email))


def _email_code(card, code: str, to: str) -> bool:
    """After commit: the code to `to`, sent from this request, never through the task
    queue (core.notifications.send_gift_card_code). False when it could not be sent."""
    return notifications.send_gift_card_code(
        to, code=code, amount=Money(card.initial_amount, card.currency).format(),
        expires_on=card.expires_on)


# -- sales awaiting a colleague's confirmation -----------------------------------------------

def _sale_page(sale_id: int, *, status: int = 200, confirm_form: ConfirmSaleForm | None = None,
               reject_form: RejectSaleForm | None = None, problem: str = ""):
    row = giftcard_requests.describe(db_session, sale_id)
    refusal = giftcard_requests.decision_refusal(row.request, actor=current_actor(),
                                                 roles=current_account().roles)
    return render_page("giftcards/sale.html", status=status, row=row, refusal=refusal,
                       problem=problem,
                       confirm_form=confirm_form or ConfirmSaleForm(prefix="confirm",
                                                                    formdata=None),
                       reject_form=reject_form or RejectSaleForm(prefix="reject", formdata=None),
                       deliver_to=giftcard_requests.deliver_to(db_session, row.request),
                       may_see_card=current_account().has_role(*ROLES))


@bp.get("/sales/<int:sale_id>", endpoint="sale")
@requires_role(*SALE_VIEWERS)
def sale(sale_id: int):
    return _sale_page(sale_id)


@bp.post("/sales/<int:sale_id>/confirm", endpoint="confirm_sale")
@requires_role(*CONFIRMERS)
def confirm_sale(sale_id: int):
    """Confirm the money came in: the card is issued and its code shown here, once."""
    request_ = giftcard_requests.get_request(db_session, sale_id)
    form = ConfirmSaleForm(prefix="confirm")
    if not form.validate_on_submit():
        return _sale_page(sale_id, confirm_form=form)
    try:
        card, code = giftcard_requests.approve(db_session, request_, actor=current_actor(),
                                               roles=current_account().roles,
                                               note=form.note.data or "")
    except giftcard_requests.ApprovalNotAllowed as err:
        db_session.rollback()
        return _sale_page(sale_id, status=403, problem=str(err))
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return _sale_page(sale_id, confirm_form=form)
    db_session.commit()
    to = giftcard_requests.deliver_to(db_session, request_)
    if to and not _email_code(card, code, to):
        flash(f"The e-mail to {to} could not be sent; give the customer the code shown here.",
              "error")
        to = ""
    view = giftcard_operations.describe(db_session, card)
    return _no_store(render_page("giftcards/sold.html", view=view, code=code, emailed_to=to,
                                 confirmed=request_))


@bp.post("/sales/<int:sale_id>/reject", endpoint="reject_sale")
@requires_role(*CONFIRMERS)
def reject_sale(sale_id: int):
    request_ = giftcard_requests.get_request(db_session, sale_id)
    form = RejectSaleForm(prefix="reject")
    if not form.validate_on_submit():
        return _sale_page(sale_id, reject_form=form)
    try:
        giftcard_requests.reject(db_session, request_, actor=current_actor(),
                                 roles=current_account().roles, note=form.note.data)
    except giftcard_requests.ApprovalNotAllowed as err:
        db_session.rollback()
        return _sale_page(sale_id, status=403, problem=str(err))
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return _sale_page(sale_id, reject_form=form)
    db_session.commit()
    flash(f"The gift card sale of {Money(request_.amount, request_.currency).format()} is "
          "rejected; no card was issued, and the payment's money is free again.", "success")
    return redirect_to(url_for(".sale", sale_id=sale_id))


@bp.post("/check", endpoint="check")
@requires_role(*ROLES)
def check():
    form = CheckForm()
    if not form.validate_on_submit():
        return _index(check_form=form)
    card = giftcard_operations.card_for_code(db_session, form.code.data)
    if card is None:
        form.code.errors = [*form.code.errors, giftcard_operations.NOT_FOUND]
        return _index(check_form=form)
    return _card_page(card)


def _card_page(card, *, disable_form: DisableForm | None = None, status: int = 200):
    return render_page("giftcards/card.html", status=status,
                       view=giftcard_operations.describe(db_session, card),
                       movement_labels=giftcard_operations.MOVEMENT_LABELS,
                       may_disable=current_account().has_role("supervisor"),
                       disable_form=disable_form or DisableForm(formdata=None))


@bp.get("/<int:card_id>", endpoint="card")
@requires_role(*ROLES)
def card(card_id: int):
    return _card_page(giftcard_operations.get_card(db_session, card_id))


@bp.post("/<int:card_id>/disable", endpoint="disable")
@requires_role("supervisor")
def disable(card_id: int):
    card = giftcard_operations.get_card(db_session, card_id)
    form = DisableForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, giftcard_operations.disable, card, actor=current_actor(),
                            reason=form.reason.data):
            flash(f"Gift card …{card.last4} is disabled; it can no longer pay.", "success")
            return redirect_to(url_for(".card", card_id=card.id))
    return _card_page(card, disable_form=form)


# -- paying an invoice with a gift card ------------------------------------------------------

def _safe_next(target: str | None) -> str | None:
    """A path on this site to go back to, or None (never another site)."""
    target = target or ""
    parts = urlsplit(target)
    safe = (target.startswith("/") and not target.startswith("//")
            and not any(ch <= " " or ch == "\\" for ch in target)
            and not parts.scheme and not parts.netloc)
    return target if safe else None


def _redeem_page(form: RedeemInvoiceForm):
    return render_page("giftcards/redeem_invoice.html", form=form, code_hint=CODE_HINT)


@bp.get("/redeem-invoice", endpoint="redeem_invoice_form")
@requires_role(*ROLES)
def redeem_invoice_form():
    form = RedeemInvoiceForm(formdata=None, key=uuid.uuid4().hex,
                             invoice=request.args.get("invoice", "")[:20],
                             next=_safe_next(request.args.get("next")) or "")
    return _redeem_page(form)


@bp.post("/redeem-invoice", endpoint="redeem_invoice")
@requires_role(*ROLES)
def redeem_invoice():
    """Pay (part of) an open invoice with a gift card. Fields: invoice, code, amount, key
    (random hex, one payment per key), next (a path to go back to), csrf_token."""
    form = RedeemInvoiceForm()
    if not form.validate_on_submit():
        return _redeem_page(form)
    try:
        payment = giftcard_operations.pay_invoice(
            db_session, invoice_number=form.invoice.data, code=form.code.data,
            amount=form.amount.data, actor=current_actor(),
            key=f"gift-invoice-{_key(form.key.data)}")
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return _redeem_page(form)
    db_session.commit()
    paid = Money(payment.amount, payment.currency).format()
    flash(f"{paid} of {form.invoice.data.strip().upper()} paid with {payment.reference}.",
          "success")
    back = _safe_next(form.next.data) or url_for(".redeem_invoice_form")
    return redirect_to(back)
