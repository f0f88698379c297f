"""Console sign-in and the start page."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, request, url_for

from core.agents import services as agents
from core.reporting import operations_overview
from core.errors import DomainError
from core.workflows.customer_search import MIN_CONTAINS, search_customers
from core.web.auth import current_account, login_limit, sign_out
from core.web.db import db_session
from core.web.htmx import htmx
from core.web.render import redirect_to, render_page
from callcenter import customers, two_step
from callcenter.documents import document_hit, open_document
from callcenter.access import requires_role
from callcenter.doc_links import LINKS
from callcenter.forms import AgentSignInForm

bp = Blueprint("console", __name__)


# Each block of the start page, and the console page whose roles decide who sees it: an
# agent sees the work they may act on (callcenter.access keeps each view's roles).
BLOCK_PAGES = {"search": "customers.show", "orders": "order_entry.new",
               "holds": "console_orders.holds", "returns": "returns.approve",
               "quotes": "quotes.editor", "follow_ups": "collections.mine",
               "low_stock": "stock.receive", "to_release": "fulfilment.release",
               "to_ship": "fulfilment.ship"}
# Where a document named in a sentence opens, and the name of its URL argument.
SEARCH_RESULTS = 8


def _may_open(endpoint: str) -> bool:
    roles = getattr(current_app.view_functions[endpoint], "required_roles", frozenset())
    return current_account().has_role(*roles)


@bp.get("/")
@requires_role("agent", "supervisor", "credit", "catalog", "warehouse", "billing", "manager")
def home():
    show = {b for b, endpoint in BLOCK_PAGES.items() if _may_open(endpoint)} | {"activity"}
    page = operations_overview(db_session, agent_id=current_account().id, show=show)
    links = {kind: link for kind, link in LINKS.items() if _may_open(link[0])}
    return render_page("console/home.html", agent=current_account(), page=page, show=show,
                       links=links, q="", hits=[], document=None)


@bp.get("/find", endpoint="find")
@requires_role(*customers.ROLES)
def find():
    """The start page's customer search: its results as a fragment (htmx, as the agent
    types); without JavaScript (Enter), the one customer found, or the customer search."""
    q = " ".join(request.args.get("q", "").split())[:100]
    if not htmx:
        return _open(q)
    hits = search_customers(db_session, q, limit=SEARCH_RESULTS + 1) if q else []
    return render_page("console/home.html", block="search_results", fragment=True, q=q,
                       hits=hits[:SEARCH_RESULTS], more=len(hits) > SEARCH_RESULTS,
                       min_chars=MIN_CONTAINS, document=document_hit(q) if q else None)


def _open(q: str):
    """Enter in a search box: the document numbered `q` (SO-, INV-, RMA-, QT-), else the
    one customer found, else the customer search with its results."""
    if q and (answer := open_document(q)) is not None:
        return answer
    hits = search_customers(db_session, q, limit=2) if q else []
    if len(hits) == 1:
        return redirect_to(url_for("customers.show", number=hits[0].number))
    return redirect_to(url_for("customers.search", q=q or None))


@bp.get("/go", endpoint="go")
@requires_role("agent", "supervisor", "credit", "catalog", "warehouse", "billing", "manager")
def go():
    """The header's search box (every console page, "/" focuses it): a document number
    opens the document; other text searches customers, for the roles that may."""
    q = " ".join(request.args.get("q", "").split())[:100]
    if _may_open("customers.search"):
        return _open(q)
    if q and (answer := open_document(q)) is not None:
        return answer
    return render_page("console/document_refused.html", status=404 if q else 200, hit=None,
                       q=q)


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_view():
    form = AgentSignInForm()
    if form.validate_on_submit():
        try:
            agent = agents.authenticate(db_session, email=form.email.data,
                                        password=form.password.data,
                                        remote_addr=request.remote_addr, limit=login_limit(),
                                        commit=db_session.commit)
        except DomainError as err:
            db_session.commit()
            form.form_errors.append(str(err))
        else:
            return two_step.after_first_step(agent, via="password")
    return render_page("console/sign_in.html", block="form", form=form)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_view():
    sign_out()
    db_session.commit()
    flash("You are signed out.", "info")
    return redirect_to(url_for("console.sign_in"))
