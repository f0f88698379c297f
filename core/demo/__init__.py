"""The demo shop: a distributor of office and coffee equipment, and the demo accounts."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, events
from core.agents.services import create_agent
from core.auth.passwords import hash_password
from core.catalog import search
from core.catalog.models import (AssortmentRule, Channel, Product, Variant, VariantAttribute)
from core.catalog.products import slugify
from core.catalog.services import create_category, relate
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.customers.services import phone_digits, register_customer
from core.demo.images import write_product_image
from core.inventory.models import StockLevel, StockMovement
from core.numbering import ensure_series, next_number
from core.orders.shipping import ShippingMethod
from core.pricing.models import (PriceList, PriceListEntry, Promotion, TaxCategory, TaxRate)

DEMO_PASSWORD = "demo-pass-1"

# (slug, name, description, products); a product is (name, brand, description, variants)
# and a variant is (sku, variant name, price incl. VAT, stock, attributes).
CATALOGUE = [
    ("paper", "Paper & Notebooks", "Copy paper, notebooks and pads for every desk.", [
        ("Everyday Copy Paper A4 80 g", "Navigator", "Bright white multipurpose paper for printers and copiers, 500 sheets a ream.", [
            ("PAP-A4-80", "1 ream", "5.49", 400, {"pack": "1 ream"}),
            ("PAP-A4-80-BOX", "Box of 5 reams", "24.90", 120, {"pack": "5 reams"})]),
        ("Premium Copy Paper A4 100 g", "Navigator", "Heavier paper for presentations and double-sided printing.", [
            ("PAP-A4-100", "1 ream", "8.90", 150, {"pack": "1 ream"})]),
        ("Recycled Copy Paper A4 80 g", "Steinbeis", "100 % recycled, Blue Angel certified, 500 sheets.", [
            ("PAP-A4-REC", "1 ream", "5.99", 220, {"pack": "1 ream"})]),
        ("Copy Paper A3 80 g", "Navigator", "A3 paper for plans, posters and spreadsheets.", [
            ("PAP-A3-80", "1 ream", "11.50", 60, {"pack": "1 ream"})]),
        ("Hardcover Notebook A5 Ruled", "Leuchtturm", "192 numbered pages, index, ribbon marker.", [
            ("NTB-A5-RUL-BLK", "Black", "18.95", 80, {"colour": "Black"}),
            ("NTB-A5-RUL-NVY", "Navy", "18.95", 45, {"colour": "Navy"}),
            ("NTB-A5-RUL-RED", "Red", "18.95", 3, {"colour": "Red"})]),
        ("Spiral Notebook A4 Squared", "Oxford", "90 g paper, 180 pages, perforated.", [
            ("NTB-A4-SQ", "A4 squared", "6.49", 140, {"ruling": "Squared"})]),
        ("Sticky Notes 76 x 76 mm, 12 pads", "Post-it", "Canary yellow notes that stick and peel cleanly.", [
            ("STN-76-YEL", "Yellow", "12.90", 200, {"colour": "Yellow"}),
            ("STN-76-MIX", "Assorted colours", "14.50", 90, {"colour": "Assorted"})]),
        ("Legal Pads A4, pack of 10", "Oxford", "Yellow ruled pads with a stiff back.", [
            ("PAD-A4-10", "Pack of 10", "15.90", 70, {})]),
        ("Printable Labels 70 x 37 mm, 2400", "Avery", "For laser and inkjet printers; 100 sheets of 24.", [
            ("LBL-7037", "100 sheets", "21.90", 55, {})]),
        ("Envelopes C5 with window, 500", "Mayer-Kuvert", "Self-seal, 90 g, window on the left.", [
            ("ENV-C5-500", "Box of 500", "29.90", 40, {})]),
    ]),
    ("writing", "Writing Instruments", "Pens, markers and highlighters.", [
        ("Ballpoint Pen Jotter", "Parker", "Stainless steel classic with a blue medium refill.", [
            ("PEN-JOT-STL", "Stainless", "14.90", 75, {"finish": "Stainless"}),
            ("PEN-JOT-BLK", "Black", "14.90", 60, {"finish": "Black"})]),
        ("Gel Pens 0.7 mm, box of 12", "Pilot", "Smooth G2 gel ink that dries fast.", [
            ("PEN-G2-BLU", "Blue", "19.90", 120, {"colour": "Blue"}),
            ("PEN-G2-BLK", "Black", "19.90", 110, {"colour": "Black"})]),
        ("Highlighters, wallet of 6", "Stabilo", "Stabilo Boss in six colours, anti-dry-out.", [
            ("HLT-BOSS-6", "Wallet of 6", "8.99", 160, {})]),
        ("Whiteboard Markers, set of 4", "Edding", "Dry-erase, bullet tip, refillable.", [
            ("MRK-WB-4", "Set of 4", "7.49", 140, {})]),
        ("Permanent Markers, box of 10", "Edding", "Waterproof on almost any surface.", [
            ("MRK-PERM-10", "Black, box of 10", "12.90", 85, {})]),
        ("Fountain Pen Safari", "Lamy", "Sturdy ABS pen with a steel nib, for school and office.", [
            ("PEN-SAF-M", "Medium nib", "22.50", 35, {"nib": "M"}),
            ("PEN-SAF-F", "Fine nib", "22.50", 28, {"nib": "F"})]),
        ("Mechanical Pencil 0.5 mm", "Pentel", "Metal grip, retractable tip, with eraser.", [
            ("PCL-05", "0.5 mm", "6.90", 95, {})]),
        ("Fineliners, pack of 10", "Stabilo", "Point 88, 0.4 mm, ventilated cap.", [
            ("FNL-88-10", "Pack of 10", "11.90", 100, {})]),
    ]),
    ("printers", "Printers & Ink", "Printers for home and office, and what they need.", [
        ("Laser Printer Mono 40 ppm", "Brother", "Duplex, network and Wi-Fi, 250-sheet tray.", [
            ("PRN-HL-L5100", "HL-L5100DN", "289.00", 14, {})]),
        ("Colour Laser Multifunction", "HP", "Print, scan, copy and fax; 27 ppm colour.", [
            ("PRN-HP-M479", "LaserJet Pro M479fdw", "549.00", 6, {})]),
        ("Inkjet All-in-One for Home", "Epson", "EcoTank with refillable tanks: thousands of pages from the box.", [
            ("PRN-EP-ET2850", "EcoTank ET-2850", "259.00", 18, {})]),
        ("Toner Cartridge TN-3430", "Brother", "Black toner, about 3,000 pages.", [
            ("TON-TN3430", "Standard yield", "79.90", 40, {}),
            ("TON-TN3480", "High yield", "119.00", 25, {})]),
        ("Toner Cartridges 415A", "HP", "Original HP toner for the M479 series.", [
            ("TON-415A-K", "Black", "99.00", 20, {"colour": "Black"}),
            ("TON-415A-C", "Cyan", "129.00", 12, {"colour": "Cyan"}),
            ("TON-415A-M", "Magenta", "129.00", 12, {"colour": "Magenta"}),
            ("TON-415A-Y", "Yellow", "129.00", 0, {"colour": "Yellow"})]),
        ("EcoTank Ink Bottles, set of 4", "Epson", "104 series: black, cyan, magenta, yellow.", [
            ("INK-104-SET", "Set of 4", "44.90", 50, {})]),
        ("Label Printer QL-800", "Brother", "Prints black and red labels from a PC or Mac.", [
            ("PRN-QL800", "QL-800", "129.00", 9, {})]),
        ("Document Scanner ADS-1700W", "Brother", "Compact, Wi-Fi, scans both sides at 25 ppm.", [
            ("SCN-ADS1700", "ADS-1700W", "279.00", 7, {})]),
    ]),
    ("desk", "Desk & Organisation", "Everything that keeps a desk in order.", [
        ("Lever Arch File A4, 80 mm", "Leitz", "Cardboard with a strong lever mechanism.", [
            ("FIL-LA-80-BLU", "Blue", "3.99", 300, {"colour": "Blue"}),
            ("FIL-LA-80-BLK", "Black", "3.99", 280, {"colour": "Black"})]),
        ("Stapler 30 sheets", "Rapid", "Full-strip metal stapler with 1,000 staples.", [
            ("STP-30", "Classic", "16.90", 65, {})]),
        ("Heavy-Duty Stapler 200 sheets", "Rapid", "For reports and manuals.", [
            ("STP-HD200", "HD200", "59.00", 15, {})]),
        ("Desk Organiser, 5 compartments", "Durable", "Mesh metal, holds pens, notes and phone.", [
            ("ORG-MESH-5", "Black mesh", "24.90", 40, {})]),
        ("Monitor Stand with Drawer", "Fellowes", "Raises the screen 10-15 cm; drawer for stationery.", [
            ("MON-STAND", "Standard", "39.90", 30, {})]),
        ("Paper Shredder P-4, 12 sheets", "Fellowes", "Cross-cut, 23-litre bin, for confidential papers.", [
            ("SHR-P4-12", "12 sheets", "149.00", 11, {})]),
        ("Laminator A3", "GBC", "Warms up in 1 minute; pouches up to 125 micron.", [
            ("LAM-A3", "A3", "89.00", 13, {})]),
        ("Desk Lamp LED, dimmable", "Unilux", "Adjustable arm, warm to cool light, USB port.", [
            ("LMP-LED", "White", "69.00", 22, {"colour": "White"}),
            ("LMP-LED-BLK", "Black", "69.00", 19, {"colour": "Black"})]),
        ("Calculator with Printer", "Casio", "12 digits, two-colour printing, tax keys.", [
            ("CAL-PRN-12", "HR-150RCE", "64.90", 16, {})]),
        ("Filing Cabinet, 4 drawers", "Bisley", "Steel cabinet for hanging files, lockable.", [
            ("CAB-4D", "Grey", "349.00", 4, {"colour": "Grey"})]),
    ]),
    ("coffee-machines", "Coffee Machines", "Espresso, bean-to-cup and filter machines for home and office.", [
        ("Bean-to-Cup Machine Office 200", "Jura", "Grinds, brews and froths; up to 200 cups a day, with telemetry.", [
            ("COF-JURA-X8", "X8", "2490.00", 5, {})]),
        ("Bean-to-Cup Machine Home", "De'Longhi", "Magnifica with a steam wand for cappuccino.", [
            ("COF-DL-MAG", "Magnifica S", "399.00", 12, {})]),
        ("Espresso Machine Dual Boiler", "Rocket", "Italian dual boiler with PID temperature control.", [
            ("COF-RKT-R58", "R58 Cinquantotto", "2290.00", 2, {})]),
        ("Filter Coffee Brewer 1.8 l", "Moccamaster", "Brews a full jug in 6 minutes at the right temperature.", [
            ("COF-MM-KBG", "Polished silver", "239.00", 14, {"colour": "Silver"}),
            ("COF-MM-KBG-BLK", "Matt black", "239.00", 10, {"colour": "Black"})]),
        ("Batch Brewer for Offices", "Bravilor", "Brews 2 x 2.5 l per cycle into thermal jugs.", [
            ("COF-BRV-B10", "B10", "1190.00", 3, {})]),
        ("Coffee Grinder, flat burrs", "Baratza", "Vario with 230 settings from espresso to French press.", [
            ("GRN-VARIO", "Vario+", "499.00", 6, {})]),
        ("Milk Frother", "Nespresso", "Aeroccino for hot and cold milk foam.", [
            ("MLK-AERO4", "Aeroccino 4", "99.00", 20, {})]),
        ("Water Boiler 20 l", "Animo", "Hot water for tea on tap, with a drip tray.", [
            ("WTR-BOIL-20", "20 litres", "379.00", 4, {})]),
    ]),
    ("coffee-tea", "Coffee & Tea", "Beans, ground coffee, capsules and tea.", [
        ("Espresso Beans Crema 1 kg", "Lavazza", "Arabica and robusta blend for a thick crema.", [
            ("BEAN-LAV-CRE-1", "1 kg", "19.90", 180, {"size": "1 kg"}),
            ("BEAN-LAV-CRE-6", "Case of 6 kg", "109.00", 40, {"size": "6 kg"})]),
        ("Single Origin Beans Ethiopia 1 kg", "Marketline Roasters", "Yirgacheffe washed, notes of jasmine and lemon.", [
            ("BEAN-ETH-1", "1 kg", "34.90", 35, {"size": "1 kg"})]),
        ("Ground Filter Coffee 500 g", "Dallmayr", "Prodomo, medium roast for filter machines.", [
            ("GRD-DAL-500", "500 g", "8.49", 220, {})]),
        ("Coffee Capsules, box of 100", "Marketline Roasters", "Compatible with Nespresso Original machines.", [
            ("CAP-100-LUN", "Lungo", "32.00", 90, {"strength": "Lungo"}),
            ("CAP-100-ESP", "Espresso", "32.00", 85, {"strength": "Espresso"})]),
        ("Black Tea Selection, 100 bags", "Twinings", "English Breakfast, Earl Grey and Assam.", [
            ("TEA-BLK-100", "100 bags", "13.90", 110, {})]),
        ("Green Tea, 100 bags", "Pukka", "Organic green tea with matcha.", [
            ("TEA-GRN-100", "100 bags", "17.90", 60, {})]),
        ("Hot Chocolate Powder 1 kg", "Van Houten", "For vending and bean-to-cup machines.", [
            ("CHO-VH-1", "1 kg", "16.50", 45, {})]),
        ("Decaf Beans 1 kg", "Lavazza", "Decaffeinated by the water process.", [
            ("BEAN-LAV-DEC-1", "1 kg", "23.90", 30, {})]),
    ]),
    ("breakroom", "Breakroom Supplies", "Cups, milk, sugar and cleaning for the office kitchen.", [
        ("Paper Cups 200 ml, 1000", "Huhtamaki", "Double-walled cups for hot drinks.", [
            ("CUP-200-1000", "Case of 1000", "49.90", 35, {})]),
        ("Coffee Creamer Portions, 200", "Completa", "10 g portions, no refrigeration needed.", [
            ("CRM-200", "200 portions", "14.90", 70, {})]),
        ("Sugar Sticks, 1000", "Südzucker", "4 g sticks of white sugar.", [
            ("SUG-1000", "1000 sticks", "19.90", 60, {})]),
        ("Descaler for Coffee Machines, 6 bottles", "Durgol", "Removes limescale from every kind of machine.", [
            ("DSC-6", "6 x 500 ml", "36.90", 40, {})]),
        ("Machine Cleaning Tablets, 100", "Jura", "Keeps bean-to-cup brewing units clean.", [
            ("CLN-TAB-100", "100 tablets", "54.90", 25, {})]),
        ("Stirrers, wooden, 1000", "Papstar", "Birch wood, 14 cm.", [
            ("STR-1000", "1000", "6.90", 90, {})]),
        ("Dishwasher Tablets, 100", "Finish", "All in one, for office dishwashers.", [
            ("DSW-100", "100 tablets", "24.90", 50, {})]),
        ("Kitchen Roll, 24 rolls", "Tork", "Absorbent two-ply paper.", [
            ("KTR-24", "24 rolls", "29.90", 40, {})]),
    ]),
    ("furniture", "Office Furniture", "Chairs and desks for long working days.", [
        ("Ergonomic Office Chair", "Steelcase", "Series 1: adjustable arms, seat depth and lumbar support.", [
            ("CHR-S1-BLK", "Black", "589.00", 8, {"colour": "Black"}),
            ("CHR-S1-GRY", "Grey", "589.00", 5, {"colour": "Grey"})]),
        ("Height-Adjustable Desk 160 x 80", "Flexispot", "Electric, two motors, memory for four heights.", [
            ("DSK-E7-160", "Oak top", "649.00", 6, {"top": "Oak"}),
            ("DSK-E7-160-WHT", "White top", "629.00", 9, {"top": "White"})]),
        ("Visitor Chair, stackable", "Kinnarps", "Upholstered seat, chrome frame; stacks by 6.", [
            ("CHR-VIS", "Anthracite", "129.00", 24, {})]),
        ("Footrest, adjustable", "Fellowes", "Tilts to take pressure off the lower back.", [
            ("FTR-ADJ", "Standard", "44.90", 30, {})]),
        ("Whiteboard 120 x 90 cm", "Legamaster", "Enamelled steel, magnetic, with pen tray.", [
            ("WBD-120", "120 x 90 cm", "189.00", 10, {})]),
        ("Acoustic Desk Divider", "BuzziSpace", "Felt screen that cuts noise between desks.", [
            ("ACO-DIV-160", "160 cm", "299.00", 7, {})]),
    ]),
]

CONSUMER = dict(email="shopper@example.com", full_name="Sam Shopper", phone="+49 30 1234 5678")
COMPANY = dict(name="Acme Corp", email="purchasing@acme.example", phone="+49 89 555 0100")
BUYER = dict(email="buyer@acme.example", full_name="Bea Buyer")
# Acme's other logins: Ada manages the company, Abe approves what is above Bea's limit.
ACME_ADMIN = dict(email="admin@acme.example", full_name="Ada Admin")
ACME_APPROVER = dict(email="approver@acme.example", full_name="Abe Approver")
BUYER_ORDER_LIMIT = Decimal("500.00")
ACME_CREDIT_LIMIT = Decimal("25000.00")
# A second company on account with a small credit limit: its orders end up on credit hold.
GLOBEX = dict(name="Globex GmbH", email="einkauf@globex.example", phone="+49 40 555 0200")
GLOBEX_ADMIN = dict(email="gina@globex.example", full_name="Gina Globex")
GLOBEX_CREDIT_LIMIT = Decimal("1000.00")
AGENTS = [
    ("agent@marketline.example", "Alex Agent", ["agent"]),
    ("supervisor@marketline.example", "Sue Supervisor", ["agent", "supervisor"]),
    ("catalog@marketline.example", "Cary Catalog", ["catalog"]),
    ("warehouse@marketline.example", "Wes Warehouse", ["warehouse"]),
    ("billing@marketline.example", "Bill Billing", ["billing", "credit"]),
    ("manager@marketline.example", "Mona Manager", ["manager"]),
]
FOOD_CATEGORIES = {"coffee-tea"}  # reduced VAT rate in Germany
BREAK_CATEGORIES = {"paper", "writing", "coffee-tea", "breakroom", "desk"}  # volume discounts
B2B_ONLY_SKUS = {"COF-BRV-B10", "WTR-BOIL-20"}
CONTRACT_SKUS = ["PAP-A4-80", "PAP-A4-80-BOX", "PAP-A4-REC", "BEAN-LAV-CRE-1", "BEAN-LAV-CRE-6",
                 "TON-TN3430", "TON-TN3480", "PEN-G2-BLU", "PEN-G2-BLK", "CUP-200-1000",
                 "DSC-6", "CLN-TAB-100"]
# (sku of product, sku of related product, kind)
RELATIONS = [
    ("PRN-HL-L5100", "TON-TN3430", "accessory"), ("PRN-HL-L5100", "PAP-A4-80", "cross_sell"),
    ("PRN-HL-L5100", "PRN-HP-M479", "up_sell"), ("PRN-HP-M479", "TON-415A-K", "accessory"),
    ("PRN-EP-ET2850", "INK-104-SET", "accessory"), ("PRN-EP-ET2850", "PAP-A4-100", "cross_sell"),
    ("PRN-EP-ET2850", "PRN-HL-L5100", "up_sell"),
    ("COF-DL-MAG", "BEAN-LAV-CRE-1", "cross_sell"), ("COF-DL-MAG", "DSC-6", "accessory"),
    ("COF-DL-MAG", "MLK-AERO4", "accessory"), ("COF-DL-MAG", "COF-JURA-X8", "up_sell"),
    ("COF-JURA-X8", "CLN-TAB-100", "accessory"), ("COF-JURA-X8", "BEAN-LAV-CRE-6", "cross_sell"),
    ("COF-MM-KBG", "GRD-DAL-500", "cross_sell"), ("COF-MM-KBG", "GRN-VARIO", "up_sell"),
    ("COF-RKT-R58", "GRN-VARIO", "accessory"), ("COF-RKT-R58", "BEAN-ETH-1", "cross_sell"),
    ("PAP-A4-80", "PAP-A4-100", "up_sell"), ("PAP-A4-80", "STN-76-YEL", "cross_sell"),
    ("NTB-A5-RUL-BLK", "PEN-SAF-M", "cross_sell"), ("PEN-JOT-STL", "PEN-SAF-M", "up_sell"),
    ("CHR-S1-BLK", "FTR-ADJ", "accessory"), ("DSK-E7-160", "MON-STAND", "accessory"),
    ("DSK-E7-160", "CHR-S1-BLK", "cross_sell"), ("STP-30", "STP-HD200", "up_sell"),
    ("BEAN-LAV-CRE-1", "BEAN-ETH-1", "up_sell"), ("BEAN-LAV-CRE-1", "CUP-200-1000", "cross_sell"),
]
CENT = Decimal("0.01")


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Product))


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def load_tax(session: Session) -> dict[str, TaxCategory]:
    """Standard and reduced VAT categories with German, Austrian and French rates."""
    standard = TaxCategory(code="standard", name="Standard rate")
    reduced = TaxCategory(code="reduced", name="Reduced rate (food)")
    session.add_all([standard, reduced])
    since = dt.date(2021, 1, 1)
    for country, std, red in (("DE", "0.19", "0.07"), ("AT", "0.20", "0.10"), ("FR", "0.20", "0.055")):
        session.add_all([
            TaxRate(tax_category=standard, country=country, name=f"{country} VAT standard",
                    rate=Decimal(std), valid_from=since),
            TaxRate(tax_category=reduced, country=country, name=f"{country} VAT reduced",
                    rate=Decimal(red), valid_from=since)])
    return {"standard": standard, "reduced": reduced}


def load_catalogue(session: Session, media_dir: Path | None = None) -> dict:
    """Categories, products, variants, stock, base prices with breaks; returns lookups."""
    taxes = load_tax(session)
    session.flush()
    retail = PriceList(code="retail-eur", name="Retail EUR", currency="EUR", scope="base",
                       prices_include_tax=True)
    session.add(retail)
    variants: dict[str, tuple[Variant, Decimal, str]] = {}
    for position, (slug, name, description, products) in enumerate(CATALOGUE):
        category = create_category(session, slug=slug, name=name, description=description,
                                   position=position)
        tax = taxes["reduced" if slug in FOOD_CATEGORIES else "standard"]
        for product_name, brand, text, variant_rows in products:
            product = Product(slug=slugify(f"{brand} {product_name}"), name=product_name,
                              brand=brand, description=text, category=category,
                              tax_category_id=tax.id)
            session.add(product)
            for v_position, (sku, variant_name, price, stock, attributes) in enumerate(variant_rows):
                variant = Variant(product=product, sku=sku, name=variant_name,
                                  position=v_position, weight_grams=_weight(slug),
                                  barcode=_ean(sku),
                                  cost_price=standard_cost(sku, Decimal(price), slug))
                variant.attribute_values = [VariantAttribute(name=k.capitalize(), value=v)
                                            for k, v in attributes.items()]
                session.add(variant)
                session.add(StockLevel(variant=variant, warehouse="MAIN", on_hand=stock))
                session.add(StockMovement(variant=variant, warehouse="MAIN", kind="opening",
                                          quantity=stock, reference="demo", by="demo"))
                gross = Decimal(price)
                retail.entries.append(PriceListEntry(variant=variant, min_quantity=1, unit_price=gross))
                if slug in BREAK_CATEGORIES and gross < 100:
                    retail.entries.append(PriceListEntry(variant=variant, min_quantity=10,
                                                         unit_price=_cents(gross * Decimal("0.95"))))
                    retail.entries.append(PriceListEntry(variant=variant, min_quantity=50,
                                                         unit_price=_cents(gross * Decimal("0.90"))))
                variants[sku] = (variant, gross, slug)
            if media_dir is not None:
                product.image = write_product_image(media_dir, product.slug, product.name,
                                                    product.brand, slug)
    session.flush()
    return {"variants": variants, "retail": retail, "taxes": taxes}


def standard_cost(sku: str, gross: Decimal, category_slug: str) -> Decimal:
    """A variant's standard cost (EUR net, per unit): 55-70 % of its retail net price, the
    same for the same SKU on every seed, so the demo's margins are real and stable."""
    rate = Decimal("1.07") if category_slug in FOOD_CATEGORIES else Decimal("1.19")
    share = Decimal(55 + hash_sku(sku) % 16) / 100
    return _cents(gross / rate * share)


