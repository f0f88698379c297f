"""Words for codes, and local times: what people read instead of what the code stores.

No code is shown to a person. An audit event's name (`order.hold_placed`) is told as a
phrase (`EVENT_LABELS`: "Hold placed"); an enum-like code (a payment method `bank_transfer`,
a payment state `authorised`) has its name in `CODE_LABELS`. Entities with a name of their
own (channels, price lists, shipping methods, payment terms) are named from the database,
not here.

Times are stored in UTC (core.db.UTCDateTime reads them back timezone-aware) and shown in a
time zone: the shop's (SHOP_TIMEZONE) to customers, in e-mails and PDFs, the console's
(CONSOLE_TIMEZONE) to agents. `local_time` formats one; a naive datetime is taken as UTC,
a date stays a date.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_TIMEZONE = "Europe/Berlin"
TIME_FORMAT = "%d %b %Y %H:%M"
DATE_FORMAT = "%d %b %Y"


@lru_cache(maxsize=16)
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TIMEZONE)


_REGIONS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/",
            "Europe/", "Indian/", "Pacific/")


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA zones a person may choose: a region and a city, sorted (no Etc/GMT+5,
    no old aliases such as US/Eastern)."""
    return tuple(sorted(z for z in available_timezones() if z.startswith(_REGIONS)))


def zone_label(name: str) -> str:
    """'America/Port_of_Spain' -> 'America / Port of Spain'."""
    return name.replace("_", " ").replace("/", " / ")


def to_local(value: dt.datetime, tz: str | None = None) -> dt.datetime:
    """`value` in the zone `tz`; a naive datetime is UTC (SQLite keeps no zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(zone(tz))


def from_local(value: dt.datetime | None, tz: str | None = None) -> dt.datetime | None:
    """A wall-clock time typed in `tz` (a naive datetime-local field) as an aware UTC time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(dt.timezone.utc)


def local_time(value, fmt: str = TIME_FORMAT, tz: str | None = None) -> str:
    """A timestamp as a person in `tz` reads it; a date as it is; None as empty."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return to_local(value, tz).strftime(fmt)
    if isinstance(value, dt.date):
        return value.strftime(fmt if "%H" not in fmt else DATE_FORMAT)
    return str(value)


_shop_timezone = DEFAULT_TIMEZONE


def set_shop_timezone(name: str) -> None:
    """The zone of customers' times in e-mails and PDFs (SHOP_TIMEZONE, set at start-up)."""
    global _shop_timezone
    zone(name)
    _shop_timezone = name


def shop_time(value, fmt: str = TIME_FORMAT) -> str:
    """A timestamp in the shop's time zone: for e-mails and documents rendered by core."""
    return local_time(value, fmt, _shop_timezone)


# --- enum-like codes -----------------------------------------------------------------------

CODE_LABELS: dict[str, str] = {
    # payment methods
    "bank_transfer": "Bank transfer", "pay_link": "Payment link", "card": "Card",
    "gift_card": "Gift card", "on_account": "On account", "invoice": "Invoice",
    "cash": "Cash", "direct_debit": "Direct debit", "credit": "Customer credit",
    "cheque": "Cheque", "store_credit": "Store credit", "exchange": "Exchange",
    # payment states
    "unpaid": "Unpaid", "authorised": "Authorised", "partially_captured": "Partly captured",
    "captured": "Captured", "partially_refunded": "Partly refunded", "refunded": "Refunded",
    "requires_action": "Waiting for 3-D Secure", "requires_payment_method": "Card needed",
    "requires_capture": "Authorised", "succeeded": "Succeeded", "failed": "Failed",
    "canceled": "Cancelled", "cancelled": "Cancelled", "voided": "Voided",
    "pending": "Pending", "processing": "Processing",
    # order states
    "awaiting_payment": "Awaiting payment", "confirmed": "Confirmed",
    "in_fulfilment": "In fulfilment", "partially_shipped": "Partly shipped",
    "shipped": "Shipped", "completed": "Completed", "awaiting_approval": "Awaiting approval",
    # channels' kinds and where something came from
    "phone": "Phone", "web": "Shop", "callcenter": "Call center", "console": "Console",
    "backoffice": "Back office", "email": "E-mail", "system": "System",
    # payment terms
    "prepaid": "Prepaid", "net30": "Net 30 days", "net14": "Net 14 days",
}


