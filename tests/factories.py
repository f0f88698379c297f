"""factory_boy factories bound to the test's session (see the `db` fixture)."""
from __future__ import annotations

from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from core.agents.models import Agent
from core.auth.passwords import hash_password
from core.catalog.models import Category, Product, Variant
from core.customers.models import Customer, CustomerUser
from core.inventory.models import StockLevel

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


class ProductFactory(Base):
    class Meta:
        model = Product

    slug = factory.Sequence(lambda n: f"test-product-{n}")
    name = factory.Sequence(lambda n: f"Test Product {n}")
    category = factory.SubFactory(CategoryFactory)


class VariantFactory(Base):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"TST-{n:05d}")
    price = Decimal("9.99")
    currency = "EUR"


class StockLevelFactory(Base):
    class Meta:
        model = StockLevel

    variant = factory.SubFactory(VariantFactory)
    on_hand = 10
