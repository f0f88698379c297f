"""Two years of sales for the large data: about 1,000,000 order lines, their invoices, a few
per cent credit notes and the sales facts analytics reads (core.reporting).

Called by core.demo.large.load_large after the catalogue and the customers. Deterministic
(its own random.Random), bulk INSERTs in chunks with ids handed out here (PostgreSQL's
sequences are moved past them at the end), so no row is read back.

Choices worth knowing:

- Orders fall on every day of the last 730 (core.clock.today() back), more on weekdays and
  more as the shop grows; 1-5 lines each (about 3), products picked with a long tail (a few
  sell a lot), customers from the large set. Consumers buy on web-b2c, companies on web-b2b
  (net prices), and about a quarter of orders are taken by phone (callcenter,
  placed_by_kind "agent" with a demo agent's id). Every order is shipped and invoiced the
  day it was placed: order status "completed" (older than 30 days) or "shipped".
- Numbers: orders take the real "order" series and invoices the "invoice" series with ONE
  update each (like large.py's customers), in issue-date order, so there is no gap and the
  next real invoice gets the next number; credit notes likewise from "credit_note".
- Invoices are paid in full (status "paid", nothing open) and post NO journal entry and no
  payment: the ageing bench (bench/ageing.py) brings its own open invoices with their
  entries, and these settled documents leave receivables, the ledger and the ageing report
  exactly as they were (AR control still equals the open items).
- About 3 % of invoices get a credit note 1-20 days later for part of one goods line; a third
  of those keep a 10 % restocking fee (a "fee" line, as core.billing.invoicing does).
- Facts: one SalesFact per invoice / credit-note line, as core.reporting.facts.record would
  write it (cost = the variant's cost_price: the large data has no costed receipts), then
  core.reporting.facts.rebuild_days for the roll-up.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from core import clock
from core.agents.models import Agent
from core.billing.models import Invoice, InvoiceLine, InvoiceTax
from core.catalog.models import Product, Variant
from core.customers.models import Customer
from core.numbering import PREFIXES, take_numbers
from core.orders.models import Order, OrderLine
from core.pricing.models import PriceListEntry
from core.reporting.facts import rebuild_days
from core.reporting.models import SalesDay, SalesFact

ORDER_LINES = 1_000_000
DAYS = 730
SEED = 16
CHUNK = 5_000  # orders per round of INSERTs
KEY_PREFIX = "large-"  # Order.idempotency_key of every generated order
CREDIT_SHARE = 0.03
PHONE_SHARE = 0.25
SHIPPING_GROSS = Decimal("4.90")
FREE_SHIPPING_FROM = Decimal("50")
STANDARD_RATE = Decimal("0.19")
CENT = Decimal("0.01")
ZERO = Decimal(0)
REASONS = ["Damaged in transit", "Wrong item delivered", "Customer changed their mind",
           "Defective on arrival", "Ordered by mistake"]
ANALYZE = ("orders", "order_lines", "invoices", "invoice_lines", "invoice_taxes",
           "sales_facts", "sales_days", "variants")
SEQUENCED = ("orders", "order_lines", "invoices", "invoice_lines", "invoice_taxes",
             "sales_facts")


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def cost_price(gross: Decimal, rate: Decimal, n: int) -> Decimal:
    """A large variant's standard cost: 50-75 % of its net price, by its number n."""
    return _cents(gross / (1 + rate) * (50 + n % 26) / 100)


def present(session: Session) -> bool:
    """Whether the generated sales are already there (the first order's key is taken)."""
    return session.scalar(select(Order.id).where(Order.idempotency_key == f"{KEY_PREFIX}1")
                          ) is not None


