"""Catalogue management for agents with the catalog role: products, variants, prices,
price lists, channel assortments, promotions, and CSV import and export."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, flash, request, url_for

from core import links
from core.catalog import images
from core.catalog import products as catalogue
from core.catalog import relations as product_relations
from core.catalog.models import AssortmentRule, Channel, Product, Variant
from core.db import get_or_not_found
from core.errors import DomainError
from core.inventory import services as stock_levels
from core.inventory import suppliers
from core.orders.names import reference_names
from core.parsing import parse_int
from core.pricing import catalogue_files
from core.pricing import price_lists as pricelists
from core.pricing import promotions as promos
from core.pricing.models import PriceList, PriceListEntry, Promotion
from core.web.auth import current_actor
from core.workflows import catalogue_import
from core.web.db import db_session
from core.web.render import redirect_to, render_page
from callcenter.access import requires_role
from callcenter.catalog_forms import (KIND_LABELS, SCOPE_LABELS, AssortmentRuleForm,
                                      AxesForm, ConfirmForm, ImportPricesForm,
                                      ImportProductsForm, PriceForm, PriceListForm,
                                      ProductForm, PromotionForm, VariantForm, options,
                                      variant_form)
from core.web.forms import commit_or_refuse, page_arg, place_error
from callcenter.master_forms import AltForm, PictureForm, RelationForm

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
PER_PAGE = 30
ENTRIES_PER_PAGE = 100


@bp.before_request
@requires_role("catalog")
def _only_catalog_agents():
    """Every view here is for the catalog role (admin holds it too); the views repeat it."""


def _category_choices(blank: str | None = None) -> list:
    found = catalogue.categories(db_session)
    by_id = {c.id: c for c in found}
    choices = [(c.id, catalogue.category_label(c, by_id)) for c in found]
    return options(([(0, blank)] if blank is not None else []) + choices)


def _tax_choices() -> list:
    return options((t.id, t.name) for t in pricelists.tax_categories(db_session))


def _price_list_choices(lists=None) -> list:
    lists = lists if lists is not None else pricelists.by_code(db_session)
    return options((pl.id, f"{pl.name} ({pl.currency}, "
                           f"{'incl.' if pl.prices_include_tax else 'excl.'} tax)")
                   for pl in lists)


def _labelled_list_choices() -> list:
    """Every price list named with whom it prices for, base lists first."""
    return options((pl.id, label) for pl, label in pricelists.labelled(db_session))


def _channel_codes() -> list[str]:
    return catalogue.channel_codes(db_session)


def _channel_choices() -> list[tuple[str, str]]:
    """Every channel as (code, name): the form keeps the code, the agent reads the name."""
    names = reference_names(db_session)
    return [(c, names.channel(c)) for c in _channel_codes()]


def _saved(message: str, url: str):
    flash(message, "success")
    return redirect_to(url)


def _done(message: str, url: str):
    db_session.commit()
    return _saved(message, url)


# --- products ---------------------------------------------------------------------------------


@bp.get("/", endpoint="products")
@requires_role("catalog")
def products():
    query = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "all")
    status = status if status in ("all", "active", "inactive") else "all"
    found = catalogue.list_products(db_session, query=query, status=status, page=page_arg(),
                                per_page=PER_PAGE)
    return render_page("catalog/products.html", block="results", found=found, q=query,
                       status_filter=status)


def _product_form(**kwargs) -> ProductForm:
    form = ProductForm(**kwargs)
    form.category_id.choices = _category_choices()
    form.tax_category_id.choices = _tax_choices()
    form.supplier_id.choices = options([(0, "— none —")] + [
        (s.id, f"{s.name} ({s.code})") for s in suppliers.suppliers(db_session)])
    if form.supplier_id.data is None:
        form.supplier_id.data = 0
    return form


@bp.route("/products/new", methods=["GET", "POST"], endpoint="new_product")
@requires_role("catalog")
def new_product():
    form = _product_form()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, catalogue.create_product, form.to_data(),
                                    actor=current_actor()):
            product = done.value
            return _saved(f"Product {product.name} created. Add its variants below.",
                          url_for(".product", product_id=product.id))
    return render_page("catalog/product.html", form=form, product=None)


def _variant_data(form: VariantForm):
    """The form's VariantData, or None with the refusal at its field (attributes)."""
    try:
        return form.to_data()
    except DomainError as err:
        place_error(form, err)
        return None


