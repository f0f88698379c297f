"""The demo shop: a distributor of office and coffee equipment, and the demo accounts."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.agents.services import create_agent
from core.auth.passwords import hash_password
from core.catalog.models import Category, Product, Variant
from core.customers.models import Customer, CustomerUser
from core.customers.services import phone_digits, register_customer
from core.inventory.models import StockLevel
from core.numbering import ensure_series, next_number

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
AGENTS = [
    ("agent@marketline.example", "Alex Agent", ["agent"]),
    ("supervisor@marketline.example", "Sue Supervisor", ["agent", "supervisor"]),
]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Product))


def load_catalogue(session: Session) -> int:
    """Categories, products, variants and stock of the demo shop. Returns the product count."""
    count = 0
    for position, (slug, name, description, products) in enumerate(CATALOGUE):
        category = Category(slug=slug, name=name, description=description, position=position)
        session.add(category)
        for product_name, brand, text, variants in products:
            product = Product(slug=slugify(f"{brand} {product_name}"), name=product_name,
                              brand=brand, description=text, category=category)
            session.add(product)
            count += 1
            for sku, variant_name, price, stock, attributes in variants:
                variant = Variant(product=product, sku=sku, name=variant_name,
                                  price=Decimal(price), currency="EUR", attributes=attributes)
                session.add(variant)
                session.add(StockLevel(variant=variant, warehouse="MAIN", on_hand=stock))
    session.flush()
    return count


def load_accounts(session: Session) -> None:
    """The demo shopper, Acme Corp with its buyer, and the console agents."""
    register_customer(session, password=DEMO_PASSWORD, **CONSUMER)
    acme = Customer(number=next_number(session, "customer"), kind="company",
                    name=COMPANY["name"], email=COMPANY["email"], phone=COMPANY["phone"],
                    phone_digits=phone_digits(COMPANY["phone"]), price_group="business",
                    payment_terms="net30")
    session.add(acme)
    session.add(CustomerUser(customer=acme, email=BUYER["email"], full_name=BUYER["full_name"],
                             password_hash=hash_password(DEMO_PASSWORD), role="buyer"))
    for email, name, roles in AGENTS:
        create_agent(session, email=email, full_name=name, password=DEMO_PASSWORD, roles=roles,
                     actor=audit.Actor.system("demo"))
    session.flush()


def load_demo(session: Session) -> str:
    """Everything a newcomer's first look needs. Flushes; the caller commits."""
    ensure_series(session)
    products = load_catalogue(session)
    load_accounts(session)
    return f"Loaded the demo shop: {len(CATALOGUE)} categories, {products} products, demo accounts."
