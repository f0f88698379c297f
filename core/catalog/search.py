"""Full-text product search behind one interface: SQLite FTS5 or PostgreSQL tsvector.

Both index a product's name and SKUs (weighted most), brand, then description, and both
match every word of the query as a prefix ("pap a4" finds PAP-A4-80). The table is made
by the migrations (it is not an ORM model); `reindex` keeps it in step with products.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Float, Integer, text
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


def matches(session: Session, query: str, *, ranked: bool = True) -> Select | None:
    """A SELECT of (product_id, score) for products matching every word; higher score first.

    None when the query has no searchable word. `ranked=False` skips scoring (score 0):
    counting and facets need only which products match, and ranking thousands of matches
    is most of the cost of a broad search.
    """
    terms = words(query)
    if not terms:
        return None
    if _dialect(session) == "postgresql":
        tsquery = " & ".join(f"{t}:*" for t in terms)
        score = "ts_rank(document, to_tsquery('simple', :q))" if ranked else "0"
        stmt = text(f"SELECT product_id, {score} AS score "
                    f"FROM {TABLE} WHERE document @@ to_tsquery('simple', :q)")
    else:
        tsquery = " AND ".join(f'"{t}"*' for t in terms)
        # bm25 is lower-better; negate it so both backends sort by score descending.
        score = f"-bm25({TABLE}, 0.0, 10.0, 8.0, 4.0, 1.0)" if ranked else "0"
        stmt = text(f"SELECT product_id, {score} AS score FROM {TABLE} WHERE {TABLE} MATCH :q")
    name = "search" if ranked else "search_match"
    return stmt.bindparams(q=tsquery).columns(product_id=Integer, score=Float).subquery(name)


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
            INSERT INTO {TABLE} (product_id, document)
            SELECT p.id,
                   setweight(to_tsvector('simple', p.name), 'A') ||
                   setweight(to_tsvector('simple', coalesce(string_agg(
                       v.sku || ' ' || regexp_replace(v.sku, '[^A-Za-z0-9]+', ' ', 'g'), ' '), '')), 'A') ||
                   setweight(to_tsvector('simple', p.brand), 'B') ||
                   setweight(to_tsvector('simple', p.description), 'D')
            FROM products p LEFT JOIN variants v ON v.product_id = p.id
            {where} GROUP BY p.id"""))
    else:
        session.execute(text(f"""
            INSERT INTO {TABLE} (product_id, name, skus, brand, description)
            SELECT p.id, p.name, coalesce(group_concat(v.sku, ' '), ''), p.brand, p.description
            FROM products p LEFT JOIN variants v ON v.product_id = p.id
            {where} GROUP BY p.id"""))
