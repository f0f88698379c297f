"""Benchmark volumes: 100,000 products and 200,000 customers, generated in bulk.

    flask --app wsgi seed --scale large

Deterministic (random.Random(42)), on SQLite or PostgreSQL, through the ORM's bulk INSERT
(`session.execute(insert(Model), rows)`) in chunks of 5,000 rows. Flushes only; the caller
commits. Safe to run twice: when the catalogue already holds more than 50,000 products it
loads nothing and returns a line saying so (the seed command prints it).

Choices worth knowing:

- The large catalogue lives inside the demo shop: on an empty database the demo is loaded
  first, because prices, tax categories and channels come from it (a product without an
  entry in the channel's price list shows no price). Products are spread over the top
  categories; each has one Variant (EAN-13 barcode in the in-store 20-29 range, weight,
  one or two VariantAttribute rows for the facets), one StockLevel (warehouse MAIN) and
  prices like the demo's: the base list (gross, with 10/50-unit breaks under 100 EUR in
  the demo's break categories) and every channel list (net of the German VAT rate, -5 %).
  About 2 % of products are inactive, about 8 % out of stock. The product_search index is
  rebuilt at the end (core.catalog.search.reindex).
- Slugs end in ``-l<n>`` and SKUs start with ``LG-``, so neither can meet a demo slug/SKU.
- Customer numbers are taken from the real ``customer`` number series with ONE update
  (``next_value = next_value + 200000``), so they look exactly like the numbers the app
  hands out (``C-000003`` ... ``C-200002``: the series' own 6-digit format, not a separate
  7-digit range) and the next customer who registers gets the next free number.
- Every e-mail domain ends in ``.example`` (RFC 2606): the data looks real but no mail can
  ever reach anyone. ``phone_digits`` comes from core.customers.services.phone_digits.
- No CustomerUser rows (they would need a password hash each).
- Two years of sales (about 1,000,000 order lines, invoices, credit notes, sales facts and
  their daily roll-up) come from core.demo.large_sales; variants get a standard cost_price
  of 50-75 % of their net price, so margins are real.
- On PostgreSQL the touched tables are ANALYZEd before returning (autovacuum may be off).
"""
from __future__ import annotations

import datetime as dt
import random
import time
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from core import clock, demo
from core.catalog import search
from core.catalog.models import Category, Product, Variant, VariantAttribute
from core.catalog.products import slugify
from core.demo import large_sales
from core.customers.models import Customer
from core.customers.services import phone_digits
from core.inventory.models import StockLevel, StockMovement
from core.numbering import PREFIXES, take_numbers
from core.pricing.models import PriceList, PriceListEntry, TaxCategory, TaxRate

PRODUCTS = 100_000
CUSTOMERS = 200_000
CHUNK = 5_000
PRESENT_THRESHOLD = 50_000
SEED = 42
COMPANY_SHARE = 0.15
CREATED_UNTIL = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
CREATED_SPAN_DAYS = 6 * 365
CENT = Decimal("0.01")
TAX_COUNTRY = "DE"  # channel lists hold net prices: gross / (1 + this country's rate)
ANALYZE = ("categories", "products", "variants", "variant_attributes", "stock_levels",
           "price_list_entries", "product_search", "customers")

