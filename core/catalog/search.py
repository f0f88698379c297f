"""Full-text product search behind one interface: SQLite FTS5 or PostgreSQL tsvector.

Both index a product's name and SKUs (weighted most), brand, then description, and both
match every word of the query as a prefix ("pap a4" finds PAP-A4-80). The table is made
by the migrations (it is not an ORM model); `reindex` keeps it in step with products.

Best match is a ranking in two tiers (`tiers`): first the products whose title (name, SKUs
and brand) holds every word, then those that need the description too, each tier by name.
Scoring every match (ts_rank, bm25) cost a broad search most of its time: "paper" matches
6,500 of 100,000 products, and each had to be scored and sorted to show 24. By tier and
name, the database walks the name index and stops at the page: on PostgreSQL the table
also keeps the title as a vector of its own (`title`, GIN-indexed) and the name (btree),
migration 0020. The description tier is read only when the title tier does not fill the page.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Integer, String, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

TABLE = "product_search"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORDS = 8


def words(query: str) -> list[str]:
    """The searchable words of a query: letters and digits, lower case, at most eight."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_WORDS]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def matches(session: Session, query: str) -> Select | None:
    """A SELECT of the product_id of every product matching every word (for totals, facets
    and the other sorts); None when the query has no searchable word."""
    terms = words(query)
    if not terms:
        return None
    anywhere, _ = _queries(session, terms)
    if _dialect(session) == "postgresql":
        stmt = text(f"SELECT product_id FROM {TABLE} WHERE document @@ to_tsquery('simple', :q)")
    else:
        stmt = text(f"SELECT product_id FROM {TABLE} WHERE {TABLE} MATCH :q")
    return stmt.bindparams(q=anywhere).columns(product_id=Integer).subquery("search_match")


# The title: what a product is called and sold as (FTS5 columns; on PostgreSQL, `title`).
TITLE_COLUMNS = ("name", "skus", "brand")


def _queries(session: Session, terms: list[str]) -> tuple[str, str]:
    """(every word anywhere, every word in the title) in the backend's query syntax."""
    if _dialect(session) == "postgresql":
        anywhere = " & ".join(f"{t}:*" for t in terms)
        return anywhere, anywhere
    anywhere = " AND ".join(f'"{t}"*' for t in terms)
    return anywhere, "{" + " ".join(TITLE_COLUMNS) + "} : (" + anywhere + ")"


def tiers(session: Session, query: str) -> tuple[Select, Select] | None:
    """(title matches, the other matches) as SELECTs of (product_id, name), for best match:
    every word in the title first, then every word anywhere but not all in the title.
    None when the query has no searchable word."""
    terms = words(query)
    if not terms:
        return None
    anywhere, title = _queries(session, terms)
    if _dialect(session) == "postgresql":
        first = text(f"SELECT product_id, name FROM {TABLE} "
                     "WHERE title @@ to_tsquery('simple', :t)").bindparams(t=title)
        rest = text(f"SELECT product_id, name FROM {TABLE} "
                    "WHERE document @@ to_tsquery('simple', :q) "
                    "AND NOT title @@ to_tsquery('simple', :t)").bindparams(q=anywhere, t=title)
    else:
        first = text(f"SELECT product_id, name FROM {TABLE} WHERE {TABLE} MATCH :t"
                     ).bindparams(t=title)
        rest = text(f"SELECT product_id, name FROM {TABLE} WHERE {TABLE} MATCH :q "
                    f"AND product_id NOT IN (SELECT product_id FROM {TABLE} "
                    f"WHERE {TABLE} MATCH :t)").bindparams(q=anywhere, t=title)
    return (first.columns(product_id=Integer, name=String).subquery("title_match"),
            rest.columns(product_id=Integer, name=String).subquery("other_match"))


def reindex(session: Session, product_ids: Iterable[int] | None = None) -> None:
    """Rebuild the index rows of these products (all products when None). Flushes first."""
    session.flush()
    ids = None if product_ids is None else sorted(set(product_ids))
    if ids == []:
        return
    where = "" if ids is None else f"WHERE p.id IN ({', '.join(str(int(i)) for i in ids)})"
    delete_where = "" if ids is None else f"WHERE product_id IN ({', '.join(str(int(i)) for i in ids)})"
    session.execute(text(f"DELETE FROM {TABLE} {delete_where}"))
    if _dialect(session) == "postgresql":
        session.execute(text(f"""
            INSERT INTO {TABLE} (product_id, name, title, document)
            SELECT id, name, title, title || setweight(to_tsvector('simple', description), 'D')
            FROM (SELECT p.id, p.name, p.description,
                         setweight(to_tsvector('simple', p.name), 'A') ||
                         setweight(to_tsvector('simple', coalesce(string_agg(
                             v.sku || ' ' || regexp_replace(v.sku, '[^A-Za-z0-9]+', ' ', 'g'),
                             ' '), '')), 'A') ||
                         setweight(to_tsvector('simple', p.brand), 'B') AS title
                  FROM products p LEFT JOIN variants v ON v.product_id = p.id
                  {where} GROUP BY p.id) AS indexed"""))
    else:
        session.execute(text(f"""
            INSERT INTO {TABLE} (product_id, name, skus, brand, description)
            SELECT p.id, p.name, coalesce(group_concat(v.sku, ' '), ''), p.brand, p.description
            FROM products p LEFT JOIN variants v ON v.product_id = p.id
            {where} GROUP BY p.id"""))
