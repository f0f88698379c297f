"""The shop's catalogue: browse, search and product pages in a channel, at the viewer's
prices and with what is in stock. A read model over catalog, pricing and inventory, so it
sits above all three. Each page runs a fixed number of queries whatever it shows."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, exists, false, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, joinedload, selectinload

from core import cache
from core.catalog import search as fulltext
from core.catalog.assortment import sellable
from core.catalog.models import Category, Product, ProductRelation, Variant, VariantAttribute
from core.errors import DomainError, NotFound
from core.inventory import services as inventory
from core.inventory.models import StockLevel
from core.money import Money
from core.paging import Page
from core.parsing import parse_decimal
from core.pricing import services as pricing
from core.pricing.engine import PricedLine, PricingContext
from core.pricing.models import PriceListEntry

SORTS = {"relevance": "Best match", "name": "Name", "price_asc": "Price: low to high",
         "price_desc": "Price: high to low", "newest": "Newest"}
# What one public listing request may cost: each attribute filter is a subquery, and a deep
# page is an OFFSET the database walks through. Past a cap the answer says so (ListingTooBroad).
MAX_ATTRIBUTE_FILTERS = 6
MAX_VALUES_PER_ATTRIBUTE = 20
MAX_PAGE = 100


class ListingTooBroad(DomainError):
    """A listing asked for more than one request may cost."""

    code = "listing_too_broad"


@dataclass(frozen=True)
class Filters:
    """What a shopper narrowed a listing to."""

    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    sort: str = "name"

    @classmethod
    def parse(cls, args, *, default_sort: str = "name") -> "Filters":
        """From query arguments: attr.<Name>=value (repeatable), min, max, in_stock, sort.
        Raises ListingTooBroad past MAX_ATTRIBUTE_FILTERS attributes."""
        attributes = {k[5:]: tuple(v for v in args.getlist(k) if v)[:MAX_VALUES_PER_ATTRIBUTE]
                      for k in args if k.startswith("attr.") and len(k) < 70}
        attributes = {k: v for k, v in attributes.items() if v}
        if len(attributes) > MAX_ATTRIBUTE_FILTERS:
            raise ListingTooBroad(f"Filter by at most {MAX_ATTRIBUTE_FILTERS} properties at a "
                                  "time; remove some of the filters and try again.")
        sort = args.get("sort", default_sort)
        return cls(attributes=attributes,
                   min_price=_decimal(args.get("min")), max_price=_decimal(args.get("max")),
                   in_stock=args.get("in_stock") in ("1", "on", "true"),
                   sort=sort if sort in SORTS else default_sort)


def _decimal(raw: str | None) -> Decimal | None:
    value = parse_decimal(raw)  # bounded: min=1e30 no longer reaches the Amount column
    return value if value is not None and value >= 0 else None


@dataclass(frozen=True)
class ProductCard:
    id: int
    slug: str
    name: str
    brand: str
    image: str
    from_price: Money | None
    regular_price: Money | None  # before a promotion, when one lowers the price
    available: int
    buyable: bool = True  # in stock, or orderable beyond it (backorders, drop shipment)
    variant_id: int | None = None  # the only active variant: the card can add it to the cart
    contract: bool = False  # the price shown is the buyer's contract price
    list_price: Money | None = None  # the price without the contract, when that is higher


@dataclass(frozen=True)
class Facets:
    attributes: dict[str, list[tuple[str, int]]]
    price_min: Decimal | None
    price_max: Decimal | None
    in_stock: int


@dataclass(frozen=True)
class Listing(Page[ProductCard]):
    """A page of product cards, with the facets of everything the listing holds."""

    facets: Facets | None = None


@dataclass(frozen=True)
class NavCategory:
    slug: str
    name: str
    description: str


def top_categories(session: Session) -> list[NavCategory]:
    """The top of the category tree, for every page's navigation (cached briefly)."""
    return cache.reference.get_or_make(("nav",), lambda: [
        NavCategory(c.slug, c.name, c.description) for c in session.scalars(
            select(Category).where(Category.parent_id.is_(None), Category.active)
            .order_by(Category.position, Category.name))])


def category_by_slug(session: Session, slug: str) -> Category:
    category = session.scalar(select(Category).where(Category.slug == slug, Category.active))
    if category is None:
        raise NotFound("We could not find that category.")
    return category


def _list_price(ctx: PricingContext):
    """Per product: the lowest single-unit price of its variants in the channel's default list."""
    return (select(func.min(PriceListEntry.unit_price))
            .join(Variant, Variant.id == PriceListEntry.variant_id)
            .where(Variant.product_id == Product.id, Variant.active,
                   PriceListEntry.price_list_id == ctx.channel.default_price_list_id,
                   PriceListEntry.min_quantity == 1)
            .correlate(Product).scalar_subquery())