# Per category slug: brands, product nouns, qualifiers, pack/size specs, price range in cents.
VOCABULARY: dict[str, tuple[list[str], list[str], list[str], list[str], tuple[int, int]]] = {
    "paper": (
        ["Navigator", "Steinbeis", "Leuchtturm", "Oxford", "Post-it", "Avery", "Clairefontaine",
         "Rhodia", "Mayer-Kuvert", "Herlitz"],
        ["Copy Paper A4", "Copy Paper A3", "Notebook A5", "Notebook A4", "Spiral Pad",
         "Sticky Notes", "Index Cards", "Envelopes C4", "Envelopes DL", "Address Labels",
         "Legal Pad", "Photo Paper", "Presentation Folder", "Kraft Paper Roll", "Graph Pad"],
        ["Everyday", "Premium", "Recycled", "Bright White", "Heavyweight", "Eco", "Classic",
         "Professional", "Smooth", "Matte", "Glossy"],
        ["80 g", "100 g", "pack of 5", "pack of 10", "500 sheets", "box of 250", "ruled",
         "squared", "dotted", "blank"],
        (199, 4999)),
    "writing": (
        ["Parker", "Pilot", "Stabilo", "Edding", "Lamy", "Pentel", "Staedtler", "Faber-Castell",
         "Uni-ball", "Schneider"],
        ["Ballpoint Pen", "Gel Pen", "Rollerball", "Highlighter", "Whiteboard Marker",
         "Permanent Marker", "Fountain Pen", "Mechanical Pencil", "Fineliner", "Graphite Pencil",
         "Correction Roller", "Brush Pen"],
        ["Classic", "Soft Grip", "Retractable", "Quick-Dry", "Refillable", "Slim", "Eco",
         "Pastel", "Neon", "Executive"],
        ["blue", "black", "red", "assorted", "set of 4", "box of 10", "box of 12", "0.5 mm",
         "0.7 mm", "medium"],
        (99, 6999)),
    "printers": (
        ["Brother", "HP", "Epson", "Canon", "Kyocera", "Lexmark", "Xerox", "OKI", "Ricoh"],
        ["Laser Printer", "Inkjet Printer", "Multifunction Printer", "Toner Cartridge",
         "Ink Cartridge", "Ink Bottle Set", "Drum Unit", "Label Printer", "Document Scanner",
         "Photo Printer", "Maintenance Kit"],
        ["Mono", "Colour", "Compact", "Wireless", "Duplex", "High Yield", "Standard Yield",
         "Office", "Business", "Home"],
        ["black", "cyan", "magenta", "yellow", "set of 4", "A4", "A3", "30 ppm", "40 ppm"],
        (1999, 89900)),
    "desk": (
        ["Leitz", "Rapid", "Durable", "Fellowes", "GBC", "Casio", "Bisley", "Esselte", "Exacompta",
         "Novus"],
        ["Lever Arch File", "Ring Binder", "Stapler", "Hole Punch", "Desk Organiser",
         "Monitor Stand", "Paper Shredder", "Laminator", "Desk Lamp", "Calculator",
         "Letter Tray", "Filing Box", "Tape Dispenser", "Drawer Unit"],
        ["Classic", "Heavy-Duty", "Compact", "Ergonomic", "Metal", "Recycled", "Premium",
         "Mesh", "Soft-Touch", "Executive"],
        ["black", "blue", "grey", "white", "A4", "80 mm", "50 mm", "30 sheets", "12 sheets"],
        (299, 49900)),
    "coffee-machines": (
        ["Jura", "De'Longhi", "Rocket", "Moccamaster", "Bravilor", "Baratza", "Sage", "Siemens",
         "Melitta", "WMF"],
        ["Bean-to-Cup Machine", "Espresso Machine", "Filter Coffee Brewer", "Batch Brewer",
         "Coffee Grinder", "Milk Frother", "Water Boiler", "Capsule Machine", "Pour-Over Kettle",
         "Cold Brew Maker"],
        ["Office", "Home", "Professional", "Compact", "Dual Boiler", "Single Boiler", "Smart",
         "Barista", "Classic", "Touch"],
        ["silver", "black", "white", "1.2 l", "1.8 l", "2.5 l", "20 l", "100 cups a day"],
        (4900, 349000)),
    "coffee-tea": (
        ["Lavazza", "Dallmayr", "Marketline Roasters", "Illy", "Segafredo", "Twinings", "Pukka",
         "Teekanne", "Tchibo", "Van Houten"],
        ["Espresso Beans", "Filter Coffee", "Coffee Capsules", "Single Origin Beans",
         "Decaf Beans", "Black Tea", "Green Tea", "Herbal Tea", "Hot Chocolate", "Chai Latte"],
        ["Crema", "Intenso", "Dolce", "Organic", "Fairtrade", "Dark Roast", "Medium Roast",
         "Light Roast", "Classic", "Selection"],
        ["250 g", "500 g", "1 kg", "6 kg", "100 bags", "box of 50", "box of 100"],
        (299, 12900)),
    "breakroom": (
        ["Huhtamaki", "Completa", "Papstar", "Durgol", "Finish", "Tork", "Fairy", "Jura",
         "Südzucker", "Duni"],
        ["Paper Cups", "Coffee Creamer", "Sugar Sticks", "Descaler", "Cleaning Tablets",
         "Wooden Stirrers", "Dishwasher Tablets", "Kitchen Roll", "Paper Napkins",
         "Water Filter", "Tea Towels"],
        ["Eco", "Compostable", "Double-Walled", "Professional", "Classic", "Premium", "Value",
         "Bulk", "Fragrance-Free"],
        ["pack of 100", "pack of 200", "case of 1000", "6 bottles", "24 rolls", "200 ml",
         "300 ml"],
        (199, 9900)),
    "furniture": (
        ["Steelcase", "Flexispot", "Kinnarps", "Fellowes", "Legamaster", "BuzziSpace", "Herman Miller",
         "Vitra", "Sedus", "Interstuhl"],
        ["Office Chair", "Standing Desk", "Visitor Chair", "Footrest", "Whiteboard",
         "Acoustic Divider", "Conference Table", "Bookcase", "Pedestal", "Coat Stand",
         "Meeting Chair"],
        ["Ergonomic", "Height-Adjustable", "Stackable", "Mobile", "Compact", "Executive",
         "Mesh", "Upholstered", "Oak", "Walnut"],
        ["black", "grey", "white", "oak top", "160 x 80", "140 x 70", "120 x 90 cm"],
        (2900, 129900)),
}
GENERIC = (
    ["Logitech", "Kensington", "Tesa", "Scotch", "Dettol", "Tork", "Söhngen", "Uvex", "Brady",
     "Marketline"],
    ["Keyboard", "Wireless Mouse", "USB-C Cable", "Shipping Box", "Packing Tape",
     "Bubble Wrap", "Hand Soap", "Disinfectant Wipes", "First-Aid Kit", "Safety Glasses",
     "Hi-Vis Vest", "Storage Box", "Webcam", "Headset"],
    ["Compact", "Professional", "Eco", "Heavy-Duty", "Classic", "Premium", "Value", "Wireless"],
    ["pack of 10", "pack of 50", "black", "white", "large", "medium", "small"],
    (199, 19900),
)
CODE_LETTERS = "ABCDEFGHKLMNPRSTVX"
USES = ["busy offices", "home offices", "schools", "small teams", "meeting rooms", "receptions",
        "workshops", "shared desks", "everyday use", "professional use"]
