"""Product relations in the console: cross-sell, up-sell and accessory suggestions, added by
SKU, slug or name, removed, and ordered within their kind."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.catalog.models import RELATION_KINDS, Product, ProductRelation, Variant
from core.catalog.products import record_change, refuse

KIND_LABELS = {"cross_sell": "Cross-sell", "up_sell": "Up-sell", "accessory": "Accessory"}


def relations_of(session: Session, product_id: int) -> list[ProductRelation]:
    """The product's relations by kind and position, with the related products (one query)."""
    return list(session.scalars(
        select(ProductRelation).where(ProductRelation.product_id == product_id)
        .options(joinedload(ProductRelation.related))
        .order_by(ProductRelation.kind, ProductRelation.position, ProductRelation.id)))


def find_product(session: Session, ref: str, field_name: str = "related") -> Product:
    """The product a person means by a SKU, a slug or its exact name."""
    ref = (ref or "").strip()
    if not ref:
        refuse("Enter the SKU or name of the related product.", field_name)
    found = session.scalar(select(Product).join(Variant).where(func.lower(Variant.sku)
                                                               == ref.lower()))
    found = found or session.scalar(select(Product).where(Product.slug == ref.lower()))
    if found is None:
        named = list(session.scalars(select(Product).where(
            func.lower(Product.name) == ref.lower()).limit(2)))
        if len(named) > 1:
            refuse(f"More than one product is called {ref}; enter its SKU.", field_name)
        found = named[0] if named else None
    if found is None:
        refuse(f"No product has the SKU, slug or name {ref}.", field_name)
    return found


def add_relation(session: Session, product: Product, *, ref: str, kind: str,
                 actor: audit.Actor) -> ProductRelation:
    """Suggest another product with this one, last in its kind."""
    if kind not in RELATION_KINDS:
        refuse("Choose cross-sell, up-sell or accessory.", "kind")
    related = find_product(session, ref)
    if related.id == product.id:
        refuse("A product cannot be related to itself.", "related")
    if session.scalar(select(ProductRelation.id).where(
            ProductRelation.product_id == product.id, ProductRelation.related_id == related.id,
            ProductRelation.kind == kind)) is not None:
        refuse(f"{related.name} is already a {KIND_LABELS[kind].lower()} of this product.",
               "related")
    position = session.scalar(select(func.coalesce(func.max(ProductRelation.position), -1))
                              .where(ProductRelation.product_id == product.id,
                                     ProductRelation.kind == kind)) + 1
    relation = ProductRelation(product_id=product.id, related_id=related.id, kind=kind,
                               position=position)
    session.add(relation)
    session.flush()
    record_change(session, "product_relation.added", actor, product,
                  {"related_id": related.id, "kind": kind})
    return relation


def remove_relation(session: Session, relation: ProductRelation, *, actor: audit.Actor) -> None:
    record_change(session, "product_relation.removed", actor, relation,
                  {"product_id": relation.product_id, "related_id": relation.related_id,
                   "kind": relation.kind})
    session.delete(relation)
    session.flush()


def move_relation(session: Session, relation: ProductRelation, direction: str, *,
                  actor: audit.Actor) -> None:
    """Swap a relation with its neighbour of the same kind."""
    siblings = list(session.scalars(select(ProductRelation).where(
        ProductRelation.product_id == relation.product_id,
        ProductRelation.kind == relation.kind)
        .order_by(ProductRelation.position, ProductRelation.id)))
    i = siblings.index(relation)
    j = i - 1 if direction == "up" else i + 1
    if direction in ("up", "down") and 0 <= j < len(siblings):
        siblings[i], siblings[j] = siblings[j], siblings[i]
        for n, r in enumerate(siblings):
            r.position = n
        session.flush()
        record_change(session, "product_relation.moved", actor, relation,
                      {"direction": direction})