def _weight(category_slug: str) -> int:
    return {"furniture": 25000, "coffee-machines": 9000, "printers": 8000}.get(category_slug, 600)


def _ean(sku: str) -> str:
    """A stable, valid EAN-13 made from the SKU (demo data only)."""
    digits = str(abs(hash_sku(sku)))[:12].rjust(12, "0")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def hash_sku(sku: str) -> int:
    value = 0
    for ch in sku:
        value = (value * 131 + ord(ch)) % 10**12
    return 400000000000 + value % 99999999999


def load_channels_and_lists(session: Session, lookups: dict, acme: Customer) -> None:
    """Channels, the B2B trade list, Acme's contract, assortments."""
    variants, retail = lookups["variants"], lookups["retail"]
    trade = PriceList(code="trade-eur", name="Trade EUR", currency="EUR", scope="channel",
                      channel_code="web-b2b", prices_include_tax=False)
    contract = PriceList(code="acme-contract", name="Acme Corp contract", currency="EUR",
                         scope="contract", customer_id=acme.id, prices_include_tax=False,
                         valid_from=dt.date(2025, 1, 1))
    session.add_all([trade, contract])
    for sku, (variant, gross, slug) in variants.items():
        rate = Decimal("1.07") if slug in FOOD_CATEGORIES else Decimal("1.19")
        net = gross / rate
        trade.entries.append(PriceListEntry(variant=variant, min_quantity=1,
                                            unit_price=_cents(net * Decimal("0.95"))))
        if sku in CONTRACT_SKUS:
            contract.entries.append(PriceListEntry(variant=variant, min_quantity=1,
                                                   unit_price=_cents(net * Decimal("0.85"))))
            contract.entries.append(PriceListEntry(variant=variant, min_quantity=20,
                                                   unit_price=_cents(net * Decimal("0.80"))))
    session.flush()
    b2c = Channel(code="web-b2c", name="Web shop (consumers)", currency="EUR",
                  prices_include_tax=True, country="DE", default_price_list_id=retail.id)
    b2b = Channel(code="web-b2b", name="Web shop (business)", currency="EUR",
                  prices_include_tax=False, country="DE", default_price_list_id=trade.id)
    phone = Channel(code="callcenter", name="Call center", currency="EUR",
                    prices_include_tax=True, country="DE", default_price_list_id=retail.id)
    session.add_all([b2c, b2b, phone])
    for sku in sorted(B2B_ONLY_SKUS):
        b2c.assortment.append(AssortmentRule(mode="exclude", product=variants[sku][0].product))
    session.flush()