def _product_page(product_id: int, *, form: ProductForm | None = None,
                  variant_form: VariantForm | None = None, picture_form=None,
                  relation_form=None, alt_forms=None, axes_form: AxesForm | None = None):
    """The product page; its pictures and relations are posted to callcenter.master_data,
    which shows this page again with a refused form."""
    product, prices = pricelists.product_detail(db_session, product_id)
    axes = catalogue.product_axes(product.variants)
    if form is None:
        form = _product_form(obj=product, formdata=None)
    if variant_form is None:
        variant_form = variant_form_for(axes, prefix="variant", formdata=None)
    if axes_form is None:
        axes_form = AxesForm(prefix="axes", formdata=None)
        axes_form.fill(axes, catalogue.suggest_sku_prefix(product))
    grid, others = catalogue.variant_grid(list(product.variants), axes)
    state = catalogue.product_state(db_session, product)
    pictures = list(product.images)
    alt_forms = dict(alt_forms or {})
    for picture in pictures:
        if picture.id not in alt_forms:
            alt_forms[picture.id] = AltForm(prefix=f"picture-{picture.id}", formdata=None,
                                            alt=picture.alt)
    return render_page("catalog/product.html", form=form, product=product, prices=prices,
                       variant_form=variant_form, pictures=pictures, alt_forms=alt_forms,
                       axes=axes, axes_form=axes_form, grid=grid, other_variants=others,
                       state=state, state_label=catalogue.STATE_LABELS[state],
                       shop_url=links.product_page(current_app.config["MARKETLINE"],
                                                   product.slug),
                       stock=catalogue_stock(product),
                       picture_form=picture_form or PictureForm(prefix="picture",
                                                                formdata=None),
                       relations=product_relations.relations_of(db_session, product_id),
                       relation_kinds=product_relations.KIND_LABELS,
                       relation_form=relation_form or RelationForm(prefix="relation",
                                                                   formdata=None),
                       thumbnail=images.thumbnail_name)


product_page = _product_page  # callcenter.master_data shows it after a refused picture
variant_form_for = variant_form


def catalogue_stock(product) -> dict[int, int]:
    """On hand per variant of the product, over every warehouse (for the variant grid)."""
    return stock_levels.on_hand(db_session, [v.id for v in product.variants])


@bp.route("/products/<int:product_id>", methods=["GET", "POST"], endpoint="product")
@requires_role("catalog")
def product_view(product_id: int):
    product = get_or_not_found(db_session, Product, product_id, "product")
    if request.method == "GET":
        return _product_page(product_id)
    form = _product_form()
    if form.validate_on_submit():
        if commit_or_refuse(form, catalogue.update_product, product, form.to_data(),
                            actor=current_actor()):
            return _saved("Product saved.", url_for(".product", product_id=product_id))
    return _product_page(product_id, form=form)


@bp.post("/products/<int:product_id>/publish", endpoint="publish_product")
@requires_role("catalog")
def publish_product(product_id: int):
    product = get_or_not_found(db_session, Product, product_id, "product")
    if ConfirmForm().validate_on_submit():
        try:
            catalogue.publish_product(db_session, product, actor=current_actor())
        except DomainError as err:
            db_session.rollback()
            flash(f"{product.name} is still a draft: {err}", "error")
        else:
            return _done(f"{product.name} is live in the shop.",
                         url_for(".product", product_id=product_id))
    return redirect_to(url_for(".product", product_id=product_id))


