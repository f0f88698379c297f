"""What search engines and link previews read: /robots.txt, the sitemaps, and each page's
meta description, canonical link, Open Graph tags and JSON-LD (shop/_seo.html renders
them; core.workflows.seo builds the data).

Every absolute address comes from SHOP_URL (core.links), never from the request's Host.
Canonical links drop the query string (filters, sorts, the chosen variant), except a
listing's page beyond the first. Private pages (the account, checkout, pay links) and every
page a signed-in customer sees are `noindex`; robots.txt keeps crawlers out of them and out
of parameterised listings and search. The cart is a public page (an anonymous visitor's cart
is empty to a crawler), so it stays crawlable: Lighthouse's SEO audit reads it too."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, request

from core import links
from core.config import Settings
from core.pricing import services as pricing
from core.web.auth import current_account
from core.web.db import EXTENSION as SESSIONS, db_session
from core.workflows import seo
from storefront.viewer import B2C

bp = Blueprint("seo", __name__)

# Paths no crawler needs: robots.txt disallows them, and their pages say noindex.
PRIVATE_PATHS = ("/agent/", "/account", "/checkout", "/lists", "/order/", "/orders/",
                 "/pay/", "/quick-order", "/search", "/csp-report")
# Query arguments that only narrow, sort or configure a page already listed elsewhere.
PARAMETERS = ("sort=", "min=", "max=", "in_stock=", "attr.", "variant=", "quantity=",
              "per_page=", "q=")
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _settings() -> Settings:
    return current_app.config["MARKETLINE"]


@dataclass(frozen=True)
class PageMeta:
    """The head of one page for search engines and link previews."""

    description: str
    canonical: str | None = None
    og_type: str = "website"
    image: str | None = None
    noindex: bool = False
    json_ld: tuple[dict, ...] = ()


def private_request() -> bool:
    """Whether this page must not be indexed: a private path, or a signed-in viewer (whose
    pages show their own prices, lists and orders)."""
    return request.path.startswith(PRIVATE_PATHS) or current_account() is not None


def page_meta(*, description: str | None = None, url: str | None = None,
              noindex: bool = False, **fields) -> PageMeta:
    """A page's meta: `description` (default: SHOP_DESCRIPTION), canonical `url` (default:
    this request's path without its query string); none for a page that is not indexed."""
    settings = _settings()
    hidden = noindex or private_request()
    canonical = None if hidden else (url or links.shop_page(settings, request.path))
    return PageMeta(description=seo.describe(description or settings.SHOP_DESCRIPTION),
                    canonical=canonical, noindex=hidden, **fields)


def default_meta() -> dict:
    """For every template: `default_meta()`, the meta of a page whose view sets none."""
    return {"default_meta": page_meta}


def _shop_name() -> str:
    return current_app.jinja_env.globals.get("app_title", "Marketline")


def search_meta(text: str) -> PageMeta:
    """Search results are never indexed (robots.txt keeps crawlers out of them too)."""
    return page_meta(description=f"Products matching “{text}” at {_shop_name()}." if text
                     else None, noindex=True)


def _trail_items(crumbs: Iterable[seo.Crumb]) -> list[tuple[str, str]]:
    settings = _settings()
    return [("Home", links.shop_home(settings))] + [
        (c.name, links.category_page(settings, c.slug)) for c in crumbs]


def category_meta(category, trail: list[seo.Crumb], *, total: int, page: int) -> PageMeta:
    url = links.category_page(_settings(), category.slug) + (f"?page={page}" if page > 1 else "")
    text = seo.category_description(category.name, category.description, total, _shop_name())
    return page_meta(description=text, url=url,
                     json_ld=(seo.breadcrumb_list(_trail_items(trail)),))


def product_meta(view, trail: list[seo.Crumb], chosen, offer) -> PageMeta:
    """Product and BreadcrumbList for a product page, priced as the viewer sees it."""
    settings = _settings()
    product = view.product
    url = links.product_page(settings, product.slug)
    image = links.product_picture(settings, product.image) if product.image else None
    promise = view.promises.get(chosen.id) if chosen is not None else None
    data = seo.product_data(product, chosen, offer, promise, url=url, image=image)
    crumbs = seo.breadcrumb_list(_trail_items(trail) + [(product.name, url)])
    return page_meta(description=product.description or f"{product.name} at {_shop_name()}",
                     url=url,
                     og_type="product", image=image, json_ld=(data, crumbs))


# -- robots.txt and the sitemaps -------------------------------------------------------------

@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", "Allow: /"]
    lines += [f"Disallow: {path}" for path in PRIVATE_PATHS]
    lines += [f"Disallow: /*?{name}" for name in PARAMETERS]
    lines += [f"Disallow: /*&{name}" for name in PARAMETERS]
    lines += ["", f"Sitemap: {links.shop_page(_settings(), '/sitemap.xml')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


def _xml(rows: Iterable[str]) -> Response:
    """An XML answer; a generator of rows is streamed while the client reads."""
    response = Response(rows, mimetype="application/xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _chunks(urls: Iterable[str], *, size: int = 500) -> Iterator[str]:
    """<url> entries, joined `size` at a time (one write per chunk, not per product)."""
    chunk: list[str] = []
    for url in urls:
        chunk.append(f"<url><loc>{escape(url)}</loc></url>\n")
        if len(chunk) >= size:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _urlset(urls: Iterable[str]) -> Iterator[str]:
    yield f'{XML_HEAD}<urlset xmlns="{SITEMAP_NS}">\n'
    yield from _chunks(urls)
    yield "</urlset>\n"


def _channel_id() -> int:
    return pricing.get_channel(db_session, B2C).id


@bp.get("/sitemap.xml")
def sitemap_index():
    """The sitemap index: the home and category pages, then the products in files of at most
    50,000 (sitemaps.org's limit)."""
    settings = _settings()
    parts = max(1, -(-seo.sellable_count(db_session, _channel_id()) // seo.SITEMAP_URLS_PER_FILE))
    files = ["/sitemap-pages.xml"] + [f"/sitemap-products-{n}.xml" for n in range(1, parts + 1)]
    body = [f'{XML_HEAD}<sitemapindex xmlns="{SITEMAP_NS}">\n']
    body += [f"<sitemap><loc>{escape(links.shop_page(settings, f))}</loc></sitemap>\n"
             for f in files]
    body.append("</sitemapindex>\n")
    return Response("".join(body), mimetype="application/xml",
                    headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/sitemap-pages.xml")
def sitemap_pages():
    settings = _settings()
    urls = [links.shop_home(settings)] + [links.category_page(settings, slug)
                                          for slug in seo.active_category_slugs(db_session)]
    return _xml("".join(_urlset(urls)))


@bp.get("/sitemap-products-<int:sitemap_file>.xml")
def sitemap_products(sitemap_file: int):
    settings = _settings()
    channel_id = _channel_id()
    if sitemap_file < 1 or (sitemap_file - 1) * seo.SITEMAP_URLS_PER_FILE >= max(
            seo.sellable_count(db_session, channel_id), 1):
        return Response("No such sitemap.\n", status=404, mimetype="text/plain")
    factory = current_app.extensions[SESSIONS]

    def rows() -> Iterator[str]:
        # Streamed after the view has returned and its request (and session) ended: a
        # session of its own, closed when the last row is sent or the client goes away.
        with factory() as session:
            slugs = seo.sellable_slugs(session, channel_id, part=sitemap_file)
            yield from _urlset(links.product_page(settings, slug) for slug in slugs)

    return _xml(rows())
