"""Back-office billing in the console: invoices and credit notes, free-text invoices,
payments received by transfer or cheque, customer credit, write-offs, and the ledger
(trial balance, reconciliation, journal and its CSV export).

Roles: billing issues and corrects invoices, records payments and writes off small
remainders; credit (credit control) writes off within a higher limit and pays money back
(to the card or by transfer); supervisor does both with the highest limit. A credit note
or cancellation beyond the issuer's limit waits for a credit or supervisor agent who did
not ask for it (core.billing.credit_requests): on the invoice page, and listed on the
billing start page (the invoice list), with the gift card sales awaiting confirmation
(core.billing.giftcard_requests, decided on the sale's page in callcenter.giftcards). A
credit note's part paid by gift card goes back onto the gift card, never by transfer.
"""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

from flask import (Blueprint, Response, abort, current_app, flash, make_response, request,
                   stream_with_context, url_for)

from callcenter.access import requires_role
from callcenter.collections import READ as COLLECTIONS_READ
from callcenter.billing_forms import (ApplyCreditForm, ApproveRequestForm, CancelInvoiceForm,
                                      ConfirmForm, CreditNoteForm,
                                      FreeTextInvoiceForm, GiveBackForm, InvoiceFilterForm,
                                      JournalFilterForm,
                                      PaymentForm, RefundCreditForm, RefundToCardForm,
                                      RejectRequestForm, TrialBalanceForm, WriteOffForm,
                                      allocation_id, line_form, options,
                                      tax_choices)
from core.billing import (accounts, credit_requests, documents, einvoice, giftcard_requests,
                          giftcards, invoicing, ledger, queries, receivables)
from core.billing.errors import BillingError, NothingAllocated
from core.errors import DomainError, NotFound
from core.money import Money
from core.parsing import parse_int
from core.payments import refunds
from core.pricing import services as pricing
from core.workflows.customer_search import search_customers
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, filter_args, page_arg, place_error
from core.web.payments import gateway
from core.web.render import redirect_to, render_page

bp = Blueprint("billing", __name__)
bp.app_template_filter("tax_percent")(queries.tax_percent)
VIEW = ("billing", "credit", "supervisor")  # read invoices, customers' receivables, ledger
INVOICING = ("billing", "supervisor")  # issue, credit and cancel invoices
PAYMENTS = ("billing", "credit", "supervisor")  # record payments, use credit, write off
REFUND_CREDIT = ("credit", "supervisor")  # pay money back: to the card or by transfer
APPROVE_CREDIT = ("credit", "supervisor")  # approve credit notes beyond the issuer's limit
PICKER_RESULTS = 10


def _settings():
    return current_app.config["MARKETLINE"]


def _filter(field, default=""):
    """What a filter field asks for, or the default when it is empty or not valid."""
    return field.data if not field.errors and field.data else default


@bp.get("/", endpoint="home")
@requires_role(*VIEW)
def home():
    return redirect_to(url_for(".invoices"))


# -- invoices ------------------------------------------------------------------------------

@bp.get("/invoices", endpoint="invoices")
@requires_role(*VIEW)
def invoice_list():
    form = InvoiceFilterForm(request.args)
    form.validate()
    filters = accounts.InvoiceFilters(
        status=_filter(form.status, "open"), customer=_filter(form.customer),
        number=_filter(form.q), age=_filter(form.age))
    found = accounts.invoice_list(db_session, filters, page=page_arg())
    args = filter_args(form)
    return render_page("billing/invoices.html", block="results", form=form, found=found,
                       ageing=accounts.invoice_ageing(db_session, filters),
                       age_labels=accounts.AGE_FILTERS, age=filters.age,
                       every_age={k: v for k, v in args.items() if k != "age"},
                       args=args, waiting=credit_requests.waiting(db_session),
                       gift_sales=giftcard_requests.waiting(db_session))


def _decision_forms(detail, submitted=None):
    """(approve form, reject form) per waiting request; a submitted form keeps its errors."""
    forms = {}
    for request_ in detail.waiting:
        approve = ApproveRequestForm(prefix=f"approve-{request_.id}", formdata=None)
        reject = RejectRequestForm(prefix=f"reject-{request_.id}", formdata=None)
        if submitted is not None and submitted[0] == request_.id:
            approve, reject = submitted[1] or approve, submitted[2] or reject
        forms[request_.id] = (approve, reject)
    return forms