def channel_warehouses(session: Session, ctx: PricingContext) -> list[str]:
    """The warehouses whose stock the channel sells (inventory.warehouses_for), cached as
    reference data: one query, or none."""
    code = ctx.channel.code
    return cache.reference.get_or_make(("warehouses", code),
                                       lambda: inventory.warehouses_for(session, code))


def _in_stock(warehouses: list[str]):
    """Buyable now: some free stock in the channel's `warehouses`, or a product that allows
    backorders or that its supplier ships (both promised a date, so the shopper can order
    them)."""
    return or_(Product.backorderable,
               and_(Product.drop_ship, Product.supplier_id.is_not(None)),
               exists(select(StockLevel.id).join(Variant, Variant.id == StockLevel.variant_id)
                      .where(Variant.product_id == Product.id, Variant.active,
                             StockLevel.warehouse.in_(warehouses),
                             StockLevel.on_hand > StockLevel.reserved)))


def _orderable_beyond_stock(row) -> bool:
    return bool(row.backorderable) or (bool(row.drop_ship) and row.supplier_id is not None)


def _has_attribute(name: str, values: tuple[str, ...]):
    return exists(select(VariantAttribute.id).join(Variant, Variant.id == VariantAttribute.variant_id)
                  .where(Variant.product_id == Product.id, Variant.active,
                         VariantAttribute.name == name, VariantAttribute.value.in_(values)))


def _known_attributes(session: Session, names) -> set[str]:
    """Which of these attribute names some variant has (one indexed query)."""
    if not names:
        return set()
    return set(session.scalars(select(VariantAttribute.name).distinct()
                               .where(VariantAttribute.name.in_(list(names)))))


def browse(session: Session, ctx: PricingContext, channel_id: int, *,
           category: Category | None = None, query: str | None = None,
           filters: Filters = Filters(), page: int = 1, per_page: int = 24,
           facets: bool = True) -> Listing:
    """A page of products sellable in the channel, narrowed and sorted; with its total and
    facets unless `facets=False` (a teaser list such as the home page's needs neither).
    Raises ListingTooBroad past MAX_PAGE or MAX_ATTRIBUTE_FILTERS."""
    if page > MAX_PAGE:
        raise ListingTooBroad(f"Only the first {MAX_PAGE} pages can be shown; narrow the "
                              "search or add a filter to see the rest.")
    if len(filters.attributes) > MAX_ATTRIBUTE_FILTERS:
        raise ListingTooBroad(f"Filter by at most {MAX_ATTRIBUTE_FILTERS} properties at a time.")
    base = [sellable(session, channel_id)]
    warehouses = channel_warehouses(session, ctx)
    if category is not None:
        base.append(Product.category_id.in_(
            select(Category.id).where(Category.path.like(f"{category.path}%"), Category.active)))
    matched = fulltext.matches(session, query) if query is not None else None
    if query is not None and matched is None:
        return Listing([], page, per_page, 0, Facets({}, None, None, 0))
    price = _list_price(ctx)
    narrowed = list(base)
    if filters.min_price is not None:
        narrowed.append(price >= filters.min_price)
    if filters.max_price is not None:
        narrowed.append(price <= filters.max_price)
    if filters.in_stock:
        narrowed.append(_in_stock(warehouses))
    known = _known_attributes(session, filters.attributes)
    for name, values in filters.attributes.items():
        # A property no product has matches nothing: no subquery to find that out.
        narrowed.append(_has_attribute(name, values) if name in known else false())

    def scoped(stmt, found=matched):
        return stmt.join(found, found.c.product_id == Product.id) if found is not None else stmt

    offset = (page - 1) * per_page
    if query is not None and filters.sort == "relevance":
        rows = _best_matches(session, query, narrowed, offset, per_page)
    else:
        order = {"name": [Product.name], "price_asc": [price.asc(), Product.name],
                 "price_desc": [price.desc(), Product.name],
                 "newest": [Product.created_at.desc()], "relevance": [Product.name]}[filters.sort]
        rows = session.execute(
            scoped(select(*_CARD_COLUMNS)).where(*narrowed).order_by(*order, Product.id)
            .limit(per_page).offset(offset)).all()
    items = _cards(session, ctx, rows, warehouses)
    if not facets:
        return Listing(items, page, per_page, len(items), None)

    def summary():
        total = session.scalar(scoped(select(func.count()).select_from(Product)).where(*narrowed))
        return total or 0, _facets(session, ctx, scoped, base, warehouses)

    key = (channel_id, ctx.channel.default_price_list_id, category.id if category else None,
           tuple(fulltext.words(query)) if query is not None else None, filters.min_price,
           filters.max_price, filters.in_stock, tuple(sorted(filters.attributes.items())))
    total, found = cache.listings.get_or_make(key, summary)
    return Listing(items, page, per_page, total, found)


