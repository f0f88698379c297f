"""Browsing: home, category pages with facets, product pages, search."""
from __future__ import annotations

from flask import Blueprint, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from core.orders import promises as promising
from core.parsing import parse_int
from core.web.db import db_session
from core.web.htmx import htmx
from core.web.render import redirect_to, render_page
from core.workflows import shop_catalogue as queries
from core.workflows.shop_catalogue import SORTS, Filters
from core.workflows.seo import category_trail
from storefront import seo
from storefront.cart import take_quantity_problem
from storefront.viewer import viewer

bp = Blueprint("shop", __name__)
PER_PAGE = 24
MAX_QUANTITY = 9999
# When things ship, in the same words on every storefront page (core.orders.promises).
bp.app_template_filter("promise_text")(promising.describe)
bp.app_template_filter("ship_day")(promising.day)
bp.app_template_filter("line_promise")(promising.line_status)


def navigation() -> dict:
    """Top categories for the header of every page (one small query).

    An error page must render even when the database is what failed.
    """
    try:
        return {"nav_categories": queries.top_categories(db_session)}
    except SQLAlchemyError:
        db_session.rollback()
        return {"nav_categories": []}


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(int(request.args.get(name, default)), high))
    except ValueError:
        return default


@bp.get("/")
def home():
    channel, ctx = viewer()
    newest = queries.browse(db_session, ctx, channel.id, filters=Filters(sort="newest"),
                            per_page=8, facets=False)
    return render_page("shop/home.html", featured=newest.items, ctx=ctx, seo=seo.page_meta())


def _too_broad(template: str, err: queries.ListingTooBroad, **context):
    """A listing past a cap (too many filters, too deep a page): the page with the message,
    400 (200 to htmx, which swaps only successful answers)."""
    return render_page(template, block="results", status=200 if htmx else 400,
                       page=queries.Listing([], 1, PER_PAGE, 0), filters=Filters(), sorts=SORTS,
                       problem=str(err), **context)


# Listings are not rate-limited: a counter would cost a database write on the busiest GETs.
# Instead one request's cost is capped (core.workflows.shop_catalogue MAX_*) and totals and facets
# are cached (LISTING_CACHE_SECONDS).
@bp.get("/c/<slug>")
def category(slug: str):
    channel, ctx = viewer()
    found = queries.category_by_slug(db_session, slug)
    trail = category_trail(db_session, found)
    number = _int_arg("page", 1, 1, 10_000)
    try:
        filters = Filters.parse(request.args)
        page = queries.browse(db_session, ctx, channel.id, category=found, filters=filters,
                              page=number, per_page=PER_PAGE)
    except queries.ListingTooBroad as err:
        return _too_broad("shop/category.html", err, category=found, ctx=ctx, trail=trail,
                          seo=seo.category_meta(found, trail, total=0, page=number))
    return render_page("shop/category.html", block="results", category=found, page=page,
                       filters=filters, sorts=SORTS, ctx=ctx, trail=trail,
                       seo=seo.category_meta(found, trail, total=page.total, page=number))


@bp.get("/search")
def search():
    channel, ctx = viewer()
    text = request.args.get("q", "").strip()[:200]
    try:
        filters = Filters.parse(request.args, default_sort="relevance")
        page = queries.browse(db_session, ctx, channel.id, query=text, filters=filters,
                              page=_int_arg("page", 1, 1, 10_000), per_page=PER_PAGE)
    except queries.ListingTooBroad as err:
        return _too_broad("shop/search.html", err, q=text, ctx=ctx, seo=seo.search_meta(text))
    return render_page("shop/search.html", block="results", q=text, page=page, filters=filters,
                       sorts=SORTS, ctx=ctx, seo=seo.search_meta(text))


@bp.get("/p/<slug>")
def product(slug: str):
    channel, ctx = viewer()
    quantity = _int_arg("quantity", 1, 1, MAX_QUANTITY)
    view = queries.product_page(db_session, ctx, channel.id, slug, quantity=quantity,
                                variant_id=_int_arg("variant", 0, 0, 2**31))
    trail = category_trail(db_session, view.product.category)
    return render_page("shop/product.html", block="offer", view=view, product=view.product,
                       ctx=ctx, trail=trail,
                       seo=seo.product_meta(view, trail, view.chosen, view.offer),
                       variants=view.variants, chosen=view.chosen, quantity=quantity,
                       offer=view.offer, breaks=view.breaks, problem=view.problem,
                       quantity_problem=take_quantity_problem())


@bp.post("/p/<slug>")
def product_refresh(slug: str):
    """Without JavaScript, "Update price" sends the add-to-cart form here (the quantity and
    variant belong to that form, so that what is typed is what is added): back to the page
    with the price of that variant and quantity. A GET form would put the form's CSRF token
    in the address."""
    chosen = {name: value for name in ("variant", "quantity")
              if (value := parse_int(request.form.get(name), low=1, high=2**31)) is not None}
    return redirect_to(url_for("shop.product", slug=slug, **chosen))
