"""Master data in the console, so that a shop runs without seed code or a CLI: the category
tree, channels and their warehouses, warehouses, suppliers, tax rates, shipping methods,
console users, and a product's pictures and relations (shown on its catalogue page).

Catalogue data is the catalog role's, the rest the admin's; supervisors may read it all."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user

from core.agents import admin as agents_admin
from core.agents.models import Agent
from core.catalog import categories as tree
from core.catalog import images, relations
from core.catalog.products import channel_codes
from core.catalog.models import Category, Channel, ProductImage, ProductRelation, Product
from core.db import get_or_not_found
from core.inventory import suppliers as supply
from core.inventory import warehouses as stores
from core.inventory.models import ChannelWarehouse, Supplier, Warehouse
from core.orders import shipping_methods as shipping
from core.orders.names import reference_names
from core.orders.shipping import ShippingMethod
from core.pricing import price_lists as pricelists
from core.pricing import tax_rates as taxes
from core.pricing.models import TaxRate
from core.web.auth import current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse
from core.web.render import redirect_to, render_page
from callcenter.access import requires_role
from callcenter.catalog import product_page
from callcenter.catalog_forms import ConfirmForm, options
from callcenter.master_forms import (ROLE_LABELS, AgentForm, AltForm, CategoryForm, ChannelForm,
                                     ChannelWarehouseForm, PictureForm, RelationForm, RolesForm,
                                     ShippingMethodForm, SupplierForm, TaxCategoryForm,
                                     TaxRateForm, WarehouseForm)

bp = Blueprint("master", __name__, url_prefix="/setup")
CATALOG = ("catalog",)            # admin holds every role
READ_CATALOG = ("catalog", "supervisor")
ADMIN = ("admin",)
READ_ADMIN = ("admin", "supervisor")


@bp.before_request
@requires_role("catalog", "admin", "supervisor")
def _only_setup_roles():
    """Every view repeats its own, narrower role."""


@bp.context_processor
def _permissions() -> dict:
    """What the signed-in agent may change: pages show readers no forms."""
    user = current_user.user if current_user.is_authenticated else None
    return {"can_catalog": bool(user and user.has_role("catalog")),
            "can_admin": bool(user and user.has_role("admin"))}


def _saved(message: str, url: str):
    flash(message, "success")
    return redirect_to(url)


def current_user_has(*roles: str) -> bool:
    """For a GET-and-POST view open to readers: may this agent change it?"""
    return current_user.user.has_role(*roles)


def _media_dir() -> Path:
    return Path(current_app.config["MARKETLINE"].MEDIA_DIR)


@bp.get("/", endpoint="index")
@requires_role("catalog", "admin", "supervisor")
def index():
    return render_page("master/index.html")


# --- the category tree ------------------------------------------------------------------------


def _category_form(exclude: Category | None = None, **kwargs) -> CategoryForm:
    form = CategoryForm(**kwargs)
    found = tree.tree(db_session)
    form.parent_id.choices = options([(0, "— top level —")] + [
        (c.id, "\u2003" * tree.depth(c) + c.name) for c in found
        if exclude is None or not c.path.startswith(exclude.path)])
    if form.parent_id.data is None:
        form.parent_id.data = 0
    return form


def _categories_page(form: CategoryForm | None = None):
    categories = tree.tree(db_session)
    return render_page("master/categories.html", categories=categories, depth=tree.depth,
                       form=form or _category_form(formdata=None))


@bp.get("/categories", endpoint="categories")
@requires_role(*READ_CATALOG)
def categories():
    return _categories_page()


@bp.post("/categories", endpoint="new_category")
@requires_role(*CATALOG)
def new_category():
    form = _category_form()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, tree.create_category, form.to_data(),
                                    actor=current_actor()):
            return _saved(f"Category {done.value.name} created.", url_for(".categories"))
    return _categories_page(form)


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"], endpoint="category")
@requires_role(*READ_CATALOG)
def category(category_id: int):
    found = get_or_not_found(db_session, Category, category_id, "category")
    if request.method == "POST":
        if not current_user_has(*CATALOG):
            abort(403)
        form = _category_form(found)
        if form.validate_on_submit():
            if commit_or_refuse(form, tree.update_category, found, form.to_data(),
                                actor=current_actor()):
                return _saved("Category saved.", url_for(".categories"))
        found = db_session.get(Category, category_id)
    else:
        form = _category_form(found, obj=found)
        form.parent_id.data = found.parent_id or 0
    return render_page("master/category.html", category=found, form=form)


@bp.post("/categories/<int:category_id>/move", endpoint="move_category")
@requires_role(*CATALOG)
def move_category(category_id: int):
    found = get_or_not_found(db_session, Category, category_id, "category")
    if ConfirmForm().validate_on_submit():
        tree.move_category(db_session, found, request.form.get("direction", ""),
                           actor=current_actor())
        db_session.commit()
    return redirect_to(url_for(".categories"))


# --- warehouses and suppliers: a list and one edit page each -----------------------------------


@bp.get("/warehouses", endpoint="warehouses")
@requires_role(*READ_ADMIN)
def warehouses():
    return render_page("master/warehouses.html", warehouses=stores.warehouses(db_session))


@bp.route("/warehouses/new", methods=["GET", "POST"], endpoint="new_warehouse")
@requires_role(*ADMIN)
def new_warehouse():
    form = WarehouseForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stores.create_warehouse, form.to_data(),
                                    actor=current_actor()):
            return _saved(f"Warehouse {done.value.code} created.", url_for(".warehouses"))
    return render_page("master/warehouse.html", form=form, record=None)


@bp.route("/warehouses/<int:warehouse_id>", methods=["GET", "POST"], endpoint="warehouse")
@requires_role(*READ_ADMIN)
def warehouse(warehouse_id: int):
    found = get_or_not_found(db_session, Warehouse, warehouse_id, "warehouse")
    if request.method == "POST":
        if not current_user_has(*ADMIN):
            abort(403)
        form = WarehouseForm()
        if form.validate_on_submit():
            if commit_or_refuse(form, stores.update_warehouse, found, form.to_data(),
                                actor=current_actor()):
                return _saved(f"Warehouse {found.code} saved.", url_for(".warehouses"))
        found = db_session.get(Warehouse, warehouse_id)
    else:
        form = WarehouseForm(obj=found)
        form.fill_address(found.address)
    return render_page("master/warehouse.html", form=form, record=found)


@bp.get("/suppliers", endpoint="suppliers")
@requires_role(*READ_CATALOG)
def suppliers():
    return render_page("master/suppliers.html", suppliers=supply.suppliers(db_session))


@bp.route("/suppliers/new", methods=["GET", "POST"], endpoint="new_supplier")
@requires_role(*CATALOG)
def new_supplier():
    form = SupplierForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, supply.create_supplier, form.to_data(),
                                    actor=current_actor()):
            return _saved(f"Supplier {done.value.name} created.", url_for(".suppliers"))
    return render_page("master/supplier.html", form=form, record=None)


@bp.route("/suppliers/<int:supplier_id>", methods=["GET", "POST"], endpoint="supplier")
@requires_role(*READ_CATALOG)
def supplier(supplier_id: int):
    found = get_or_not_found(db_session, Supplier, supplier_id, "supplier")
    if request.method == "POST":
        if not current_user_has(*CATALOG):
            abort(403)
        form = SupplierForm()
        if form.validate_on_submit():
            if commit_or_refuse(form, supply.update_supplier, found, form.to_data(),
                                actor=current_actor()):
                return _saved(f"Supplier {found.name} saved.", url_for(".suppliers"))
        found = db_session.get(Supplier, supplier_id)
    else:
        form = SupplierForm(obj=found)
        form.fill_address(found.address)
    return render_page("master/supplier.html", form=form, record=found)


# --- channels and their warehouses ------------------------------------------------------------


def _channel_form(**kwargs) -> ChannelForm:
    form = ChannelForm(**kwargs)
    form.default_price_list_id.choices = options([(0, "— none —")] + [
        (pl.id, f"{pl.name} ({pl.currency})") for pl in pricelists.by_code(db_session)])
    if form.default_price_list_id.data is None:
        form.default_price_list_id.data = 0
    return form


def _warehouse_form(channel_id: int, **kwargs) -> ChannelWarehouseForm:
    form = ChannelWarehouseForm(prefix=f"channel-{channel_id}", **kwargs)
    form.warehouse_id.choices = options((w.id, f"{w.code} – {w.name}")
                                        for w in stores.warehouses(db_session))
    return form


@bp.get("/channels", endpoint="channels")
@requires_role(*READ_ADMIN)
def channels():
    return render_page("master/channels.html", channels=stores.channels(db_session),
                       links=stores.channel_warehouses(db_session))


def _channel_page(channel: Channel, form=None, warehouse_form=None):
    links = stores.channel_warehouses(db_session).get(channel.id, [])
    return render_page("master/channel.html", channel=channel, links=links,
                       form=form or _channel_form(obj=channel, formdata=None),
                       warehouse_form=warehouse_form or _warehouse_form(channel.id,
                                                                        formdata=None))


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"], endpoint="channel")
@requires_role(*READ_ADMIN)
def channel(channel_id: int):
    found = get_or_not_found(db_session, Channel, channel_id, "channel")
    if request.method == "GET":
        return _channel_page(found)
    if not current_user_has(*ADMIN):
        abort(403)
    form = _channel_form()
    if form.validate_on_submit():
        if commit_or_refuse(form, taxes.update_channel, found, form.to_data(),
                            actor=current_actor()):
            return _saved(f"Channel {found.code} saved.", url_for(".channel",
                                                                  channel_id=channel_id))
    return _channel_page(db_session.get(Channel, channel_id), form=form)


@bp.post("/channels/<int:channel_id>/warehouses", endpoint="add_channel_warehouse")
@requires_role(*ADMIN)
def add_channel_warehouse(channel_id: int):
    found = get_or_not_found(db_session, Channel, channel_id, "channel")
    form = _warehouse_form(channel_id)
    if form.validate_on_submit():
        if commit_or_refuse(form, stores.add_channel_warehouse, found, form.warehouse_id.data,
                            actor=current_actor()):
            return _saved("Warehouse added.", url_for(".channel", channel_id=channel_id))
    return _channel_page(db_session.get(Channel, channel_id), warehouse_form=form)


@bp.post("/channel-warehouses/<int:link_id>/move", endpoint="move_channel_warehouse")
@requires_role(*ADMIN)
def move_channel_warehouse(link_id: int):
    link = get_or_not_found(db_session, ChannelWarehouse, link_id, "channel warehouse")
    if ConfirmForm().validate_on_submit():
        stores.move_channel_warehouse(db_session, link, request.form.get("direction", ""),
                                      actor=current_actor())
        db_session.commit()
    return redirect_to(url_for(".channel", channel_id=link.channel_id))


@bp.post("/channel-warehouses/<int:link_id>/remove", endpoint="remove_channel_warehouse")
@requires_role(*ADMIN)
def remove_channel_warehouse(link_id: int):
    link = get_or_not_found(db_session, ChannelWarehouse, link_id, "channel warehouse")
    channel_id = link.channel_id
    if ConfirmForm().validate_on_submit():
        stores.remove_channel_warehouse(db_session, link, actor=current_actor())
        db_session.commit()
    return redirect_to(url_for(".channel", channel_id=channel_id))


# --- tax categories and rates -----------------------------------------------------------------


def _rate_form(**kwargs) -> TaxRateForm:
    form = TaxRateForm(**kwargs)
    form.tax_category_id.choices = options((t.id, t.name)
                                           for t in pricelists.tax_categories(db_session))
    return form


def _tax_page(category_form=None):
    return render_page("master/tax.html", rates=taxes.tax_rates(db_session),
                       tax_categories=pricelists.tax_categories(db_session),
                       category_form=category_form or TaxCategoryForm(formdata=None))


@bp.get("/tax", endpoint="tax")
@requires_role(*READ_ADMIN)
def tax():
    return _tax_page()


@bp.post("/tax/categories", endpoint="new_tax_category")
@requires_role(*ADMIN)
def new_tax_category():
    form = TaxCategoryForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, taxes.create_tax_category, code=form.code.data,
                                    name=form.name.data, actor=current_actor()):
            return _saved(f"Tax category {done.value.name} created.", url_for(".tax"))
    return _tax_page(form)


@bp.route("/tax/rates/new", methods=["GET", "POST"], endpoint="new_tax_rate")
@requires_role(*ADMIN)
def new_tax_rate():
    form = _rate_form()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, taxes.create_tax_rate, form.to_data(),
                                    actor=current_actor()):
            return _saved(f"Tax rate {done.value.name} created.", url_for(".tax"))
    return render_page("master/tax_rate.html", form=form, record=None)


@bp.route("/tax/rates/<int:rate_id>", methods=["GET", "POST"], endpoint="tax_rate")
@requires_role(*READ_ADMIN)
def tax_rate(rate_id: int):
    found = get_or_not_found(db_session, TaxRate, rate_id, "tax rate")
    if request.method == "POST":
        if not current_user_has(*ADMIN):
            abort(403)
        form = _rate_form()
        if form.validate_on_submit():
            if commit_or_refuse(form, taxes.update_tax_rate, found, form.to_data(),
                                actor=current_actor()):
                return _saved("Tax rate saved.", url_for(".tax"))
        found = db_session.get(TaxRate, rate_id)
    else:
        form = _rate_form(formdata=None)
        form.fill(found)
    return render_page("master/tax_rate.html", form=form, record=found)


# --- shipping methods -------------------------------------------------------------------------


def _shipping_form(**kwargs) -> ShippingMethodForm:
    form = ShippingMethodForm(**kwargs)
    form.channels.choices = options((c, reference_names(db_session).channel(c))
                                    for c in channel_codes(db_session))
    return form


@bp.get("/shipping", endpoint="shipping_methods")
@requires_role(*READ_ADMIN)
def shipping_methods():
    return render_page("master/shipping_methods.html",
                       methods=shipping.shipping_methods(db_session), kinds=shipping.KINDS)


@bp.route("/shipping/new", methods=["GET", "POST"], endpoint="new_shipping_method")
@requires_role(*ADMIN)
def new_shipping_method():
    form = _shipping_form()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, shipping.create_shipping_method, form.to_data(),
                                    actor=current_actor()):
            return _saved(f"Shipping method {done.value.name} created.",
                          url_for(".shipping_methods"))
    return render_page("master/shipping_method.html", form=form, record=None)


@bp.route("/shipping/<int:method_id>", methods=["GET", "POST"], endpoint="shipping_method")
@requires_role(*READ_ADMIN)
def shipping_method(method_id: int):
    found = get_or_not_found(db_session, ShippingMethod, method_id, "shipping method")
    if request.method == "POST":
        if not current_user_has(*ADMIN):
            abort(403)
        form = _shipping_form()
        if form.validate_on_submit():
            if commit_or_refuse(form, shipping.update_shipping_method, found, form.to_data(),
                                actor=current_actor()):
                return _saved(f"Shipping method {found.name} saved.",
                              url_for(".shipping_methods"))
        found = db_session.get(ShippingMethod, method_id)
    else:
        form = _shipping_form(formdata=None)
        form.fill(found)
    return render_page("master/shipping_method.html", form=form, record=found)


# --- console users ----------------------------------------------------------------------------


@bp.get("/users", endpoint="users")
@requires_role(*READ_ADMIN)
def users():
    return render_page("master/users.html", agents=agents_admin.agents(db_session),
                       role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"], endpoint="new_user")
@requires_role(*ADMIN)
def new_user():
    form = AgentForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, agents_admin.add_agent, email=form.email.data,
                                    full_name=form.full_name.data,
                                    password=form.password.data or None,
                                    roles=form.roles.data, actor=current_actor()):
            return _saved(f"{done.value.full_name} can sign in now.", url_for(".users"))
    return render_page("master/user_new.html", form=form)


def _user_page(agent: Agent, roles_form=None):
    if roles_form is None:
        roles_form = RolesForm(formdata=None)
        roles_form.roles.data = sorted(agent.roles)
    return render_page("master/user.html", agent=agent, form=roles_form,
                       role_labels=ROLE_LABELS)


@bp.get("/users/<int:agent_id>", endpoint="user")
@requires_role(*READ_ADMIN)
def user(agent_id: int):
    return _user_page(get_or_not_found(db_session, Agent, agent_id, "user"))


@bp.post("/users/<int:agent_id>/roles", endpoint="user_roles")
@requires_role(*ADMIN)
def user_roles(agent_id: int):
    agent = get_or_not_found(db_session, Agent, agent_id, "user")
    form = RolesForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, agents_admin.set_roles, agent, form.roles.data,
                            actor=current_actor()):
            return _saved(f"Roles of {agent.full_name} saved.",
                          url_for(".user", agent_id=agent_id))
    return _user_page(db_session.get(Agent, agent_id), form)


@bp.post("/users/<int:agent_id>/access", endpoint="user_active")
@requires_role(*ADMIN)
def user_active(agent_id: int):
    agent = get_or_not_found(db_session, Agent, agent_id, "user")
    form = ConfirmForm()
    active = request.form.get("active") == "1"
    if form.validate_on_submit():
        if commit_or_refuse(form, agents_admin.set_active, agent, active,
                            actor=current_actor()):
            return _saved(f"{agent.full_name} {'reactivated' if active else 'deactivated'}.",
                          url_for(".user", agent_id=agent_id))
        for message in form.form_errors + form.errors.get("active", []):
            flash(message, "error")
    return redirect_to(url_for(".user", agent_id=agent_id))


# --- a product's pictures and relations (on the catalogue's product page) --------------------


@bp.post("/products/<int:product_id>/pictures", endpoint="add_picture")
@requires_role(*CATALOG)
def add_picture(product_id: int):
    product = get_or_not_found(db_session, Product, product_id, "product")
    form = PictureForm(prefix="picture")
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(images.MAX_BYTES + 1) if upload else b""
        if commit_or_refuse(form, images.add_image, product, data, alt=form.alt.data or "",
                            media_dir=_media_dir(), actor=current_actor()):
            return _saved("Picture added.", url_for("catalog.product", product_id=product_id)
                          + "#pictures-h")
    return product_page(product_id, picture_form=form)


@bp.post("/pictures/<int:picture_id>/alt", endpoint="picture_alt")
@requires_role(*CATALOG)
def picture_alt(picture_id: int):
    picture = get_or_not_found(db_session, ProductImage, picture_id, "picture")
    product_id = picture.product_id
    form = AltForm(prefix=f"picture-{picture_id}")
    if form.validate_on_submit():
        if commit_or_refuse(form, images.update_alt, picture, form.alt.data,
                            actor=current_actor()):
            return _saved("Alt text saved.", url_for("catalog.product", product_id=product_id)
                          + "#pictures-h")
    return product_page(product_id, alt_forms={picture_id: form})


@bp.post("/pictures/<int:picture_id>/move", endpoint="move_picture")
@requires_role(*CATALOG)
def move_picture(picture_id: int):
    found = get_or_not_found(db_session, ProductImage, picture_id, "picture")
    if ConfirmForm().validate_on_submit():
        images.move_image(db_session, found, request.form.get("direction", ""),
                          actor=current_actor())
        db_session.commit()
    return redirect_to(url_for("catalog.product", product_id=found.product_id) + "#pictures-h")


@bp.post("/pictures/<int:picture_id>/remove", endpoint="remove_picture")
@requires_role(*CATALOG)
def remove_picture(picture_id: int):
    found = get_or_not_found(db_session, ProductImage, picture_id, "picture")
    product_id = found.product_id
    if ConfirmForm().validate_on_submit():
        images.remove_image(db_session, found, media_dir=_media_dir(), actor=current_actor())
        db_session.commit()
    return redirect_to(url_for("catalog.product", product_id=product_id) + "#pictures-h")


@bp.post("/products/<int:product_id>/relations", endpoint="add_relation")
@requires_role(*CATALOG)
def add_relation(product_id: int):
    product = get_or_not_found(db_session, Product, product_id, "product")
    form = RelationForm(prefix="relation")
    if form.validate_on_submit():
        if commit_or_refuse(form, relations.add_relation, product, ref=form.related.data,
                            kind=form.kind.data, actor=current_actor()):
            return _saved("Relation added.", url_for("catalog.product", product_id=product_id)
                          + "#relations-h")
    return product_page(product_id, relation_form=form)


@bp.post("/relations/<int:relation_id>/move", endpoint="move_relation")
@requires_role(*CATALOG)
def move_relation(relation_id: int):
    found = get_or_not_found(db_session, ProductRelation, relation_id, "relation")
    if ConfirmForm().validate_on_submit():
        relations.move_relation(db_session, found, request.form.get("direction", ""),
                                actor=current_actor())
        db_session.commit()
    return redirect_to(url_for("catalog.product", product_id=found.product_id) + "#relations-h")


@bp.post("/relations/<int:relation_id>/remove", endpoint="remove_relation")
@requires_role(*CATALOG)
def remove_relation(relation_id: int):
    found = get_or_not_found(db_session, ProductRelation, relation_id, "relation")
    product_id = found.product_id
    if ConfirmForm().validate_on_submit():
        relations.remove_relation(db_session, found, actor=current_actor())
        db_session.commit()
    return redirect_to(url_for("catalog.product", product_id=product_id) + "#relations-h")