def load_promotions(session: Session, lookups: dict) -> None:
    variants = lookups["variants"]
    coffee_tea = variants["BEAN-LAV-CRE-1"][0].product.category_id
    notebook = variants["NTB-A5-RUL-BLK"][0].product_id
    descaler = variants["DSC-6"][0].product_id
    session.add_all([
        Promotion(name="Coffee week: 10 % off coffee and tea", kind="percent_off",
                  value=Decimal(10), category_ids=[coffee_tea], priority=10),
        Promotion(name="Notebooks: buy 3, get 1 free", kind="buy_x_get_y", buy_quantity=3,
                  get_quantity=1, product_ids=[notebook], priority=20),
        Promotion(name="Descaler six-pack for 29.90", kind="fixed_price", value=Decimal("29.90"),
                  product_ids=[descaler], channels=["web-b2c", "callcenter"], priority=20),
        Promotion(name="Welcome: 10 % off your first order", kind="percent_off",
                  value=Decimal(10), coupon_code="WELCOME10", min_subtotal=Decimal(50),
                  usage_limit_per_customer=1, channels=["web-b2c"], priority=5),
        Promotion(name="5 EUR off from 40 EUR", kind="amount_off", value=Decimal(5),
                  coupon_code="SAVE5", min_subtotal=Decimal(40), exclusive=True, priority=1),
        Promotion(name="Free shipping from 150 EUR", kind="free_shipping",
                  min_subtotal=Decimal(150), channels=["web-b2c"], priority=0),
    ])


