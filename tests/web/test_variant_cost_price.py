"""The console's variant form carries the standard cost price (EUR, per unit)."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.catalog.models import Variant
from tests.web.conftest import catalog_post

FIELDS = {"sku": "NTB-A5-RUL-RED", "name": "Red", "attributes": "Colour=Red",
          "weight_grams": "600", "active": "y"}


@pytest.fixture
def variant(db):
    return db.scalar(select(Variant).where(Variant.sku == "NTB-A5-RUL-RED"))


def _save(client, variant, cost: str):
    return catalog_post(client, f"/catalog/variants/{variant.id}", {**FIELDS, "cost_price": cost})


def test_the_variant_page_shows_the_cost_price_field_with_its_label(catalog_client, variant):
    html = catalog_client.get(f"/catalog/variants/{variant.id}").get_data(as_text=True)
    assert '<label for="cost_price">Cost price (EUR, per unit)</label>' in html
    assert f'value="{variant.cost_price.normalize():f}"' in html


@pytest.mark.parametrize("typed, saved", [("7,40", Decimal("7.40")), ("0", Decimal(0)),
                                          ("", None)])
def test_a_cost_price_is_saved_changed_or_cleared(catalog_client, db, variant, typed, saved):
    response = _save(catalog_client, variant, typed)
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Variant, variant.id).cost_price == saved


@pytest.mark.parametrize("typed, message", [
    ("-3", "The cost price is 0 or more"), ("abc", "Enter the amount as a number")])
def test_a_bad_cost_price_comes_back_with_a_message_at_the_field(catalog_client, db, variant,
                                                                  typed, message):
    before = variant.cost_price
    response = _save(catalog_client, variant, typed)
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 422)
    error = html.split('id="cost_price-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'value="{typed}"' in html  # what was typed comes back
    db.expire_all()
    assert db.get(Variant, variant.id).cost_price == before