@bp.post("/products/<int:product_id>/unpublish", endpoint="unpublish_product")
@requires_role("catalog")
def unpublish_product(product_id: int):
    product = get_or_not_found(db_session, Product, product_id, "product")
    if ConfirmForm().validate_on_submit():
        catalogue.unpublish_product(db_session, product, actor=current_actor())
        return _done(f"{product.name} is a draft again: the shop no longer shows it.",
                     url_for(".product", product_id=product_id))
    return redirect_to(url_for(".product", product_id=product_id))


@bp.get("/products/<int:product_id>/preview", endpoint="preview_product")
@requires_role("catalog")
def preview_product(product_id: int):
    """The product as the shop will show it, for console users only (drafts included)."""
    product, prices = pricelists.product_detail(db_session, product_id)
    return render_page("catalog/preview.html", product=product, prices=prices,
                       state_label=catalogue.STATE_LABELS[
                           catalogue.product_state(db_session, product)])


@bp.post("/products/<int:product_id>/variants", endpoint="add_variant")
@requires_role("catalog")
def add_variant(product_id: int):
    product = get_or_not_found(db_session, Product, product_id, "product")
    form = variant_form_for(catalogue.product_axes(product.variants), prefix="variant")
    if form.validate_on_submit() and (data := _variant_data(form)) is not None:
        if done := commit_or_refuse(form, catalogue.add_variant, product, data,
                                    actor=current_actor()):
            variant = done.value
            return _saved(f"Variant {variant.sku} of {product.name} added. Give it a price.",
                          url_for(".variant", variant_id=variant.id))
    db_session.rollback()
    return _product_page(product_id, variant_form=form)


@bp.post("/products/<int:product_id>/grid", endpoint="make_grid")
@requires_role("catalog")
def make_grid(product_id: int):
    """Add the variants the option axes make that the product lacks (idempotent)."""
    product = get_or_not_found(db_session, Product, product_id, "product")
    form = AxesForm(prefix="axes")
    if form.validate_on_submit():
        try:
            axes = catalogue.check_axes(form.pairs())
        except DomainError as err:
            place_error(form, err)
        else:
            if done := commit_or_refuse(form, catalogue.generate_variants, product, axes,
                                        sku_prefix=form.sku_prefix.data or "",
                                        actor=current_actor()):
                created, existing = done.value
                noun = "variant" if len(created) == 1 else "variants"
                message = (f"{len(created)} {noun} of {product.name} added"
                           + (f"; {existing} already existed" if existing else "")
                           + (". Give them a price." if created else "."))
                return _saved(message, url_for(".product", product_id=product_id) + "#grid-h")
    db_session.rollback()
    return _product_page(product_id, axes_form=form)


# --- variants and their prices ----------------------------------------------------------------


def _price_form(**kwargs) -> PriceForm:
    form = PriceForm(prefix="price", **kwargs)
    form.price_list_id.choices = _labelled_list_choices()
    if form.price_list_id.data is None:
        form.price_list_id.data = pricelists.base_list_id(db_session)
    return form


def _variant_page(variant: Variant, *, form: VariantForm | None = None,
                  price_form: PriceForm | None = None):
    entries = pricelists.variant_prices(db_session, variant.id)
    labels = {pl.id: label for pl, label in pricelists.labelled(db_session)}
    if form is None:
        form = variant_form_for(catalogue.product_axes(variant.product.variants))
        form.fill(variant)
    return render_page("catalog/variant.html", variant=variant, form=form, entries=entries,
                       list_labels=labels,
                       price_form=price_form or _price_form(formdata=None))


@bp.route("/variants/<int:variant_id>", methods=["GET", "POST"], endpoint="variant")
@requires_role("catalog")
def variant_view(variant_id: int):
    variant = get_or_not_found(db_session, Variant, variant_id, "variant")
    if request.method == "GET":
        return _variant_page(variant)
    form = variant_form_for(catalogue.product_axes(variant.product.variants))
    if form.validate_on_submit() and (data := _variant_data(form)) is not None:
        if commit_or_refuse(form, catalogue.update_variant, variant, data,
                            actor=current_actor()):
            return _saved(f"Variant {variant.sku} of {variant.product.name} saved.",
                          url_for(".variant", variant_id=variant_id))
    db_session.rollback()
    return _variant_page(db_session.get(Variant, variant_id), form=form)