FEATURES = ["Built to last and easy to use", "Tested for daily use in busy offices",
            "Made with recycled materials where possible", "Comes with a two-year warranty",
            "Ships the next working day", "A favourite of our business customers",
            "Easy to refill and to recycle", "Quiet, reliable and easy to clean"]
COLOURS = ["black", "blue", "grey", "white", "red", "green"]
COLOUR_SPECS = {*COLOURS, "silver", "cyan", "magenta", "yellow", "assorted"}

# Countries: phone formats (# = a random digit), e-mail domains, company suffixes.
COUNTRIES = [
    # weight, dialling code, mobile/landline formats, mail domains, company suffixes
    (30, "+49", ["+49 30 #### ####", "+49 89 ### ####", "+49 151 ########", "+49 40 ### ###-##"],
     ["gmx.example", "webmail.example", "tonline.example", "mailbox.example"], ["GmbH", "AG", "KG", "GmbH & Co. KG"]),
    (20, "+33", ["+33 6 ## ## ## ##", "+33 1 ## ## ## ##", "+33 4 ## ## ## ##"],
     ["orange-mail.example", "free-mail.example", "laposte.example"], ["SARL", "SAS", "SA"]),
    (15, "+31", ["+31 6 #### ####", "+31 20 ### ####", "+31 10 ### ####"],
     ["ziggo-mail.example", "kpnmail.example"], ["B.V.", "N.V."]),
    (12, "+39", ["+39 333 ### ####", "+39 02 #### ####", "+39 06 #### ####"],
     ["libero-mail.example", "tiscali.example"], ["S.r.l.", "S.p.A."]),
    (10, "+34", ["+34 6## ## ## ##", "+34 91 ### ## ##", "+34 93 ### ## ##"],
     ["telemail.example", "correo.example"], ["S.L.", "S.A."]),
    (8, "+43", ["+43 664 #######", "+43 1 ### ## ##"], ["aon-mail.example", "chello.example"],
     ["GmbH", "AG"]),
    (5, "+353", ["+353 87 ### ####", "+353 1 ### ####"], ["eircom-mail.example"], ["Ltd", "DAC"]),
]
COMMON_DOMAINS = ["gmail.example", "outlook.example", "proton.example", "yahoo.example"]
FIRST_NAMES = [
    "Anna", "Lukas", "Lea", "Felix", "Marie", "Jonas", "Sophie", "Paul", "Hannah", "Leon",
    "Emma", "Maximilian", "Mia", "Elias", "Lena", "Noah", "Clara", "Julian", "Laura", "Tobias",
    "Camille", "Louis", "Chloé", "Hugo", "Léa", "Gabriel", "Manon", "Arthur", "Inès", "Raphaël",
    "Sanne", "Daan", "Fleur", "Sem", "Julia", "Bram", "Lotte", "Thijs", "Giulia", "Lorenzo",
    "Francesca", "Matteo", "Chiara", "Alessandro", "Sofia", "Davide", "Lucía", "Hugo", "Carmen",
    "Javier", "Elena", "Pablo", "Marta", "Sergio", "Aoife", "Cian", "Niamh", "Seán", "Siobhán",
    "Conor", "Sarah", "David", "Thomas", "Katharina", "Michael", "Sabine", "Stefan", "Nicole",
    "Andreas", "Petra", "Jürgen", "Monika", "Zoë", "Mehmet", "Ayşe", "Piotr", "Agnieszka",
    "Ivana", "Nikola", "Eva", "Jan", "Karin", "Oskar", "Ida", "Emil", "Frida", "Nils", "Ingrid",
]
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun",
    "Zimmermann", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fontaine", "de Jong",
    "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer",
    "de Boer", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
    "Ricci", "Marino", "Greco", "Bruno", "Gallo", "García", "Fernández", "González",
    "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Núñez", "Murphy", "Kelly",
    "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor", "Gruber", "Huber",
    "Bauer", "Pichler", "Steiner", "Moser", "Mayer", "Hofer", "Leitner", "Berger", "Yılmaz",
    "Nowak", "Kowalski", "Novak", "Horvat", "Andersson", "Nielsen", "Jensen",
]
COMPANY_WORDS = [
    "Nordlicht", "Alpen", "Rhein", "Atlas", "Helix", "Orion", "Lumen", "Vertex", "Kiwi",
    "Blauwal", "Sonnen", "Delta", "Polar", "Astra", "Mistral", "Olivo", "Sirocco", "Tulip",
    "Harbour", "Granite", "Cedar", "Falcon", "Meridian", "Quartz", "Aurora", "Linden",
]
COMPANY_TRADES = [
    "Logistik", "Consulting", "Architekten", "Software", "Dental", "Immobilien", "Bau",
    "Design", "Media", "Legal", "Steuerberatung", "Engineering", "Foods", "Hotels", "Systems",
    "Partners", "Trading", "Solutions", "Labs", "Studio", "Medical", "Energy",
]
COMPANY_MAILBOXES = ["info", "purchasing", "accounts", "office", "einkauf", "orders", "admin"]