# What a card needs of its product (the listing's rows).
_CARD_COLUMNS = (Product.id, Product.slug, Product.name, Product.brand, Product.image,
                 Product.backorderable, Product.drop_ship, Product.supplier_id)


def _best_matches(session: Session, query: str, narrowed: list, offset: int, per_page: int):
    """A page of a search by best match (core.catalog.search.tiers): the title tier, then the
    rest, each by name; one statement. The title tier is read up to the end of the page, by
    the name index; the other tier is read only for what the title tier leaves of the page
    (its LIMIT is then 0, and the database does not run it)."""
    title, other = fulltext.tiers(session, query)
    want = offset + per_page

    def tier(found, rank: int, limit):
        return (select(*_CARD_COLUMNS, literal(rank).label("tier"))
                .join(found, found.c.product_id == Product.id).where(*narrowed)
                .order_by(found.c.name, found.c.product_id).limit(limit))

    first = tier(title, 0, want).cte("title_tier").prefix_with("MATERIALIZED",
                                                                dialect="postgresql")
    left = literal(want) - select(func.count()).select_from(first).scalar_subquery()
    rest = tier(other, 1, left).cte("other_tier")
    return session.execute(union_all(select(first), select(rest))
                           .order_by("tier", "name", "id").limit(per_page).offset(offset)).all()


def _facets(session: Session, ctx: PricingContext, scoped, base,
            warehouses: list[str]) -> Facets:
    attribute_rows = session.execute(
        scoped(select(VariantAttribute.name, VariantAttribute.value,
                      func.count(func.distinct(Product.id)))
               .select_from(Product)
               .join(Variant, and_(Variant.product_id == Product.id, Variant.active))
               .join(VariantAttribute, VariantAttribute.variant_id == Variant.id))
        .where(*base).group_by(VariantAttribute.name, VariantAttribute.value)
        .order_by(VariantAttribute.name, VariantAttribute.value)).all()
    attributes: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, value, count in attribute_rows:
        attributes[name].append((value, count))
    # The price range in one pass over the channel's list prices (not a subquery per product).
    low, high = session.execute(
        scoped(select(func.min(PriceListEntry.unit_price), func.max(PriceListEntry.unit_price))
               .select_from(Product)
               .join(Variant, and_(Variant.product_id == Product.id, Variant.active))
               .join(PriceListEntry, and_(
                   PriceListEntry.variant_id == Variant.id, PriceListEntry.min_quantity == 1,
                   PriceListEntry.price_list_id == ctx.channel.default_price_list_id)))
        .where(*base)).one()
    in_stock = session.scalar(scoped(select(func.count()).select_from(Product))
                              .where(*base, _in_stock(warehouses)))
    return Facets(dict(attributes), low, high, in_stock or 0)


def _cards(session: Session, ctx: PricingContext, rows,
           warehouses: list[str]) -> list[ProductCard]:
    """Cards with the viewer's lowest variant price and the free stock in the channel's
    `warehouses`: two queries (the variants with their stock, their prices)."""
    variants = _card_variants(session, rows, warehouses)
    priced = pricing.price_items(session, ctx, [(vid, 1) for vid, _, _ in variants])
    return _make_cards(rows, variants, priced)