def grow_sales(session: Session, order_lines: int = ORDER_LINES) -> str:
    """Generate about `order_lines` order lines with invoices, credit notes and facts.
    Flushes only; the caller commits. Returns a sentence for the seed command."""
    if present(session):
        return "sales already present"
    started = time.perf_counter()
    gen = _Generator(session, random.Random(SEED))
    plan = gen.plan_days(order_lines // 3)
    orders = sum(n for _, n in plan)
    gen.reserve(orders)
    for start in range(0, len(plan)):
        gen.day(*plan[start])
        if gen.pending >= CHUNK:
            gen.write()
    gen.write()
    gen.credit_notes()
    gen.move_sequences()
    rebuild_days(session)
    cells = session.scalar(select(func.count()).select_from(SalesDay))
    if session.get_bind().dialect.name == "postgresql":
        for table in ANALYZE:
            session.execute(text(f"ANALYZE {table}"))
    return (f"{orders:,} orders with {gen.counts['order_lines']:,} lines over {DAYS} days, "
            f"{orders:,} invoices, {gen.counts['credit_notes']:,} credit notes, "
            f"{gen.counts['facts']:,} sales facts, {cells:,} roll-up cells "
            f"in {time.perf_counter() - started:.1f} s")


class _Generator:
    """Builds rows in memory for a chunk of days and inserts them with explicit ids."""

    def __init__(self, session: Session, rng: random.Random):
        self.session, self.rng = session, rng
        self.today = clock.today()
        self.ids = {t: (session.scalar(text(f"SELECT max(id) FROM {t}")) or 0) for t in SEQUENCED}
        self.rows: dict[str, list[dict]] = {t: [] for t in SEQUENCED}
        self.counts = {"order_lines": 0, "credit_notes": 0, "facts": 0}
        self.to_credit: list[tuple] = []
        self.line_info: dict[int, tuple] = {}  # invoice line id -> what a credit note needs
        self._load_customers()
        self._load_variants()
        self.agents = list(session.scalars(select(Agent.id).where(Agent.roles_text.like("%agent%"))
                                           .order_by(Agent.id))) or [None]

    # -- reference data ------------------------------------------------------------------

    def _load_customers(self) -> None:
        rows = self.session.execute(
            select(Customer.id, Customer.email, Customer.price_group, Customer.payment_terms,
                   Customer.name)
            .where(Customer.number.is_not(None)).order_by(Customer.id)).all()
        self.people = [r for r in rows if r.price_group != "business"]
        self.companies = [r for r in rows if r.price_group == "business"]
        if not self.people or not self.companies:
            raise RuntimeError("large sales need consumers and companies (load customers first)")

    def _load_variants(self) -> None:
        """LG- variants with their base gross price, tax rate and cost (filled where missing)."""
        from core.demo.large import _Catalogue
        catalogue = _Catalogue.load(self.session)
        rows = self.session.execute(
            select(Variant.id, Variant.sku, Variant.cost_price, Product.id, Product.category_id,
                   Product.name, Product.tax_category_id, PriceListEntry.unit_price)
            .join(Product, Product.id == Variant.product_id)
            .join(PriceListEntry, (PriceListEntry.variant_id == Variant.id)
                  & (PriceListEntry.price_list_id == catalogue.base_list_id)
                  & (PriceListEntry.min_quantity == 1))
            .where(Variant.sku.like("LG-%"), Product.active).order_by(Variant.id)).all()
        if not rows:
            raise RuntimeError("large sales need the large catalogue")
        missing = []
        self.variants = []
        for vid, sku, cost, pid, cid, name, tax_id, gross in rows:
            rate = catalogue.tax_rates.get(tax_id, STANDARD_RATE)
            if cost is None:
                cost = cost_price(gross, rate, int(sku.rsplit("-", 1)[1]))
                missing.append({"id": vid, "cost_price": cost})
            self.variants.append((vid, sku, name, pid, cid, gross, rate, cost))
        for start in range(0, len(missing), CHUNK):
            self.session.execute(update(Variant), missing[start:start + CHUNK])
        # A long tail: shuffled once, then low indexes drawn far more often (see _variant).
        self.rng.shuffle(self.variants)

    def _variant(self):
        return self.variants[int(len(self.variants) * self.rng.random() ** 2.5)]

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # -- the plan and the numbers --------------------------------------------------------

    def plan_days(self, orders: int) -> list[tuple[dt.date, int]]:
        """(day, orders) for the last DAYS days: weekdays busier, growing over time."""
        days = [self.today - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
        weights = [(0.6 if d.weekday() >= 5 else 1.0) * (1 + i / DAYS) for i, d in enumerate(days)]
        total = sum(weights)
        plan = [(d, max(1, round(orders * w / total))) for d, w in zip(days, weights)]
        return plan

    def reserve(self, orders: int) -> None:
        self.order_no = self.first_order_no = take_numbers(self.session, "order", orders)
        self.invoice_no = take_numbers(self.session, "invoice", orders)

    @property
    def pending(self) -> int:
        return len(self.rows["orders"])

    # -- one day of orders ---------------------------------------------------------------

    def day(self, day: dt.date, orders: int) -> None:
        for _ in range(orders):
            self._order(day)

    def _order(self, day: dt.date) -> None:
        rng = self.rng
        business = rng.random() < 0.35
        customer = rng.choice(self.companies if business else self.people)
        by_phone = rng.random() < PHONE_SHARE
        channel = "callcenter" if by_phone else ("web-b2b" if business else "web-b2c")
        include_tax = channel != "web-b2b"
        on_account = business and customer.payment_terms.startswith("net")
        placed = dt.datetime.combine(day, dt.time(7), tzinfo=dt.timezone.utc) + dt.timedelta(
            seconds=rng.randrange(13 * 3600))
        oid, iid = self._next("orders"), self._next("invoices")
        lines, inv_lines, facts = [], [], []
        agent = rng.choice(self.agents) if by_phone else None
        group = customer.price_group or ""
        seen = set()
        for _ in range(rng.randint(1, 5)):
            vid, sku, name, pid, cid, gross_price, rate, cost = self._variant()
            if vid in seen:
                continue
            seen.add(vid)
            qty = 1 + int(rng.random() ** 3 * 10)
            unit = gross_price if include_tax else _cents(gross_price / (1 + rate) * Decimal("0.95"))
            amount = unit * qty
            if include_tax:
                gross = amount
                tax = _cents(gross * rate / (1 + rate))
                net = gross - tax
            else:
                net = amount
                tax = _cents(net * rate)
                gross = net + tax
            olid, ilid = self._next("order_lines"), self._next("invoice_lines")
            lines.append(dict(id=olid, order_id=oid, variant_id=vid, sku=sku, name=name,
                              quantity=qty, unit_price=unit, amount=amount, discount=ZERO,
                              net=net, tax=tax, gross=gross, tax_rate=rate, price_source="list",
                              quantity_shipped=qty, quantity_invoiced=qty, warehouse="MAIN"))
            inv_lines.append(dict(id=ilid, invoice_id=iid, kind="goods", order_line_id=olid,
                                  sku=sku, description=name, quantity=qty, unit_price=unit,
                                  discount=ZERO, net=net, tax_rate=rate, tax=tax, gross=gross))
            facts.append(dict(invoice_line_id=ilid, line_kind="goods", product_id=pid,
                              variant_id=vid, category_id=cid, sku=sku, quantity=qty,
                              revenue=net, cost=qty * cost, unit_cost=cost))
            self.line_info[ilid] = (qty, unit, net, tax, gross, rate, olid, sku, name, pid, vid,
                                    cid, cost)
        goods_gross = sum((l["gross"] for l in lines), ZERO)
        ship_gross = SHIPPING_GROSS if goods_gross < FREE_SHIPPING_FROM else ZERO
        ship_tax = _cents(ship_gross * STANDARD_RATE / (1 + STANDARD_RATE))
        if ship_gross:
            ilid = self._next("invoice_lines")
            inv_lines.append(dict(id=ilid, invoice_id=iid, kind="shipping", order_line_id=None,
                                  sku="", description="Shipping (standard)", quantity=1,
                                  unit_price=ship_gross if include_tax else ship_gross - ship_tax,
                                  discount=ZERO, net=ship_gross - ship_tax,
                                  tax_rate=STANDARD_RATE, tax=ship_tax, gross=ship_gross))
            facts.append(dict(invoice_line_id=ilid, line_kind="shipping", product_id=None,
                              variant_id=None, category_id=None, sku="", quantity=0,
                              revenue=ship_gross - ship_tax, cost=ZERO, unit_cost=None))
        net_total = sum((l["net"] for l in inv_lines), ZERO)
        tax_total = sum((l["tax"] for l in inv_lines), ZERO)
        gross_total = net_total + tax_total
        number = f"{PREFIXES['order']}{self.order_no:06d}"
        self.order_no += 1
        first_no = self.first_order_no
        status = "completed" if (self.today - day).days > 30 else "shipped"
        self.rows["orders"].append(dict(
            id=oid, number=number, idempotency_key=f"{KEY_PREFIX}{self.order_no - first_no}",
            customer_id=customer.id, email=customer.email, channel_code=channel,
            placed_by_kind="agent" if by_phone else "customer", placed_by_id=agent,
            currency="EUR", prices_include_tax=include_tax, status=status,
            payment_state="on_account" if on_account else "captured",
            payment_method="on_account" if on_account else "card",
            shipping_method="standard" if ship_gross else "", shipping_amount=ship_gross,
            shipping_tax=ship_tax,
            subtotal=sum((l["amount"] for l in lines), ZERO), discount_total=ZERO,
            net_total=net_total, tax_total=tax_total, gross_total=gross_total,
            placed_at=placed, released_at=placed))
        self.rows["order_lines"] += lines
        inv_number = f"{PREFIXES['invoice']}{self.invoice_no:06d}"
        self.invoice_no += 1
        terms = "net30" if on_account else "card"
        self.rows["invoices"].append(dict(
            id=iid, kind="invoice", number=inv_number, customer_id=customer.id, order_id=oid,
            email=customer.email, bill_to={"name": customer.name}, currency="EUR",
            prices_include_tax=include_tax, payment_method="on_account" if on_account else "card",
            terms=terms, issue_date=day,
            due_date=day + dt.timedelta(days=30 if on_account else 0),
            net_total=net_total, tax_total=tax_total, gross_total=gross_total,
            amount_open=ZERO, status="paid", memo=f"Order {number}", issued_by="large data",
            issued_at=placed))
        self.rows["invoice_lines"] += inv_lines
        self._taxes(iid, inv_lines)
        seen: set = set()  # one invoice per order here: a category's first line is its first
        for i, f in enumerate(facts):
            new_category = f.get("category_id") is not None and f["category_id"] not in seen
            seen.add(f.get("category_id"))
            self._fact(f, iid, "invoice", day, channel, customer.id, group, agent, oid, i == 0,
                       new_category)
        self.counts["order_lines"] += len(lines)
        if self.rng.random() < CREDIT_SHARE:
            credit_day = min(day + dt.timedelta(days=self.rng.randint(1, 20)), self.today)
            goods = [l for l in inv_lines if l["kind"] == "goods"]
            self.to_credit.append((credit_day, iid, customer, channel, group, agent, oid,
                                   include_tax, self.rng.choice(goods)["id"],
                                   self.rng.random() < 1 / 3, self.rng.choice(REASONS)))

    def _taxes(self, iid: int, lines: list[dict]) -> None:
        by_rate: dict[Decimal, list[Decimal]] = {}
        for l in lines:
            s = by_rate.setdefault(l["tax_rate"], [ZERO, ZERO])
            s[0] += l["net"]
            s[1] += l["tax"]
        for rate, (net, tax) in sorted(by_rate.items()):
            self.rows["invoice_taxes"].append(dict(id=self._next("invoice_taxes"), invoice_id=iid,
                                                   rate=rate, net=net, tax=tax))

    def _fact(self, f: dict, iid: int, document: str, day: dt.date, channel: str,
              customer_id: int, group: str, agent: int | None, oid: int, first: bool,
              first_in_category: bool = False) -> None:
        self.rows["sales_facts"].append(dict(
            f, id=self._next("sales_facts"), invoice_id=iid, document=document, day=day,
            currency="EUR", channel_code=channel, customer_id=customer_id,
            customer_group=group, agent_id=agent, order_id=oid, first_of_order=first,
            first_in_category=first_in_category))
        self.counts["facts"] += 1

    # -- writing ---------------------------------------------------------------------------

    def write(self) -> None:
        """Insert what the chunk built, parents first, then forget it."""
        models = {"orders": Order, "order_lines": OrderLine, "invoices": Invoice,
                  "invoice_lines": InvoiceLine, "invoice_taxes": InvoiceTax,
                  "sales_facts": SalesFact}
        for table in SEQUENCED:
            rows = self.rows[table]
            for start in range(0, len(rows), CHUNK):
                self.session.execute(insert(models[table]), rows[start:start + CHUNK])
            self.rows[table] = []

    def credit_notes(self) -> None:
        """The credit notes, numbered in issue-date order after every invoice exists."""
        notes = sorted(self.to_credit, key=lambda c: (c[0], c[1]))
        first = take_numbers(self.session, "credit_note", len(notes))
        for n, (day, iid, customer, channel, group, agent, oid, include_tax, line_id, fee,
                reason) in enumerate(notes):
            qty, unit, net, tax, gross, rate, olid, sku, name, pid, vid, cid, cost = \
                self.line_info[line_id]
            back = self.rng.randint(1, qty)
            if back == qty:
                c_net, c_tax, c_gross = net, tax, gross
            elif include_tax:
                c_gross = _cents(gross * back / qty)
                c_tax = _cents(c_gross * rate / (1 + rate))
                c_net = c_gross - c_tax
            else:
                c_net = _cents(net * back / qty)
                c_tax = _cents(c_net * rate)
                c_gross = c_net + c_tax
            cnid = self._next("invoices")
            lid = self._next("invoice_lines")
            lines = [dict(id=lid, invoice_id=cnid, kind="goods", order_line_id=olid,
                          credited_line_id=line_id, sku=sku, description=name, quantity=back,
                          unit_price=unit, discount=ZERO, net=c_net, tax_rate=rate, tax=c_tax,
                          gross=c_gross)]
            self._fact(dict(invoice_line_id=lid, line_kind="goods", product_id=pid,
                            variant_id=vid, category_id=cid, sku=sku, quantity=-back,
                            revenue=-c_net, cost=-back * cost, unit_cost=cost),
                       cnid, "credit_note", day, channel, customer.id, group, agent, oid, False)
            if fee:
                f_net, f_tax = _cents(c_net / 10), _cents(c_tax / 10)
                fid = self._next("invoice_lines")
                lines.append(dict(id=fid, invoice_id=cnid, kind="fee", order_line_id=olid,
                                  credited_line_id=None, sku=sku,
                                  description=f"Restocking fee 10 %: {name}", quantity=1,
                                  unit_price=-f_net, discount=ZERO, net=-f_net, tax_rate=rate,
                                  tax=-f_tax, gross=-(f_net + f_tax)))
                self._fact(dict(invoice_line_id=fid, line_kind="fee", product_id=pid,
                                variant_id=vid, category_id=cid, sku=sku, quantity=0,
                                revenue=f_net, cost=ZERO, unit_cost=None),
                           cnid, "credit_note", day, channel, customer.id, group, agent, oid,
                           False)
            net_total = sum((l["net"] for l in lines), ZERO)
            tax_total = sum((l["tax"] for l in lines), ZERO)
            self.rows["invoices"].append(dict(
                id=cnid, kind="credit_note", number=f"{PREFIXES['credit_note']}{first + n:06d}",
                customer_id=customer.id, order_id=oid, credited_invoice_id=iid,
                email=customer.email, bill_to={"name": customer.name}, currency="EUR",
                prices_include_tax=include_tax, payment_method="card", terms="card",
                issue_date=day, due_date=day, net_total=net_total, tax_total=tax_total,
                gross_total=net_total + tax_total, amount_open=ZERO, status="paid",
                reason=reason, issued_by="large data",
                issued_at=dt.datetime.combine(day, dt.time(15), tzinfo=dt.timezone.utc)))
            self.rows["invoice_lines"] += lines
            self._taxes(cnid, lines)
            self.counts["credit_notes"] += 1
            if len(self.rows["invoices"]) >= CHUNK:
                self.write()
        self.write()

    def move_sequences(self) -> None:
        """PostgreSQL: the next id the app takes comes after the ones given here."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for table in SEQUENCED:
            self.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"))