def load_shipping(session: Session) -> None:
    """Standard (free from 50 EUR), express, and freight by weight for heavy goods."""
    session.add_all([
        ShippingMethod(code="standard", name="Standard delivery (2-3 working days)", kind="flat",
                       price=Decimal("4.95"), free_above=Decimal("50"), transit_days=2, position=0),
        ShippingMethod(code="express", name="Express delivery (next working day)", kind="flat",
                       price=Decimal("12.90"), transit_days=1, countries=["DE", "AT"], position=1),
        ShippingMethod(code="freight", name="Freight, priced by weight (3-5 working days)",
                       kind="weight", price=Decimal("9.90"), per_kg=Decimal("0.40"),
                       transit_days=4, position=2),
    ])


def load_relations(session: Session, lookups: dict) -> None:
    variants = lookups["variants"]
    for position, (a, b, kind) in enumerate(RELATIONS):
        relate(session, variants[a][0].product_id, variants[b][0].product_id, kind, position)


def load_accounts(session: Session) -> Customer:
    """The demo shopper, Acme Corp with its buyer, approver and admin, Globex, and the
    console agents."""
    shopper = register_customer(session, password=DEMO_PASSWORD, **CONSUMER).customer
    shopper.postal_code = "10115"
    session.add(CustomerAddress(customer=shopper, label="Home", full_name=CONSUMER["full_name"],
                                line1="Invalidenstraße 12", city="Berlin", postal_code="10115",
                                country="DE", phone=CONSUMER["phone"], default_shipping=True,
                                default_billing=True))
    acme = Customer(number=next_number(session, "customer"), kind="company",
                    name=COMPANY["name"], email=COMPANY["email"], phone=COMPANY["phone"],
                    phone_digits=phone_digits(COMPANY["phone"]), price_group="business",
                    payment_terms="net30", on_account_allowed=True, postal_code="80331",
                    vat_id="DE129753100")
    session.add(acme)
    session.add(CustomerAddress(customer=acme, label="Head office", full_name="Acme Corp Goods In",
                                company="Acme Corp", line1="Marienplatz 1", city="Munich",
                                postal_code="80331", region="BY", country="DE",
                                phone=COMPANY["phone"], default_shipping=True,
                                default_billing=True))
    acme.credit_limit = ACME_CREDIT_LIMIT
    session.add(CustomerUser(customer=acme, email=BUYER["email"], full_name=BUYER["full_name"],
                             password_hash=hash_password(DEMO_PASSWORD), role="buyer",
                             order_limit=BUYER_ORDER_LIMIT))
    for person, role in ((ACME_ADMIN, "admin"), (ACME_APPROVER, "approver")):
        session.add(CustomerUser(customer=acme, email=person["email"],
                                 full_name=person["full_name"],
                                 password_hash=hash_password(DEMO_PASSWORD), role=role))
    globex = Customer(number=next_number(session, "customer"), kind="company",
                      name=GLOBEX["name"], email=GLOBEX["email"], phone=GLOBEX["phone"],
                      phone_digits=phone_digits(GLOBEX["phone"]), price_group="business",
                      payment_terms="net30", on_account_allowed=True, postal_code="20457",
                      credit_limit=GLOBEX_CREDIT_LIMIT, vat_id="DE271846320")
    session.add(globex)
    session.add(CustomerAddress(customer=globex, label="Warehouse", full_name="Globex Wareneingang",
                                company="Globex GmbH", line1="Großer Grasbrook 9", city="Hamburg",
                                postal_code="20457", region="HH", country="DE",
                                phone=GLOBEX["phone"], default_shipping=True,
                                default_billing=True))
    session.add(CustomerUser(customer=globex, email=GLOBEX_ADMIN["email"],
                             full_name=GLOBEX_ADMIN["full_name"],
                             password_hash=hash_password(DEMO_PASSWORD), role="admin"))
    for email, name, roles in AGENTS:
        create_agent(session, email=email, full_name=name, password=DEMO_PASSWORD, roles=roles,
                     actor=audit.Actor.system("demo"))
    session.flush()
    return acme