def _card_variants(session: Session, rows, warehouses: list[str]) -> list[tuple[int, int, int]]:
    """(variant id, product id, free units) of the active variants of the rows' products."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    return [(vid, pid, int(free)) for vid, pid, free in session.execute(
        select(Variant.id, Variant.product_id,
               func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .outerjoin(StockLevel, and_(StockLevel.variant_id == Variant.id,
                                    StockLevel.warehouse.in_(warehouses)))
        .where(Variant.product_id.in_(ids), Variant.active)
        .group_by(Variant.id, Variant.product_id))]


def _make_cards(rows, variants: list[tuple[int, int, int]],
                priced: dict[int, PricedLine]) -> list[ProductCard]:
    by_product: dict[int, list[tuple[PricedLine | None, int]]] = defaultdict(list)
    variant_ids: dict[int, list[int]] = defaultdict(list)
    for vid, pid, available in variants:
        by_product[pid].append((priced.get(vid), available))
        variant_ids[pid].append(vid)
    singles = {pid: vids[0] for pid, vids in variant_ids.items() if len(vids) == 1}
    cards = []
    for r in rows:
        offers = by_product.get(r.id, [])
        lines = [line for line, _ in offers if line is not None]
        best = min(lines, key=lambda l: l.total, default=None)
        regular = None
        if best is not None and best.discount:
            regular = Money(best.amount, best.currency)
        available = sum(a for _, a in offers)
        contract = best is not None and best.trace.contract
        before = best.trace.list_unit_before_contract if contract else None
        cards.append(ProductCard(r.id, r.slug, r.name, r.brand, r.image,
                                 Money(best.total, best.currency) if best else None, regular,
                                 available, available > 0 or _orderable_beyond_stock(r),
                                 variant_id=singles.get(r.id), contract=contract,
                                 list_price=Money(before, best.currency) if before else None))
    return cards


@dataclass(frozen=True)
class ProductView:
    product: Product
    available: dict[int, int]
    related: dict[str, list[ProductCard]]
    promises: dict[int, inventory.Promise] = field(default_factory=dict)  # by variant id
    variants: list[Variant] = field(default_factory=list)  # the active ones
    chosen: Variant | None = None
    offer: PricedLine | None = None  # the chosen variant's price for the quantity
    breaks: list[tuple[int, Decimal]] = field(default_factory=list)
    problem: str | None = None  # why the chosen variant cannot be priced


def product_page(session: Session, ctx: PricingContext, channel_id: int, slug: str, *,
                 quantity: int = 1, variant_id: int | None = None) -> ProductView:
    """A sellable product with variants, attributes, pictures, stock, each variant's promise
    for `quantity` units (when it ships: from stock, an expected arrival, the supplier's lead
    time), related products, and the price of `quantity` of the chosen variant (`variant_id`
    when it is one of the product's active variants, else the first). Seven queries: the
    product with its category and pictures, its variants with their attributes, the related
    products, their variants' stock, the page's variants with their stock, open arrivals,
    and the prices of every variant shown."""
    in_channel = sellable(session, channel_id)
    product = session.scalars(
        select(Product).where(Product.slug == slug, in_channel)
        .options(joinedload(Product.category), joinedload(Product.images),
                 selectinload(Product.variants).joinedload(Variant.attribute_values))
    ).unique().first()
    if product is None:
        raise NotFound("We could not find that product.")
    ids = [v.id for v in product.variants]
    variants = [v for v in product.variants if v.active]
    chosen = next((v for v in variants if v.id == variant_id), variants[0] if variants else None)
    warehouses = channel_warehouses(session, ctx)
    relations = session.execute(
        select(ProductRelation.kind, *_CARD_COLUMNS)
        .join(Product, Product.id == ProductRelation.related_id)
        .where(ProductRelation.product_id == product.id, in_channel)
        .order_by(ProductRelation.kind, ProductRelation.position)).all()
    card_variants = _card_variants(session, relations, warehouses)
    promises, available = inventory.availability(session, [(vid, quantity) for vid in ids],
                                                 today=ctx.day, warehouses=warehouses)
    # One pricing pass for the related cards (one unit each) and the chosen quantity.
    shown = [vid for vid, _, _ in card_variants]
    offer, breaks, problem = None, [], None
    try:
        facts = pricing.load_facts(session, ctx, shown + ([chosen.id] if chosen else []))
    except DomainError as err:  # the chosen variant cannot be priced here (no tax rate)
        facts, problem = pricing.load_facts(session, ctx, shown), str(err)
    promotions = pricing.item_promotions(session, ctx)
    priced = pricing.price_loaded(ctx, facts, [(vid, 1) for vid, _, _ in card_variants],
                                  promotions)
    cards = {c.id: c for c in _make_cards(relations, card_variants, priced)}
    related: dict[str, list[ProductCard]] = defaultdict(list)
    for row in relations:
        related[row.kind].append(cards[row.id])
    if chosen is not None and problem is None:
        try:
            offer, breaks = pricing.offer_loaded(ctx, facts, chosen.id, quantity, promotions)
        except DomainError as err:
            problem = str(err)
    return ProductView(product, {vid: available.get(vid, 0) for vid in ids}, dict(related),
                       promises, variants, chosen, offer, breaks, problem)


def find_variant_by_sku(session: Session, channel_id: int, sku: str) -> Variant | None:
    """The active variant with this SKU, if the channel sells it."""
    return session.scalar(select(Variant).join(Product, Product.id == Variant.product_id)
                          .where(func.upper(Variant.sku) == sku.strip().upper(), Variant.active,
                                 sellable(session, channel_id)))