def load_large(session: Session, order_lines: int = large_sales.ORDER_LINES) -> str:
    """Generate the benchmark volumes on the session's database. Flushes; the caller commits."""
    started = time.perf_counter()
    present = session.scalar(select(func.count()).select_from(Product)) or 0
    if present > PRESENT_THRESHOLD:
        # The seed command prints what we return; printing here too would say it twice.
        if large_sales.present(session):
            return f"Large data already present ({present:,} products); nothing loaded."
        # A large database from before the sales existed: grow only them.
        return (f"Large data already present ({present:,} products); added sales: "
                + large_sales.grow_sales(session, order_lines) + ".")
    notes = []
    if demo.is_empty(session):
        demo.load_demo(session)
        notes.append("the demo shop first (prices, tax and channels come from it)")
    rng = random.Random(SEED)
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = now - mark
        mark = now

    catalogue = _Catalogue.load(session)
    products = _load_products(session, rng, catalogue)
    lap("products")
    search.reindex(session)
    lap("search index")
    customers = _load_customers(session, rng)
    session.flush()
    lap("customers")
    sales = large_sales.grow_sales(session, order_lines)
    lap("sales")
    if session.get_bind().dialect.name == "postgresql":
        # Autovacuum may be off (it is on the benchmark machines) or not have run yet; a
        # benchmark started right after the seed must not use plans made for empty tables.
        for table in ANALYZE:
            session.execute(text(f"ANALYZE {table}"))
        lap("analyze")
    seconds = time.perf_counter() - started
    return (f"Loaded large data in {seconds:.1f} s ("
            + ", ".join(f"{name} {value:.1f} s" for name, value in timings.items()) + "): "
            + (f"{notes[0]}, then " if notes else "")
            + f"{products:,} products with one variant, stock level and prices each in "
            f"{len(catalogue.categories)} categories, {customers:,} customers; {sales}.")


