"""The ceiling: the fastest honest page Flask + SQLAlchemy 2 can serve here (BENCHMARKS.md).

    DATABASE_URL=... gunicorn -w 3 --threads 1 -k sync bench.ceiling:app

`GET /` lists 24 rows of the products table through a Jinja template with 3 SQL queries,
all of them index lookups whose cost does not grow with the table:

1. the top categories (for a navigation bar, like the shop's header),
2. 24 active products, in primary-key order (`?page=N` pages on),
3. the first SKU and the available units of each of those 24 products: variants joined to
   their stock levels, `product_id IN (...)`, grouped by product.

It reads only columns that the catalogue has had from the start (categories, products,
variants.sku, stock_levels), so it survives changes to how prices are kept.

Same database as the app (DATABASE_URL, default the app's SQLite file), same engine
settings (core.db.make_engine), a session per request closed at teardown, like the app.
`GET /bare` is a bare Flask route with no SQL and no template, for reference.
Every page of the real app is reported as a ratio to this one's req/s.
"""
from __future__ import annotations

import os

from flask import Flask, g, render_template, request
from sqlalchemy import func, select

from core.catalog.models import Category, Product, Variant
from core.config import load_settings
from core.db import make_engine, make_session_factory
from core.inventory.models import StockLevel

PER_PAGE = 24

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Products · page {{ page }}</title></head>
<body>
<nav><ul>
{%- for c in categories %}
  <li><a href="/c/{{ c.slug }}">{{ c.name }}</a></li>
{%- endfor %}
</ul></nav>
<main>
<h1>Products</h1>
<ul class="grid">
{%- for p in products %}
  <li><article class="card">
    <h2><a href="/p/{{ p.slug }}">{{ p.name }}</a></h2>
    {% if p.brand %}<p class="muted">{{ p.brand }}</p>{% endif %}
    {% set sku, available = stock.get(p.id, ("", 0)) %}
    <p class="sku">SKU {{ sku }}</p>
    {% if available > 0 %}<p class="stock-in">In stock</p>{% else %}<p class="stock-out">Out of stock</p>{% endif %}
  </article></li>
{%- endfor %}
</ul>
<nav class="pager"><a href="?page={{ page + 1 }}" rel="next">Next page</a></nav>
</main>
</body>
</html>
"""


def create_app(database_url: str | None = None) -> Flask:
    database_url = database_url or os.environ.get("DATABASE_URL") or load_settings().DATABASE_URL
    app = Flask(__name__)
    sessions = make_session_factory(make_engine(database_url))
    template = app.jinja_env.from_string(PAGE)

    def db():
        if "db" not in g:
            g.db = sessions()
        return g.db

    @app.teardown_appcontext
    def _close(_exc):
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.get("/")
    def products():
        try:
            page = max(1, min(int(request.args.get("page", 1)), 1000))
        except ValueError:
            page = 1
        session = db()
        categories = session.execute(
            select(Category.slug, Category.name).where(Category.parent_id.is_(None))
            .order_by(Category.position, Category.name)).all()
        rows = session.execute(
            select(Product.id, Product.slug, Product.name, Product.brand)
            .where(Product.active).order_by(Product.id)
            .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        stock = {product_id: (sku, int(available or 0)) for product_id, sku, available in
                 session.execute(
                     select(Variant.product_id, func.min(Variant.sku),
                            func.sum(StockLevel.on_hand - StockLevel.reserved))
                     .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
                     .where(Variant.product_id.in_([r.id for r in rows]), Variant.active)
                     .group_by(Variant.product_id))}
        return render_template(template, categories=categories, products=rows, stock=stock,
                               page=page)

    @app.get("/bare")
    def bare():
        return "ok"

    return app


app = create_app()