@bp.post("/variants/<int:variant_id>/prices", endpoint="set_price")
@requires_role("catalog")
def set_price(variant_id: int):
    variant = get_or_not_found(db_session, Variant, variant_id, "variant")
    form = _price_form()
    if form.validate_on_submit():
        try:
            price_list = get_or_not_found(db_session, PriceList, form.price_list_id.data,
                                          "price list")
            pricelists.set_price(db_session, price_list=price_list, variant=variant,
                                 min_quantity=form.min_quantity.data,
                                 unit_price=form.unit_price.data, actor=current_actor())
        except DomainError as err:
            place_error(form, err)
        else:
            return _done(f"Price of {variant.product.name} ({variant.sku}) in "
                         f"{price_list.name} saved.",
                         url_for(".variant", variant_id=variant_id))
    return _variant_page(variant, price_form=form)


@bp.post("/prices/<int:entry_id>/delete", endpoint="remove_price")
@requires_role("catalog")
def remove_price(entry_id: int):
    entry = get_or_not_found(db_session, PriceListEntry, entry_id, "price")
    variant_id = entry.variant_id
    what = f"{entry.variant.product.name} ({entry.variant.sku}) in {entry.price_list.name}"
    if ConfirmForm().validate_on_submit():
        if request.form.get("confirm") != "yes":
            # Without JavaScript the box is shown: the price goes only when it is ticked.
            flash(f"Tick “Yes, remove” to remove the price of {what}.", "error")
            return redirect_to(url_for(".variant", variant_id=variant_id))
        pricelists.remove_price(db_session, entry, actor=current_actor())
        return _done(f"Price of {what} from {entry.min_quantity} removed.",
                     url_for(".variant", variant_id=variant_id))
    return redirect_to(url_for(".variant", variant_id=variant_id))


# --- price lists ------------------------------------------------------------------------------


def _price_list_form(**kwargs) -> PriceListForm:
    form = PriceListForm(**kwargs)
    form.channel_code.choices = options([("", "—")] + _channel_choices())
    return form


@bp.get("/price-lists", endpoint="price_lists")
@requires_role("catalog")
def price_lists():
    return render_page("catalog/price_lists.html", lists=pricelists.price_lists(db_session),
                       scopes=SCOPE_LABELS)


@bp.route("/price-lists/new", methods=["GET", "POST"], endpoint="new_price_list")
@requires_role("catalog")
def new_price_list():
    form = _price_list_form()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, pricelists.create_price_list, form.to_data(),
                                    actor=current_actor()):
            created = done.value
            return _saved(f"Price list {created.code} created.",
                          url_for(".price_list", list_id=created.id))
    return render_page("catalog/price_list.html", form=form, price_list=None)


@bp.route("/price-lists/<int:list_id>", methods=["GET", "POST"], endpoint="price_list")
@requires_role("catalog")
def price_list_view(list_id: int):
    price_list = get_or_not_found(db_session, PriceList, list_id, "price list")
    if request.method == "POST":
        form = _price_list_form()
        if form.validate_on_submit():
            if commit_or_refuse(form, pricelists.update_price_list, price_list, form.to_data(),
                                actor=current_actor()):
                return _saved("Price list saved.", url_for(".price_list", list_id=list_id))
        db_session.rollback()
        price_list = db_session.get(PriceList, list_id)
    else:
        form = _price_list_form(obj=pricelists.price_list_form_data(price_list, db_session))
    prices = pricelists.price_list_entries(db_session, price_list, page=page_arg(),
                                           per_page=ENTRIES_PER_PAGE)
    return render_page("catalog/price_list.html", form=form, price_list=price_list,
                       entries=prices.items, total=prices.total, prices=prices)