# --- catalogue -------------------------------------------------------------------------------

class _Catalogue:
    """What the generated products hang on: categories, tax categories and rates, price lists."""

    def __init__(self, categories, tax_ids, tax_rates, base_list_id, channel_lists):
        self.categories: list[tuple[int, str]] = categories
        self.tax_ids: dict[str, int] = tax_ids          # "standard" / "reduced" -> id
        self.tax_rates: dict[int, Decimal] = tax_rates  # tax category id -> rate in TAX_COUNTRY
        self.base_list_id: int = base_list_id
        self.channel_lists: list[tuple[int, bool]] = channel_lists  # (id, prices_include_tax)

    @classmethod
    def load(cls, session: Session) -> "_Catalogue":
        categories = [(cid, slug) for cid, slug in session.execute(
            select(Category.id, Category.slug)
            .where(Category.parent_id.is_(None), Category.active)
            .order_by(Category.position, Category.id))]
        taxes = dict(session.execute(select(TaxCategory.code, TaxCategory.id)).all())
        if not categories or not taxes:
            raise RuntimeError("large data needs the demo's categories and tax categories")
        standard = taxes.get("standard", next(iter(taxes.values())))
        tax_ids = {"standard": standard, "reduced": taxes.get("reduced", standard)}
        today = clock.today()
        tax_rates: dict[int, Decimal] = {}
        for tax_id, rate in session.execute(
                select(TaxRate.tax_category_id, TaxRate.rate)
                .where(TaxRate.country == TAX_COUNTRY, TaxRate.region == "",
                       TaxRate.valid_from <= today)
                .order_by(TaxRate.valid_from)):
            tax_rates[tax_id] = rate  # the latest valid_from wins
        lists = session.execute(
            select(PriceList.id, PriceList.scope, PriceList.prices_include_tax)
            .where(PriceList.active, PriceList.currency == "EUR",
                   PriceList.scope.in_(("base", "channel")))
            .order_by(PriceList.priority.desc(), PriceList.id)).all()
        base = next((lid for lid, scope, _ in lists if scope == "base"), None)
        if base is None:
            raise RuntimeError("large data needs a base price list in EUR (the demo's retail list)")
        channel_lists = [(lid, gross) for lid, scope, gross in lists if scope == "channel"]
        return cls(categories, tax_ids, tax_rates, base, channel_lists)


