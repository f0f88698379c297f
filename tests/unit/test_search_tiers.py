"""Best match in two tiers (core.catalog.search.tiers): every word in the title (name, SKUs,
brand) first, then the products that need their description, each tier by name; pages run
across the tiers without a gap or a repeat. On SQLite (FTS5) and PostgreSQL (tsvector)."""
from core.catalog import search
from core.pricing import services as pricing
from core.workflows.shop_catalogue import Filters, browse
from tests.factories import CategoryFactory, ProductFactory, StockLevelFactory, VariantFactory


def _product(category, name, description="", brand="", sku=None):
    product = ProductFactory(category=category, name=name, description=description, brand=brand)
    variant = VariantFactory(product=product, **({"sku": sku} if sku else {}))
    StockLevelFactory(variant=variant)
    return product


def _names(db, query, page, per_page=2):
    channel = pricing.get_channel(db, "web-b2c")
    listing = browse(db, pricing.make_context(channel), channel.id, query=query,
                     filters=Filters(sort="relevance"), page=page, per_page=per_page,
                     facets=False)
    return [card.name for card in listing.items]


def test_title_matches_come_first_each_tier_by_name_and_pages_cross_the_tiers(db):
    shelf = CategoryFactory()
    _product(shelf, "Zylo Quokkabook Journal")
    _product(shelf, "Ample Notebook", description="Quokkabook refill pages")
    _product(shelf, "Basic Quokkabook Cover")
    _product(shelf, "Plain Binder", brand="Quokkabook")  # the brand is part of the title
    _product(shelf, "Cedar Folder", sku="QUOKKABOOK-77")  # and so is the SKU
    _product(shelf, "Aardvark Pad", description="For quokkabook owners")
    _product(shelf, "Unrelated Stapler", description="staples")
    search.reindex(db)

    everything = _names(db, "quokkabook", 1, per_page=10)
    assert everything == ["Basic Quokkabook Cover", "Cedar Folder", "Plain Binder",
                          "Zylo Quokkabook Journal",  # the title tier, by name
                          "Aardvark Pad", "Ample Notebook"]  # then the description tier
    pages = [_names(db, "quokkabook", page) for page in (1, 2, 3, 4)]
    assert pages == [everything[0:2], everything[2:4], everything[4:6], []]


def test_every_word_must_be_in_the_title_for_the_first_tier(db):
    shelf = CategoryFactory()
    _product(shelf, "Wombat Marker Red", description="a wombat marker")
    _product(shelf, "Wombat Eraser", description="erases marker ink")
    _product(shelf, "Alpha Marker", description="wombat safe")
    search.reindex(db)
    assert _names(db, "wombat marker", 1, per_page=10) == [
        "Wombat Marker Red", "Alpha Marker", "Wombat Eraser"]
    assert _names(db, "wombat mark", 1, per_page=10)[0] == "Wombat Marker Red"  # prefixes
