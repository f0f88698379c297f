"""factory_boy factories bound to the test's session (see the `db` fixture)."""
from __future__ import annotations

from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from core.agents.models import Agent
from core.auth.passwords import hash_password
from core.catalog.models import Category, Product, Variant
from core.pricing.models import PriceList, PriceListEntry, TaxCategory
from core.customers.models import Customer, CustomerUser
from core.inventory.models import StockLevel, StockMovement

PASSWORD = "factory-pass-1"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2id is slow on purpose
_session = None


def bind(session) -> None:
    global _session
    _session = session


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: _session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class CustomerFactory(Base):
    class Meta:
        model = Customer

    number = factory.Sequence(lambda n: f"C-T{n:06d}")
    kind = "person"
    name = factory.Sequence(lambda n: f"Test Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@test.example")


class CustomerUserFactory(Base):
    class Meta:
        model = CustomerUser

    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda o: o.customer.email)
    full_name = factory.LazyAttribute(lambda o: o.customer.name)
    password_hash = _PASSWORD_HASH


class AgentFactory(Base):
    class Meta:
        model = Agent

    email = factory.Sequence(lambda n: f"agent{n}@test.example")
    full_name = factory.Sequence(lambda n: f"Agent {n}")
    password_hash = _PASSWORD_HASH
    roles_text = "agent"


class CategoryFactory(Base):
    class Meta:
        model = Category

    slug = factory.Sequence(lambda n: f"test-category-{n}")
    name = factory.Sequence(lambda n: f"Test Category {n}")

    @factory.post_generation
    def set_path(obj, create, extracted, **kwargs):
        _session.flush()
        obj.path = f"{obj.parent.path if obj.parent else '/'}{obj.id}/"


def tax_category(code: str = "standard") -> TaxCategory:
    from sqlalchemy import select
    return _session.scalar(select(TaxCategory).where(TaxCategory.code == code))


def retail_list() -> PriceList:
    from sqlalchemy import select
    return _session.scalar(select(PriceList).where(PriceList.code == "retail-eur"))


class ProductFactory(Base):
    class Meta:
        model = Product

    slug = factory.Sequence(lambda n: f"test-product-{n}")
    name = factory.Sequence(lambda n: f"Test Product {n}")
    category = factory.SubFactory(CategoryFactory)
    tax_category_id = factory.LazyFunction(lambda: tax_category().id)


class VariantFactory(Base):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"TST-{n:05d}")

    @factory.post_generation
    def price(obj, create, extracted, **kwargs):
        """VariantFactory(price=Decimal("9.99")) puts a retail price (incl. VAT) on it."""
        amount = Decimal("9.99") if extracted is None else extracted
        if amount is not False:
            _session.add(PriceListEntry(price_list=retail_list(), variant=obj, min_quantity=1,
                                        unit_price=amount))
            _session.flush()


class PriceEntryFactory(Base):
    class Meta:
        model = PriceListEntry

    price_list = factory.LazyFunction(retail_list)
    variant = factory.SubFactory(VariantFactory, price=False)
    min_quantity = 1
    unit_price = Decimal("9.99")


class StockLevelFactory(Base):
    class Meta:
        model = StockLevel

    variant = factory.SubFactory(VariantFactory)
    on_hand = 10

    @factory.post_generation
    def opening(level, create, extracted, **kwargs):
        """The journal says what the row says: an opening movement."""
        if create:
            _session.add(StockMovement(variant_id=level.variant_id, warehouse=level.warehouse,
                                       kind="opening", quantity=level.on_hand,
                                       reserved=level.reserved or 0, reference="factory",
                                       by="tests"))
            _session.flush()