def load_demo(session: Session, media_dir: Path | None = None) -> str:
    """Everything a newcomer's first look needs. Flushes; the caller commits."""
    events.silence(session)  # the demo's customers get no e-mails for the seeded orders
    ensure_series(session)
    lookups = load_catalogue(session, media_dir)
    acme = load_accounts(session)
    load_channels_and_lists(session, lookups, acme)
    load_promotions(session, lookups)
    load_relations(session, lookups)
    load_shipping(session)
    search.reindex(session)
    from core.demo.orders import load_demo_orders  # uses the services the demo data feeds
    work = load_demo_orders(session, acme)
    from core.demo.returns import load_demo_returns  # through the returns services
    work = f"{work} {load_demo_returns(session)}"
    from core.demo.lists import load_lists  # through the lists service
    work = f"{work} {load_lists(session)}"
    from core.demo.company import load_company  # through the company services
    work = f"{work} {load_company(session)}"
    from core.demo.approvals import load_approvals  # through the shop's services
    work = f"{work} {load_approvals(session)}"
    from core.demo.quotes import load_quotes  # through the quote services
    work = f"{work} {load_quotes(session)}"
    from core.demo.stock import load_stock  # through the stock services and workflows
    work = f"{work} {load_stock(session)}"
    from core.demo.drop_ship import load_drop_ship  # through the purchasing services
    work = f"{work} {load_drop_ship(session)}"
    from core.demo.master import load_master  # through the master-data services
    work = f"{work} {load_master(session, media_dir)}"
    from core.demo.backorders import load_backorders  # through the catalogue's services
    work = f"{work} {load_backorders(session)}"
    from core.demo.catalogue_drafts import load_catalogue_drafts  # catalogue's services
    work = f"{work} {load_catalogue_drafts(session)}"
    from core.demo.statements import load_statements  # through the statement service
    work = f"{work} {load_statements(session)}"
    from core.demo.credit import load_credit  # through the credit services
    work = f"{work} {load_credit(session)}"
    from core.demo.dunning import load_dunning  # through the dunning services
    work = f"{work} {load_dunning(session)}"
    from core.demo.collections import load_collections  # through the collections services
    work = f"{work} {load_collections(session)}"
    from core.demo.sales_history import load_sales_history  # through the real services
    work = f"{work} {load_sales_history(session)}"
    from core.demo.daily_use import load_daily_use  # phone orders and holds, loaded last
    work = f"{work} {load_daily_use(session)}"
    products = len({v.product_id for v, _, _ in lookups["variants"].values()})
    return (f"Loaded the demo shop: {len(CATALOGUE)} categories, {products} products, "
            f"3 channels, price lists, promotions and the demo accounts. {work}")
