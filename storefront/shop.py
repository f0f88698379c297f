"""Browsing: home, category pages, product pages, search."""
from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy.exc import SQLAlchemyError

from core.catalog import queries
from core.web.db import db_session
from core.web.render import render_page

bp = Blueprint("shop", __name__)
PER_PAGE = 24


def navigation() -> dict:
    """Top categories for the header of every page (one small query).

    An error page must render even when the database is what failed.
    """
    try:
        return {"nav_categories": queries.top_categories(db_session)}
    except SQLAlchemyError:
        db_session.rollback()
        return {"nav_categories": []}


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


@bp.get("/")
def home():
    return render_page("shop/home.html")


@bp.get("/c/<slug>")
def category(slug: str):
    found = queries.category_by_slug(db_session, slug)
    page = queries.products_in_category(db_session, found, page=_page_number(), per_page=PER_PAGE)
    return render_page("shop/category.html", block="results", category=found, page=page)


@bp.get("/p/<slug>")
def product(slug: str):
    found, available = queries.product_by_slug(db_session, slug)
    return render_page("shop/product.html", product=found, available=available)


@bp.get("/search")
def search():
    text = request.args.get("q", "").strip()[:200]
    page = queries.search_products(db_session, text, page=_page_number(), per_page=PER_PAGE)
    return render_page("shop/search.html", block="results", q=text, page=page)