def _invoice_page(number: str, *, status: int = 200, credit_form=None, cancel_form=None,
                  write_off_form=None, refund_form=None, line_problems=None, decision=None,
                  decision_problems=None, give_back_form=None):
    detail = accounts.invoice_detail(db_session, number)
    invoice = detail.invoice
    limit = receivables.write_off_limit(current_account().roles, _settings())
    credit_limit = credit_requests.credit_limit(current_account().roles, _settings())
    if write_off_form is None:
        write_off_form = WriteOffForm(prefix="writeoff", formdata=None)
        write_off_form.amount.data = invoice.amount_open
    if credit_form is None:
        credit_form = CreditNoteForm(prefix="credit", formdata=None)
        credit_form.refund_to_card.data = detail.paid_by_card
    if refund_form is None:
        refund_form = RefundToCardForm(prefix="refund", formdata=None)
        refund_form.amount.data = detail.card_refundable
    if give_back_form is None:
        give_back_form = GiveBackForm(prefix="giveback", formdata=None, key=uuid.uuid4().hex)
        give_back_form.amount.data = detail.gift_card_returnable
    return render_page(
        "billing/invoice.html", status=status, detail=detail, invoice=invoice,
        view=detail.view, credit_form=credit_form,
        cancel_form=cancel_form or CancelInvoiceForm(prefix="cancel", formdata=None),
        write_off_form=write_off_form, refund_form=refund_form, give_back_form=give_back_form,
        refund_labels=receivables.REFUND_LABELS,
        resend_form=ConfirmForm(prefix="resend", formdata=None),
        line_problems=line_problems or {}, typed=request.form if request.method == "POST" else {},
        write_off_limit=limit and Money(limit, invoice.currency),
        credit_limit=credit_limit is not None and Money(credit_limit, invoice.currency),
        decision_forms=_decision_forms(detail, decision),
        decision_problems=decision_problems or {},
        decision_refusal=lambda r: credit_requests.decision_refusal(
            r, actor=current_actor(), roles=current_account().roles),
        kind_labels=credit_requests.KIND_LABELS,
        can_invoice=current_account().has_role(*INVOICING),
        can_collect=current_account().has_role(*PAYMENTS),
        can_see_collections=current_account().has_role(*COLLECTIONS_READ),
        can_refund=current_account().has_role(*REFUND_CREDIT))


@bp.get("/invoices/<number>", endpoint="invoice")
@requires_role(*VIEW)
def invoice_detail(number: str):
    return _invoice_page(number)


@bp.get("/invoices/<number>.pdf", endpoint="invoice_pdf")
@requires_role(*VIEW)
def invoice_pdf(number: str):
    invoice = accounts.find_invoice(db_session, number)
    seller = documents.Seller.from_settings(_settings())
    response = make_response(documents.invoice_pdf(invoice, seller=seller))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = \
        f'inline; filename="{documents.pdf_filename(invoice)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/invoices/<number>.xml", endpoint="invoice_xml")