def code_label(code: str | None, labels: dict[str, str] | None = None) -> str:
    """The name of an enum-like code: from `labels`, then CODE_LABELS, else words."""
    if not code:
        return ""
    code = str(code)
    if labels and code in labels:
        return labels[code]
    if code in CODE_LABELS:
        return CODE_LABELS[code]
    return code.replace("_", " ").replace("-", " ").capitalize()


# --- audit events ---------------------------------------------------------------------------

EVENT_LABELS: dict[str, str] = {
    # agents
    "agent.activated": "Console user activated", "agent.created": "Console user created",
    "agent.deactivated": "Console user deactivated",
    "agent.mfa_enrolled": "Two-step sign-in turned on",
    "agent.mfa_failed": "Two-step sign-in code refused",
    "agent.mfa_recovery_code_used": "Recovery code used to sign in",
    "agent.mfa_recovery_codes_renewed": "Recovery codes renewed",
    "agent.mfa_replaced": "Two-step sign-in set up again",
    "agent.mfa_reset": "Two-step sign-in reset",
    "agent.mfa_secret_resealed": "Two-step sign-in key re-encrypted",
    "agent.roles_changed": "Console roles changed",
    "agent.time_zone_changed": "Time zone changed",
    "agent.signed_in_sso": "Signed in with single sign-on",
    "agent.sso_bound": "Single sign-on account linked",
    "agent.sso_refused": "Single sign-on refused",
    "agent.sso_unbound": "Single sign-on account unlinked",
    # catalogue and setup
    "assortment_rule.added": "Assortment rule added",
    "assortment_rule.removed": "Assortment rule removed",
    "catalog.prices_imported": "Prices imported", "catalog.products_imported": "Products imported",
    "category.created": "Category created", "category.moved": "Category moved",
    "category.updated": "Category changed",
    "channel.updated": "Channel changed", "channel.warehouse_added": "Warehouse added to channel",
    "channel.warehouse_moved": "Warehouse order changed for channel",
    "channel.warehouse_removed": "Warehouse removed from channel",
    "price.removed": "Price removed", "price.set": "Price set",
    "price_list.created": "Price list created", "price_list.updated": "Price list changed",
    "product.created": "Product created", "product.updated": "Product changed",
    "product.published": "Product published in the shop",
    "product.unpublished": "Product taken out of the shop",
    "product_image.added": "Picture added", "product_image.moved": "Picture moved",
    "product_image.removed": "Picture removed", "product_image.updated": "Picture changed",
    "product_relation.added": "Related product added",
    "product_relation.moved": "Related product moved",
    "product_relation.removed": "Related product removed",
    "promotion.created": "Promotion created", "promotion.deactivated": "Promotion ended",
    "promotion.updated": "Promotion changed",
    "shipping_method.created": "Shipping method created",
    "shipping_method.updated": "Shipping method changed",
    "supplier.created": "Supplier created", "supplier.updated": "Supplier changed",
    "tax_category.created": "Tax category created", "tax_rate.created": "Tax rate created",
    "tax_rate.updated": "Tax rate changed",
    "variant.created": "Variant created", "variant.updated": "Variant changed",
    "warehouse.created": "Warehouse created", "warehouse.updated": "Warehouse changed",
    # collections and dunning
    "collections.call": "Collection call logged",
    "collections.dispute_assigned": "Dispute assigned",
    "collections.dispute_opened": "Invoice disputed",
    "collections.dispute_resolved": "Dispute resolved",
    "collections.promise": "Promise to pay taken",
    "collections.promise_broken": "Promise to pay broken",
    "collections.promise_cancelled": "Promise to pay cancelled",
    "collections.promise_kept": "Promise to pay kept",
    "collections.promise_open": "Promise to pay open again",
    "collections.task_added": "Follow-up added", "collections.task_cancelled": "Follow-up cancelled",
    "collections.task_done": "Follow-up done",
    "dunning.letter_emailed": "Dunning letter e-mailed",
    "dunning.letter_removed": "Dunning letter taken out of the run",
    "dunning.letter_restored": "Dunning letter put back into the run",
    "dunning.letter_sent": "Dunning letter sent",
    "dunning.levels_changed": "Dunning levels changed",
    "dunning.run_cancelled": "Dunning run cancelled", "dunning.run_retried": "Dunning run retried",
    "dunning.run_sending": "Dunning run sending", "dunning.run_sent": "Dunning run sent",
    "dunning.run_started": "Dunning run started",
    # customers
    "customer.address_added": "Address added", "customer.address_deleted": "Address deleted",
    "customer.address_edited": "Address changed",
    "customer.buyer_deactivated": "Buyer deactivated",
    "customer.buyer_invitation_resent": "Buyer invitation sent again",
    "customer.buyer_invited": "Buyer invited",
    "customer.buyer_limits_changed": "Buyer limits changed",
    "customer.buyer_reactivated": "Buyer reactivated",
    "customer.buyer_role_changed": "Buyer role changed",
    "customer.created": "Customer created",
    "customer.credit_limit_changed": "Credit limit changed",
    "customer.credit_reviewed": "Credit reviewed",
    "customer.email_change_requested": "E-mail change asked for",
    "customer.email_changed": "E-mail address changed",
    "customer.email_confirmed": "E-mail address confirmed",
    "customer.interaction_logged": "Call logged",
    "customer.invitation_accepted": "Invitation accepted",
    "customer.note_added": "Note added",
    "customer.password_changed": "Password changed",
    "customer.password_reset": "Password reset",
    "customer.password_reset_requested": "Password reset asked for",
    "customer.profile_updated": "Profile changed",
    "customer.registered": "Registered in the shop",
    "customer.registration_repeated": "Tried to register again",
    "customer.signed_out_everywhere": "Signed out everywhere",
    "customer.updated": "Customer changed",
    "customer.vat_id_changed": "VAT ID changed",
    # billing
    "credit.refunded": "Customer credit refunded",
    "credit_note.given_back_to_gift_card": "Credit note given back to the gift card",
    "credit_note.issued": "Credit note issued",
    "credit_request.approved": "Credit note approved",
    "credit_request.rejected": "Credit note refused",
    "credit_request.requested": "Credit note asked for",
    "gift_card.disabled": "Gift card disabled", "gift_card.sold": "Gift card sold",
    "gift_card_request.approved": "Gift card sale approved",
    "gift_card_request.rejected": "Gift card sale refused",
    "gift_card_request.requested": "Gift card sale asked for",
    "invoice.card_payment_failed": "Card payment of invoice failed",
    "invoice.email_requested": "Invoice e-mail asked for",
    "invoice.emailed": "Invoice e-mailed", "invoice.issued": "Invoice issued",
    "invoice.paid_by_card": "Invoice paid by card",
    "invoice.paid_by_gift_card": "Invoice paid by gift card",
    "invoice.written_off": "Invoice written off",
    "payment.recorded": "Payment received", "payment.refund_failed": "Refund failed",
    "payment.refunded": "Payment refunded",
    "statement.emailed": "Statement e-mailed",
    # orders
    "order.approval_requested": "Sent for approval", "order.approved": "Order approved",
    "order.backorder_filled": "Backorder filled", "order.cancelled": "Order cancelled",
    "order.capture_refused": "Card capture refused", "order.completed": "Order completed",
    "order.confirmation_emailed": "Confirmation e-mailed",
    "order.confirmation_resent": "Confirmation sent again",
    "order.confirmed_on_account": "Confirmed on account",
    "order.delivery_moved": "Delivery date moved",
    "order.gift_card_applied": "Gift card applied", "order.gift_card_restored": "Gift card restored",
    "order.hold_placed": "Hold placed", "order.hold_refused": "Hold refused",
    "order.hold_released": "Hold released", "order.in_fulfilment": "Released to the warehouse",
    "order.lines_changed": "Lines changed", "order.note_added": "Note added",
    "order.paid_in_advance": "Paid in advance",
    "order.partially_shipped": "Partly shipped",
    "order.pay_link_sent": "Payment link sent",
    "order.payment_authorised": "Payment authorised",
    "order.payment_captured": "Payment captured",
    "order.payment_reauthorised": "Card authorised again",
    "order.payment_voided": "Card authorisation released",
    "order.placed": "Order placed", "order.placed_as_replacement": "Replacement order placed",
    "order.price_overridden": "Price changed by agreement",
    "order.promotion_uses_counted": "Promotion use counted",
    "order.promotion_uses_returned": "Promotion use given back",
    "order.reauthorisation_failed": "Card authorisation could not be renewed",
    "order.rejected": "Rejected by the approver", "order.released": "Released to the warehouse",
    "order.repriced": "Order repriced", "order.shipment_charged": "Shipment charged to the card",
    "order.shipment_delivered": "Shipment delivered", "order.shipped": "Order shipped",
    "order.void_failed": "Card authorisation release failed",
    "list.created": "Shopping list created", "list.deleted": "Shopping list deleted",
    # purchasing and stock
    "expected_arrival.added": "Expected arrival added",
    "expected_arrival.cancelled": "Expected arrival cancelled",
    "expected_arrival.received": "Expected arrival received",
    "expected_arrival.rescheduled": "Expected arrival moved",
    "purchase_order.cancellation_emailed": "Purchase order cancellation e-mailed",
    "purchase_order.cancelled": "Purchase order cancelled",
    "purchase_order.emailed": "Purchase order e-mailed",
    "purchase_order.partially_shipped": "Purchase order partly shipped",
    "purchase_order.resend_asked": "Purchase order to be sent again",
    "stock.bin_set": "Bin location set",
    "purchase_order.sent": "Purchase order sent",
    "purchase_order.shipped": "Purchase order shipped",
    # quotes
    "quote.accepted": "Quote accepted", "quote.accepted_again": "Quote accepted again",
    "quote.created": "Quote started", "quote.declined_by_agent": "Quote declined by agent",
    "quote.emailed": "Quote e-mailed", "quote.expired": "Quote expired",
    "quote.line_added": "Line added", "quote.line_removed": "Line removed",
    "quote.price_changed": "Price changed", "quote.price_reset": "Price reset",
    "quote.quantity_changed": "Quantity changed", "quote.rejected": "Quote declined",
    "quote.requested": "Quote asked for", "quote.sent": "Quote sent",
    "quote.terms_set": "Terms set",
    # returns
    "return.approved": "Return approved", "return.closed": "Return closed",
    "return.credited": "Return credited", "return.emailed": "Return e-mailed",
    "return.exchanged": "Return exchanged", "return.label_sent": "Return label sent",
    "return.partly_received": "Return partly received", "return.received": "Return received",
    "return.refunded": "Return refunded", "return.rejected": "Return rejected",
    "return.replacement_ordered": "Replacement ordered", "return.requested": "Return asked for",
}


def event_label(action: str) -> str:
    """'order.hold_placed' -> 'Hold placed'; an event without a label in plain words."""
    if action in EVENT_LABELS:
        return EVENT_LABELS[action]
    head, _, tail = action.partition(".")
    words = f"{head} {tail}".replace("_", " ").strip()
    return words.capitalize()