WEIGHTS = {"furniture": (8000, 40000), "coffee-machines": (2000, 15000),
           "printers": (1500, 20000)}  # grams; everything else 50-2,000 g


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    """A shop-like price (ends in .00/.49/.90/.95/.99) between low and high cents, as Decimal."""
    # Log-uniform, so cheap items are more common than expensive ones; the float is only a
    # random draw, the amount itself is built from integer cents.
    cents = int(low * (high / low) ** rng.random())
    cents = (cents // 100) * 100 + rng.choice((0, 49, 90, 95, 99))
    return Decimal(max(cents, 49)).scaleb(-2)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _ean13(n: int) -> str:
    """A valid EAN-13 in the 20-29 'in-store' range, so it can never be a real product's."""
    digits = f"2{n % 10**11:011d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def _attribute(spec: str) -> tuple[str, str]:
    """The facet a variant's spec belongs to: Colour, Size, Pack or Style."""
    words = spec.split()
    if spec in COLOUR_SPECS:
        return "Colour", spec.capitalize()
    if words[0] in ("pack", "box", "set", "case") or words[-1] in (
            "sheets", "rolls", "bags", "bottles", "portions", "cups"):
        return "Pack", spec.capitalize()
    if any(ch.isdigit() for ch in spec):
        return "Size", spec
    return "Style", spec.capitalize()


def _product_rows(rng: random.Random, catalogue: _Catalogue):
    """Yield (product, variant, stock, attributes, gross price, category slug) per product;
    variants, stock and attributes still lack their parent's id."""
    categories = catalogue.categories
    for n in range(1, PRODUCTS + 1):
        category_id, category_slug = categories[rng.randrange(len(categories))]
        brands, nouns, qualifiers, specs, (low, high) = VOCABULARY.get(category_slug, GENERIC)
        brand = rng.choice(brands)
        noun = rng.choice(nouns)
        spec = rng.choice(specs)
        code = f"{rng.choice(CODE_LETTERS)}{rng.randint(100, 999)}"
        name = f"{rng.choice(qualifiers)} {noun} {code}, {spec}"
        slug = f"{slugify(_translit(f'{brand} {name}'))}-l{n}"
        description = (f"{brand} {noun.lower()} for {rng.choice(USES)}. "
                       f"{rng.choice(FEATURES)}.")
        tax = catalogue.tax_ids["reduced" if category_slug in demo.FOOD_CATEGORIES else "standard"]
        created = CREATED_UNTIL - dt.timedelta(seconds=rng.randrange(3 * 365 * 86400))
        product = dict(slug=slug, name=name, description=description, category_id=category_id,
                       brand=brand, tax_category_id=tax, image="",
                       active=rng.random() >= 0.02, created_at=created)
        attributes = dict([_attribute(spec)])
        if "Colour" not in attributes and rng.random() < 0.2:
            attributes["Colour"] = rng.choice(COLOURS).capitalize()
        light, heavy = WEIGHTS.get(category_slug, (50, 2000))
        variant = dict(sku=f"LG-{category_slug[:3].upper()}-{n:06d}", name=spec.capitalize(),
                       barcode=_ean13(n), weight_grams=rng.randint(light, heavy), position=0,
                       active=True)
        on_hand = 0 if rng.random() < 0.08 else rng.randint(1, 600)
        reserved = rng.randint(0, min(on_hand, 5)) if on_hand and rng.random() < 0.1 else 0
        stock = dict(warehouse="MAIN", on_hand=on_hand, reserved=reserved)
        yield product, variant, stock, attributes, _price(rng, low, high), category_slug, tax


def _load_products(session: Session, rng: random.Random, catalogue: _Catalogue) -> int:
    count = 0
    chunk: list[tuple] = []
    for row in _product_rows(rng, catalogue):
        chunk.append(row)
        if len(chunk) == CHUNK:
            count += _insert_catalogue_chunk(session, catalogue, chunk)
            chunk = []
    if chunk:
        count += _insert_catalogue_chunk(session, catalogue, chunk)
    return count


def _insert_catalogue_chunk(session: Session, catalogue: _Catalogue, chunk: list[tuple]) -> int:
    products = [row[0] for row in chunk]
    product_ids = dict((slug, pid) for pid, slug in session.execute(
        insert(Product).returning(Product.id, Product.slug), products))
    variants = [dict(row[1], product_id=product_ids[row[0]["slug"]],
                     cost_price=large_sales.cost_price(
                         row[4], catalogue.tax_rates.get(row[6], Decimal("0.19")),
                         int(row[1]["sku"].rsplit("-", 1)[1])))
                for row in chunk]
    variant_ids = dict((sku, vid) for vid, sku in session.execute(
        insert(Variant).returning(Variant.id, Variant.sku), variants))
    stock, attributes, prices = [], [], []
    for _product, variant, level, attrs, gross, category_slug, tax in chunk:
        vid = variant_ids[variant["sku"]]
        stock.append(dict(level, variant_id=vid))
        attributes.extend(dict(variant_id=vid, name=k, value=v) for k, v in attrs.items())
        prices.append(dict(price_list_id=catalogue.base_list_id, variant_id=vid,
                           min_quantity=1, unit_price=gross))
        if category_slug in demo.BREAK_CATEGORIES and gross < 100:
            prices.append(dict(price_list_id=catalogue.base_list_id, variant_id=vid,
                               min_quantity=10, unit_price=_cents(gross * Decimal("0.95"))))
            prices.append(dict(price_list_id=catalogue.base_list_id, variant_id=vid,
                               min_quantity=50, unit_price=_cents(gross * Decimal("0.90"))))
        net = gross / (1 + catalogue.tax_rates.get(tax, Decimal("0.19")))
        for list_id, include_tax in catalogue.channel_lists:
            prices.append(dict(price_list_id=list_id, variant_id=vid, min_quantity=1,
                               unit_price=_cents((gross if include_tax else net) * Decimal("0.95"))))
    session.execute(insert(StockLevel), stock)
    session.execute(insert(StockMovement), [
        dict(variant_id=row["variant_id"], warehouse=row.get("warehouse", "MAIN"), kind="opening",
             quantity=row["on_hand"], reserved=row.get("reserved", 0), reference="demo",
             reason="", note="", by="demo") for row in stock])
    session.execute(insert(VariantAttribute), attributes)
    for start in range(0, len(prices), CHUNK):
        session.execute(insert(PriceListEntry), prices[start:start + CHUNK])
    return len(products)


# --- customers -------------------------------------------------------------------------------

def _translit(text: str) -> str:
    """'Südzucker' -> 'Sudzucker', 'Straße' -> 'Strasse', "De'Longhi" -> 'DeLonghi'."""
    text = text.replace("ß", "ss").replace("ı", "i").replace("'", "")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _ascii(text: str) -> str:
    """Lower-case ASCII without spaces, for the local part of an e-mail address."""
    return _translit(text).replace(" ", "").lower()


def _phone(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)



def _customer_rows(rng: random.Random, first_number: int):
    weights = [c[0] for c in COUNTRIES]
    used_emails: set[str] = set()
    prefix = PREFIXES["customer"]
    for i in range(CUSTOMERS):
        _w, _code, phones, domains, suffixes = rng.choices(COUNTRIES, weights)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if rng.random() < COMPANY_SHARE:
            kind = "company"
            style = rng.random()
            if style < 0.4:
                base = f"{last} {rng.choice(COMPANY_TRADES)}"
            elif style < 0.7:
                base = f"{last} & {rng.choice(LAST_NAMES)}"
            else:
                base = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)}"
            name = f"{base} {rng.choice(suffixes)}"
            local = rng.choice(COMPANY_MAILBOXES)
            domain = f"{slugify(_translit(base))}.example"
            price_group = "business"
            payment_terms = "net30" if rng.random() < 0.7 else "card"
        else:
            kind = "person"
            name = f"{first} {last}"
            a, b = _ascii(first), _ascii(last)
            local = rng.choice((f"{a}.{b}", f"{a}.{b}", f"{a[0]}.{b}", f"{a}{b}", f"{a}_{b}",
                                f"{a}.{b}{rng.randint(1, 99)}", f"{b}.{a}"))
            domain = rng.choice(domains if rng.random() < 0.6 else COMMON_DOMAINS)
            price_group = "retail"
            payment_terms = "card"
        email = f"{local}@{domain}"
        n = 1
        while email in used_emails:
            n += 1
            email = f"{local}{n}@{domain}"
        used_emails.add(email)
        phone = "" if rng.random() < 0.05 else _phone(rng, rng.choice(phones))
        created = CREATED_UNTIL - dt.timedelta(seconds=rng.randrange(CREATED_SPAN_DAYS * 86400))
        yield dict(number=f"{prefix}{first_number + i:06d}", kind=kind, name=name, email=email,
                   phone=phone, phone_digits=phone_digits(phone), currency="EUR",
                   price_group=price_group, payment_terms=payment_terms, created_at=created)


def _load_customers(session: Session, rng: random.Random) -> int:
    first_number = take_numbers(session, "customer", CUSTOMERS)
    count = 0
    chunk: list[dict] = []
    for row in _customer_rows(rng, first_number):
        chunk.append(row)
        if len(chunk) == CHUNK:
            session.execute(insert(Customer), chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        session.execute(insert(Customer), chunk)
        count += len(chunk)
    return count