@bp.get("/price-lists/<int:list_id>/export.csv", endpoint="export_price_list")
@requires_role("catalog")
def export_price_list(list_id: int):
    price_list = get_or_not_found(db_session, PriceList, list_id, "price list")
    return _csv(catalogue_files.export_price_list(db_session, price_list),
                f"prices-{price_list.code}")


# --- channels and assortments -----------------------------------------------------------------


def _rule_form(channel_id: int, **kwargs) -> AssortmentRuleForm:
    form = AssortmentRuleForm(prefix=f"channel-{channel_id}", **kwargs)
    form.category_id.choices = _category_choices(blank="—")
    return form


def _channels_page(failed: tuple[int, AssortmentRuleForm] | None = None):
    channels = catalogue.channels_with_rules(db_session)
    forms = {c.id: _rule_form(c.id, formdata=None) for c in channels}
    if failed:
        forms[failed[0]] = failed[1]
    lists = {pl.id: pl.name for pl in pricelists.by_code(db_session)}
    by_id = {c.id: c for c in catalogue.categories(db_session)}
    return render_page("catalog/channels.html", channels=channels, forms=forms, lists=lists,
                       category_label=lambda c: catalogue.category_label(c, by_id))


@bp.get("/channels", endpoint="channels")
@requires_role("catalog")
def channels():
    return _channels_page()


@bp.post("/channels/<int:channel_id>/rules", endpoint="add_rule")
@requires_role("catalog")
def add_rule(channel_id: int):
    channel = get_or_not_found(db_session, Channel, channel_id, "channel")
    form = _rule_form(channel_id)
    if form.validate_on_submit():
        if commit_or_refuse(form, catalogue.add_assortment_rule, channel, mode=form.mode.data,
                            category_id=form.category_id.data or None,
                            product_ref=form.product.data, actor=current_actor()):
            return _saved(f"Rule added to {channel.code}.", url_for(".channels"))
    db_session.rollback()
    return _channels_page(failed=(channel_id, form))


@bp.post("/rules/<int:rule_id>/delete", endpoint="remove_rule")
@requires_role("catalog")
def remove_rule(rule_id: int):
    rule = get_or_not_found(db_session, AssortmentRule, rule_id, "assortment rule")
    if ConfirmForm().validate_on_submit():
        catalogue.remove_assortment_rule(db_session, rule, actor=current_actor())
        return _done("Rule removed.", url_for(".channels"))
    return redirect_to(url_for(".channels"))


# --- promotions -------------------------------------------------------------------------------


def _promotion_form(**kwargs) -> PromotionForm:
    form = PromotionForm(**kwargs)
    form.channels.choices = options(_channel_choices())
    form.category_ids.choices = _category_choices()
    return form


@bp.get("/promotions", endpoint="promotions")
@requires_role("catalog")
def promotions():
    found = promos.list_promotions(db_session)
    return render_page("catalog/promotions.html", promotions=found, kinds=KIND_LABELS,
                       now=dt.datetime.now(dt.timezone.utc))


@bp.route("/promotions/new", methods=["GET", "POST"], endpoint="new_promotion")
@requires_role("catalog")
def new_promotion():
    form = _promotion_form()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, promos.create_promotion, form.to_data(),
                                    actor=current_actor()):
            created = done.value
            return _saved(f"Promotion “{created.name}” created.", url_for(".promotions"))
    return render_page("catalog/promotion.html", form=form, promotion=None)


@bp.route("/promotions/<int:promotion_id>", methods=["GET", "POST"], endpoint="promotion")
@requires_role("catalog")
def promotion_view(promotion_id: int):
    promotion = get_or_not_found(db_session, Promotion, promotion_id, "promotion")
    if request.method == "GET":
        form = _promotion_form(formdata=None)
        form.fill(promos.promotion_form_data(db_session, promotion))
        return render_page("catalog/promotion.html", form=form, promotion=promotion)
    form = _promotion_form()
    if form.validate_on_submit():
        if commit_or_refuse(form, promos.update_promotion, promotion, form.to_data(),
                            actor=current_actor()):
            return _saved("Promotion saved.", url_for(".promotions"))
    db_session.rollback()
    return render_page("catalog/promotion.html", form=form,
                       promotion=db_session.get(Promotion, promotion_id))