@requires_role(*VIEW)
def invoice_xml(number: str):
    """The e-invoice (Factur-X EN 16931 XML) on its own."""
    invoice = accounts.find_invoice(db_session, number)
    response = make_response(einvoice.invoice_xml(
        invoice, seller=documents.Seller.from_settings(_settings())))
    response.headers["Content-Type"] = "application/xml; charset=utf-8"
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{einvoice.xml_filename(invoice)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/invoices/<number>/email", endpoint="resend")
@requires_role(*VIEW)
def resend(number: str):
    invoice = accounts.find_invoice(db_session, number)
    form = ConfirmForm(prefix="resend")
    if form.validate_on_submit():
        if not invoice.email:
            flash(f"{invoice.number} has no e-mail address to send it to.", "error")
        else:
            accounts.note_email_resent(db_session, invoice, actor=current_actor())
            db_session.commit()
            flash(f"{invoice.number} is on its way to {invoice.email}.", "success")
    return redirect_to(url_for(".invoice", number=invoice.number))


@bp.post("/invoices/<number>/credit-note", endpoint="credit_note")
@requires_role(*INVOICING)
def credit_note(number: str):
    invoice = accounts.find_invoice(db_session, number)
    form = CreditNoteForm(prefix="credit")
    problems: dict[int, str] = {}
    if form.validate_on_submit():
        lines = None
        if form.scope.data != "whole":
            lines, problems = form.quantities(invoicing.creditable(db_session, invoice),
                                              request.form)
            if not lines and not problems:
                form.form_errors.append("Enter the quantity to credit on at least one line, "
                                        "or choose to credit everything.")
        if not problems and not form.form_errors:
            committed = commit_or_refuse(form, credit_requests.credit, invoice, lines=lines,
                                         reason=form.reason.data, actor=current_actor(),
                                         limit=_credit_limit(), send_email=True)
            done = committed and committed.value
            if done is not None and done.request is not None:
                flash(_waiting_message(done.request), "info")
                return redirect_to(url_for(".invoice", number=invoice.number))
            note = done and done.note
            if note is not None:
                flash(f"Credit note {note.number} issued for "
                      f"{Money(note.gross_total, note.currency).format()}.", "success")
                if form.refund_to_card.data and current_account().has_role(*REFUND_CREDIT):
                    _refund_note_to_card(note.number, None)
                return redirect_to(url_for(".invoice", number=note.number))
    return _invoice_page(number, credit_form=form, line_problems=problems)


def _refund_note_to_card(number: str, amount: Decimal | None) -> DomainError | None:
    """Refund (part of) a credit note's open amount to the card(s) the invoice was paid
    with, through core.payments (which records, commits, then asks Stripe). Flashes what
    happened; returns the error that stopped it, if any."""
    detail = accounts.invoice_detail(db_session, number)
    note = detail.invoice
    left = detail.card_refundable if amount is None else amount
    if left <= 0:
        flash("Nothing of this credit note is left to refund to a card: it settled what was "
              "open on the invoice.", "info")
        return None
    if amount is not None and amount > detail.card_refundable:
        return BillingError(
            f"At most {Money(detail.card_refundable, note.currency).format()} can go back to "
            "the card.", field="amount")
    note_id, currency = note.id, note.currency
    refunded = Decimal(0)
    for card in detail.card_payments:
        part = min(left - refunded, card.refundable)
        if part <= 0:
            continue
        try:
            refunds.refund_to_card(db_session, gateway(), payment_id=card.payment.id,
                                   amount=part, actor=current_actor(), commit=db_session.commit,
                                   credit_note_id=note_id, reason=note.reason)
        except DomainError as err:
            db_session.rollback()
            if refunded:
                flash(f"{Money(refunded, currency).format()} was refunded to the card.", "success")
            flash(f"The refund to the card did not go through: {err}", "error")
            return None if amount is None else err
        refunded += part
        if refunded >= left:
            break
    flash(f"{Money(refunded, currency).format()} refunded to the card.", "success")
    return None


@bp.post("/invoices/<number>/refund-to-card", endpoint="refund_to_card")
@requires_role(*REFUND_CREDIT)
def refund_to_card(number: str):
    note = accounts.find_invoice(db_session, number)
    if not note.is_credit_note:
        abort(404)
    form = RefundToCardForm(prefix="refund")
    if form.validate_on_submit():
        err = _refund_note_to_card(note.number, form.amount.data)
        if err is None:
            return redirect_to(url_for(".invoice", number=note.number))
        place_error(form, err)
    return _invoice_page(number, refund_form=form)


@bp.post("/invoices/<number>/give-back-to-gift-card", endpoint="give_back_to_gift_card")
@requires_role(*REFUND_CREDIT)
def give_back_to_gift_card(number: str):
    """A credit note's part paid by gift card goes back onto the card (never by transfer)."""
    note = accounts.find_invoice(db_session, number)
    if not note.is_credit_note:
        abort(404)
    form = GiveBackForm(prefix="giveback")
    if form.validate_on_submit():
        key = form.key.data if re.fullmatch(r"[0-9a-f]{32}", form.key.data or "") \
            else uuid.uuid4().hex
        done = commit_or_refuse(form, giftcards.give_back, note, form.amount.data,
                                actor=current_actor(), key=f"gift-back-{key}")
        if done is not None:
            given = sum((r.amount for r in done.value), Decimal(0))
            flash(f"{Money(given, note.currency).format()} of {note.number} given back to the "
                  "gift card.", "success")
            return redirect_to(url_for(".invoice", number=note.number))
    return _invoice_page(number, give_back_form=form)


@bp.post("/invoices/<number>/cancel", endpoint="cancel")
@requires_role(*INVOICING)
def cancel(number: str):
    invoice = accounts.find_invoice(db_session, number)
    form = CancelInvoiceForm(prefix="cancel")
    if form.validate_on_submit():
        committed = commit_or_refuse(form, credit_requests.credit, invoice, lines=None,
                                     cancel=True, reason=form.reason.data.strip(),
                                     actor=current_actor(), limit=_credit_limit(),
                                     send_email=True)
        done = committed and committed.value
        if done is not None and done.request is not None:
            flash(_waiting_message(done.request), "info")
            return redirect_to(url_for(".invoice", number=invoice.number))
        if done is not None:
            flash(f"{invoice.number} is cancelled by credit note {done.note.number}.", "success")
            return redirect_to(url_for(".invoice", number=invoice.number))
    return _invoice_page(number, cancel_form=form)


def _credit_limit() -> Decimal:
    """What the signed-in agent may credit on one invoice alone (INVOICING roles have one)."""
    limit = credit_requests.credit_limit(current_account().roles, _settings())
    if limit is None:
        abort(403)
    return limit


def _waiting_message(request_) -> str:
    what = "cancellation" if request_.kind == "cancellation" else "credit note"
    return (f"The {what} of {Money(request_.amount, request_.currency).format()} is more than "
            "you may credit on this invoice alone. Nothing is credited yet: it waits for "
            "approval by a colleague with the credit or supervisor role.")


# -- credit notes awaiting approval ------------------------------------------------------------

@bp.post("/credit-requests/<int:request_id>/approve", endpoint="approve_credit")
@requires_role(*APPROVE_CREDIT)
def approve_credit(request_id: int):
    request_ = credit_requests.get_request(db_session, request_id)
    number = request_.invoice.number
    form = ApproveRequestForm(prefix=f"approve-{request_id}")
    if not form.validate_on_submit():
        return _invoice_page(number, decision=(request_id, form, None))
    try:
        note = credit_requests.approve(db_session, request_, actor=current_actor(),
                                       roles=current_account().roles, note=form.note.data or "",
                                       send_email=True)
    except credit_requests.ApprovalNotAllowed as err:
        db_session.rollback()
        return _invoice_page(number, status=403, decision_problems={request_id: str(err)})
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return _invoice_page(number, decision=(request_id, form, None))
    db_session.commit()
    flash(f"Approved: credit note {note.number} issued for "
          f"{Money(note.gross_total, note.currency).format()}.", "success")
    return redirect_to(url_for(".invoice", number=number))


@bp.post("/credit-requests/<int:request_id>/reject", endpoint="reject_credit")
@requires_role(*APPROVE_CREDIT)
def reject_credit(request_id: int):
    request_ = credit_requests.get_request(db_session, request_id)
    number = request_.invoice.number
    form = RejectRequestForm(prefix=f"reject-{request_id}")
    if not form.validate_on_submit():
        return _invoice_page(number, decision=(request_id, None, form))
    try:
        credit_requests.reject(db_session, request_, actor=current_actor(),
                               roles=current_account().roles, note=form.note.data)
    except credit_requests.ApprovalNotAllowed as err:
        db_session.rollback()
        return _invoice_page(number, status=403, decision_problems={request_id: str(err)})
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return _invoice_page(number, decision=(request_id, None, form))
    db_session.commit()
    flash(f"The request of {Money(request_.amount, request_.currency).format()} is rejected; "
          "nothing was credited.", "success")
    return redirect_to(url_for(".invoice", number=number))


@bp.post("/invoices/<number>/write-off", endpoint="write_off")
@requires_role(*PAYMENTS)
def write_off(number: str):
    invoice = accounts.find_invoice(db_session, number)
    limit = receivables.write_off_limit(current_account().roles, _settings())
    if limit is None:
        abort(403)
    form = WriteOffForm(prefix="writeoff")
    if form.validate_on_submit():
        if commit_or_refuse(form, receivables.write_off, invoice, form.amount.data, limit=limit,
                            reason=form.reason.data, actor=current_actor()) is not None:
            flash(f"{Money(form.amount.data, invoice.currency).format()} of {invoice.number} "
                  "written off.", "success")
            return redirect_to(url_for(".invoice", number=invoice.number))
    return _invoice_page(number, write_off_form=form)


# -- free-text invoices ------------------------------------------------------------------------

def _picker(template: str, q: str, problem: str = ""):
    """The customer picker: hits for what was typed (htmx swaps only the results)."""
    q = " ".join(q.split())[:100]
    hits = search_customers(db_session, q, limit=PICKER_RESULTS) if q else []
    return render_page(template, block="picker_results", customer=None, q=q, hits=hits,
                       problem=problem)


def _customer_from(number: str):
    try:
        return accounts.find_customer(db_session, number)
    except NotFound:
        return None


def _asked_customer(template: str):
    """The customer ?customer= names, with None; or None with the picker to show instead
    (?q= is what was typed in it)."""
    number = request.args.get("customer", "").strip()
    customer = _customer_from(number) if number else None
    if customer is None:
        return None, _picker(template, request.args.get("q", number),
                             "We could not find that customer." if number else "")
    return customer, None


def _posted_customer(template: str, form):
    """The customer the posted form names, with None; or None with the picker to show
    instead."""
    customer = _customer_from(form.customer.data or "")
    if customer is None:
        return None, _picker(template, "", "Choose the customer first.")
    return customer, None


def _tax_options():
    home = pricing.get_channel(db_session, "callcenter").country
    found = accounts.tax_rate_options(db_session, home_country=home)
    return tax_choices(found), found[0].value


def _invoice_form_page(form: FreeTextInvoiceForm, customer, *, lines_problem: str = ""):
    return render_page("billing/new_invoice.html", form=form, customer=customer,
                       lines_problem=lines_problem, q="", hits=[], problem="")


@bp.get("/invoices/new", endpoint="new_invoice")
@requires_role(*INVOICING)
def new_invoice():
    customer, picker = _asked_customer("billing/new_invoice.html")
    if customer is None:
        return picker
    form = FreeTextInvoiceForm(formdata=None)
    form.customer.data = customer.number
    form.set_tax_choices(*_tax_options())
    return _invoice_form_page(form, customer)


@bp.get("/invoices/new/line", endpoint="invoice_line")
@requires_role(*INVOICING)
def invoice_line():
    """One more empty line for the free-text invoice (htmx appends it)."""
    index = parse_int(request.args.get("index"), low=0, high=FreeTextInvoiceForm.MAX_LINES - 1)
    if index is None:
        abort(404)
    return render_page("billing/_invoice_line.html", line=line_form(index, *_tax_options()),
                       index=index)


@bp.post("/invoices/new", endpoint="issue_invoice")
@requires_role(*INVOICING)
def issue_invoice():
    form = FreeTextInvoiceForm()
    customer, picker = _posted_customer("billing/new_invoice.html", form)
    if customer is None:
        return picker
    form.set_tax_choices(*_tax_options())
    if request.form.get("add_line"):  # without JavaScript: the page again, one line longer
        if len(form.lines) < form.lines.max_entries:
            form.lines.append_entry()
            form.set_tax_choices(*_tax_options())
        return _invoice_form_page(form, customer)
    lines_problem = ""
    if form.validate_on_submit():
        try:
            invoice = invoicing.issue_free_text(db_session, customer=customer,
                                                lines=form.free_text_lines(),
                                                actor=current_actor(),
                                                memo=(form.memo.data or "").strip(),
                                                terms=form.terms.data or None,
                                                send_email=True)
        except DomainError as err:
            db_session.rollback()
            if err.field == "lines":
                lines_problem = str(err)
            else:
                place_error(form, err)
        else:
            db_session.commit()
            flash(f"Invoice {invoice.number} issued for "
                  f"{Money(invoice.gross_total, invoice.currency).format()}; it is being "
                  f"e-mailed to {invoice.email or 'nobody (no e-mail address)'}.", "success")
            return redirect_to(url_for(".invoice", number=invoice.number))
    return _invoice_form_page(form, customer, lines_problem=lines_problem or
                              " ".join(e for e in form.lines.errors if isinstance(e, str)))


# -- payments ----------------------------------------------------------------------------------

def _payment_page(form: PaymentForm, customer, *, typed=None, problems=None,
                  allocation_problem: str = "", credit_question: str = ""):
    """The payment form with the allocation offered; what was typed is shown as typed. With
    `credit_question`, the form asks whether the money is all customer credit."""
    raw = {} if typed is None else {
        invoice_id: v for k, v in request.form.items()
        if (invoice_id := allocation_id(k)) is not None}
    amount = form.amount.data if not form.amount.errors else None
    on = form.received_on.data if not form.received_on.errors else None
    suggestion = accounts.suggest(db_session, customer, amount, received_on=on, typed=typed,
                                  first=form.first.data or "")
    if amount is None and not form.amount.errors and suggestion.amount:
        form.amount.data = suggestion.amount  # the open amount of the invoice offered first
    return render_page("billing/payment.html", block="allocation", form=form,
                       customer=customer, suggestion=suggestion, problems=problems or {},
                       allocation_problem=allocation_problem, credit_question=credit_question,
                       raw=raw, q="", hits=[], problem="")


@bp.get("/payments/new", endpoint="new_payment")
@requires_role(*PAYMENTS)
def new_payment():
    customer, picker = _asked_customer("billing/payment.html")
    if customer is None:
        return picker
    form = PaymentForm(formdata=None)
    for name in ("method", "amount", "received_on", "reference", "key", "first"):
        if request.args.get(name):  # what was typed so far (htmx asks for the allocation)
            form[name].process(request.args)
            if name in ("amount", "received_on"):
                form[name].validate(form)
    form.customer.data = customer.number
    form.key.data = form.key.data or uuid.uuid4().hex
    return _payment_page(form, customer)


@bp.post("/payments/new", endpoint="record_payment")
@requires_role(*PAYMENTS)
def record_payment():
    form = PaymentForm()
    customer, picker = _posted_customer("billing/payment.html", form)
    if customer is None:
        return picker
    if request.form.get("suggest"):  # without JavaScript: offer the allocation again
        form.validate()
        return _payment_page(form, customer)
    typed, problems = form.typed_allocations(request.form)
    if not form.validate_on_submit() or problems:
        return _payment_page(form, customer, typed=typed, problems=problems)
    try:
        payment = receivables.record_payment(
            db_session, customer_id=customer.id, method=form.method.data,
            amount=form.amount.data, currency=customer.currency,
            received_on=form.received_on.data, reference=form.reference.data,
            actor=current_actor(), allocations=[(i, a) for i, a in typed.items() if a],
            key=form.key.data or None,
            ask_before_credit=request.form.get("confirm_credit") != "1")
    except NothingAllocated as err:  # asked once: "Record as customer credit" confirms
        db_session.rollback()
        return _payment_page(form, customer, typed=typed, credit_question=str(err))
    except DomainError as err:
        db_session.rollback()
        if err.field == "allocations":
            return _payment_page(form, customer, typed=typed, allocation_problem=str(err))
        place_error(form, err)
        return _payment_page(form, customer, typed=typed)
    db_session.commit()
    flash(accounts.payment_summary(db_session, payment), "success")
    return redirect_to(url_for(".receivables", number=customer.number))


# -- a customer's receivables --------------------------------------------------------------

def _receivables_page(number: str, *, status: int = 200, forms: dict | None = None):
    try:
        customer = accounts.find_customer(db_session, number)
    except NotFound:
        abort(404)
    found = accounts.customer_receivables(db_session, customer)
    forms = forms or {}
    can_refund = current_account().has_role(*REFUND_CREDIT)
    apply_forms, refund_forms = {}, {}
    for source in found.credit:
        invoices = [i for i in found.open_invoices if i.currency == source.currency]
        form = forms.get(f"apply-{source.key}")
        if form is None:
            form = ApplyCreditForm(prefix=f"apply-{source.key}", formdata=None)
            if invoices:
                form.amount.data = min(source.available, invoices[0].amount_open)
        form.invoice.choices = options((str(i.id), f"{i.number}, "
                                        f"{Money(i.amount_open, i.currency).format()} open")
                                       for i in invoices)
        apply_forms[source.key] = form if invoices else None
        if can_refund:
            refund = forms.get(f"refund-{source.key}")
            if refund is None:
                refund = RefundCreditForm(prefix=f"refund-{source.key}", formdata=None)
                refund.amount.data = source.available
            refund_forms[source.key] = refund
    return render_page("billing/receivables.html", status=status, found=found,
                       customer=customer, apply_forms=apply_forms, refund_forms=refund_forms,
                       key=uuid.uuid4().hex)


@bp.get("/customers/<number>", endpoint="receivables")
@requires_role(*VIEW)
def customer_receivables(number: str):
    return _receivables_page(number)


def _posted_source(number: str):
    """The customer and the credit (a payment's or a credit note's) a posted form uses:
    (customer, source key, payment, credit note)."""
    customer = accounts.find_customer(db_session, number)
    key = request.form.get("source", "")
    payment, note = accounts.find_credit_source(db_session, customer.id, key[:40])
    return customer, key, payment, note


@bp.post("/customers/<number>/apply", endpoint="apply_credit")
@requires_role(*PAYMENTS)
def apply_credit(number: str):
    customer, key, payment, note = _posted_source(number)
    form = ApplyCreditForm(prefix=f"apply-{key}")
    if form.validate_on_submit():
        invoice = accounts.customer_invoice(db_session, customer.id, form.invoice.data or "")
        if invoice is None:
            form.invoice.errors = [*form.invoice.errors, "Choose one of the open invoices."]
        elif commit_or_refuse(form, receivables.allocate, invoice, form.amount.data,
                              actor=current_actor(), payment=payment,
                              credit_note=note) is not None:
            flash(f"{Money(form.amount.data, invoice.currency).format()} of credit applied "
                  f"to {invoice.number}.", "success")
            return redirect_to(url_for(".receivables", number=customer.number))
    return _receivables_page(number, forms={f"apply-{key}": form})


@bp.post("/customers/<number>/refund", endpoint="refund_credit")
@requires_role(*REFUND_CREDIT)
def refund_credit(number: str):
    customer, key, payment, note = _posted_source(number)
    form = RefundCreditForm(prefix=f"refund-{key}")
    if form.validate_on_submit():
        if commit_or_refuse(form, receivables.refund_credit, amount=form.amount.data,
                            method="bank_transfer", reference=form.reference.data,
                            actor=current_actor(),
                            key=(request.form.get("key") or uuid.uuid4().hex)[:80],
                            payment=payment, credit_note=note,
                            reason=form.reason.data or "") is not None:
            flash(f"{Money(form.amount.data, (payment or note).currency).format()} refunded by "
                  "bank transfer.", "success")
            return redirect_to(url_for(".receivables", number=customer.number))
    return _receivables_page(number, forms={f"refund-{key}": form})


# -- the ledger ----------------------------------------------------------------------------------

@bp.get("/ledger", endpoint="trial_balance")
@requires_role(*VIEW)
def trial_balance():
    form = TrialBalanceForm(request.args)
    form.validate()
    as_of = _filter(form.as_of, None)
    return render_page("billing/trial_balance.html", form=form,
                       found=accounts.trial_balance(db_session, as_of=as_of),
                       account_name=accounts.account_name)


@bp.get("/ledger/journal", endpoint="journal")
@requires_role(*VIEW)
def journal():
    form = JournalFilterForm(request.args)
    form.validate()
    filters = accounts.JournalFilters(
        kind=_filter(form.kind), date_from=_filter(form.date_from, None),
        date_to=_filter(form.date_to, None), reference=_filter(form.reference))
    found = accounts.journal(db_session, filters, page=page_arg())
    return render_page("billing/journal.html", block="results", form=form, found=found,
                       customers=accounts.journal_customers(db_session, found.items),
                       args=filter_args(form), account_name=accounts.account_name,
                       kinds=accounts.JOURNAL_KINDS)


@bp.get("/ledger/journal.csv", endpoint="export")
@requires_role(*VIEW)
def export():
    form = JournalFilterForm(request.args)
    if not form.validate():
        abort(400)
    kind, date_from, date_to = form.kind.data or "", form.date_from.data, form.date_to.data
    name = "journal" + (f"-{kind}" if kind else "") + \
        (f"-from-{date_from.isoformat()}" if date_from else "") + \
        (f"-to-{date_to.isoformat()}" if date_to else "") + ".csv"
    rows = ledger.export_csv(db_session, kind=kind, date_from=date_from, date_to=date_to,
                             reference=form.reference.data or "")
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