@bp.post("/promotions/<int:promotion_id>/deactivate", endpoint="deactivate_promotion")
@requires_role("catalog")
def deactivate_promotion(promotion_id: int):
    promotion = get_or_not_found(db_session, Promotion, promotion_id, "promotion")
    if ConfirmForm().validate_on_submit():
        promos.deactivate_promotion(db_session, promotion, actor=current_actor())
        return _done(f"Promotion “{promotion.name}” deactivated.", url_for(".promotions"))
    return redirect_to(url_for(".promotions"))


# --- CSV import and export --------------------------------------------------------------------


def _csv(text: str, name: str) -> Response:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    response = Response(text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _import_forms(products_form=None, prices_form=None):
    base_lists = catalogue_files.base_price_lists(db_session)
    if products_form is None:
        products_form = ImportProductsForm(prefix="products", formdata=None)
    products_form.price_list_id.choices = (options([(0, "— no prices —")])
                                           + _price_list_choices(base_lists))
    if products_form.price_list_id.data is None and base_lists:
        products_form.price_list_id.data = base_lists[0].id
    return products_form, prices_form or ImportPricesForm(prefix="prices", formdata=None), \
        base_lists


def _import_page(products_form=None, prices_form=None, errors=None, which=None):
    products_form, prices_form, base_lists = _import_forms(products_form, prices_form)
    all_lists = pricelists.by_code(db_session)
    return render_page("catalog/import.html", products_form=products_form,
                       prices_form=prices_form, base_lists=base_lists, all_lists=all_lists,
                       errors=errors or [], which=which)


@bp.get("/import-export", endpoint="import_export")
@requires_role("catalog")
def import_export():
    return _import_page()


@bp.get("/export/products.csv", endpoint="export_products")
@requires_role("catalog")
def export_products():
    list_id = parse_int(request.args.get("price_list"), low=1)
    price_list = None
    if list_id:
        price_list = get_or_not_found(db_session, PriceList, list_id, "price list")
    elif base := catalogue_files.base_price_lists(db_session):
        price_list = base[0]
    return _csv(catalogue_import.export_products(db_session, price_list), "products")


@bp.post("/import/products", endpoint="import_products")
@requires_role("catalog")
def import_products():
    form, _, _ = _import_forms(ImportProductsForm(prefix="products"))
    errors: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            price_list = (get_or_not_found(db_session, PriceList, form.price_list_id.data,
                                           "price list") if form.price_list_id.data else None)
            report = catalogue_import.import_products(db_session, upload.read(),
                                                      price_list=price_list,
                                            actor=current_actor(),
                                            filename=(upload.filename or "")[:200])
        except catalogue_files.ImportRejected as err:
            place_error(form, err)
            errors = err.errors
        except DomainError as err:
            place_error(form, err)
        else:
            return _done(report.summary(), url_for(".import_export"))
    db_session.rollback()
    return _import_page(products_form=form, errors=errors, which="products")


@bp.post("/import/prices", endpoint="import_prices")
@requires_role("catalog")
def import_prices():
    form = ImportPricesForm(prefix="prices")
    errors: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = catalogue_files.import_prices(db_session, upload.read(), actor=current_actor(),
                                          filename=(upload.filename or "")[:200])
        except catalogue_files.ImportRejected as err:
            place_error(form, err)
            errors = err.errors
        except DomainError as err:
            place_error(form, err)
        else:
            return _done(report.summary(), url_for(".import_export"))
    db_session.rollback()
    return _import_page(prices_form=form, errors=errors, which="prices")
