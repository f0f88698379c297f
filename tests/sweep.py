"""The machinery of the hostile-input sweep (tests/web/test_hostile_input.py, which says
what it does and why; the policy lives there: hostile values, what must be refused, real
values, the tables that only count requests).

Here: reading pages (forms, links, hx-get/hx-post and their fields), reading views (the
WTForms classes they build from the request, the request.* names in their source), the
crawl that finds which pages carry which route's form, and the Sweeper that sends one
route every hostile value and collects what went wrong.

A `policy` is the test module; it provides URL_VALUES, FILL, hostile_values(field),
BOOKKEEPING_TABLES and VOLATILE_SESSION_KEYS. A `scene` provides real values by key
(scene[key], scene.knows(key), scene.known_values()) and scene.candidates(variable name).
"""
from __future__ import annotations

import hashlib
import inspect
import io
import itertools
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from flask import Flask
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from wtforms import (DateField, DateTimeLocalField, DecimalField, FieldList, FileField,
                     FormField, IntegerField)
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

import callcenter
import storefront
from core import clock
from core.models import metadata
from core.payments.gateway import GatewayUnavailable, PaymentDeclined


# --- the routes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One method of one route of one app."""

    app: str  # "shop" | "console"
    endpoint: str
    method: str
    rule: str

    @property
    def shown(self) -> str:
        return ("/agent" if self.app == "console" else "") + self.rule

    def __str__(self) -> str:
        return f"{self.method} {self.shown}"


def all_targets(apps: dict[str, Flask]) -> list[Target]:
    """Every method of every route of the apps, read from their url_map."""
    found = []
    for name, app in apps.items():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append(Target(name, rule.endpoint, method, rule.rule))
    return found


VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def url_variables(rule: str) -> list[str]:
    """The names of a rule's variables: "/orders/<number>/holds/<int:hold_id>" has
    number and hold_id."""
    return [match.group(2) for match in VARIABLE.finditer(rule)]


# --- the apps, signed in --------------------------------------------------------------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_of(client) -> str:
    page = client.get("/")
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on / ({page.status_code})"
    return match.group(1)


def signed_in(app: Flask, realm: str, user_id: int, session_factory) -> object:
    """A client with a server-side session for the user, as signing in makes one (without
    paying for a password hash in every test)."""
    import datetime as dt
    from core.auth import services as auth
    db = session_factory()
    login = auth.start_session(db, realm=realm, user_id=user_id,
                               lifetime=dt.timedelta(hours=1), user_agent="hostile sweep")
    db.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login.id
        session["_fresh"] = True
        session.permanent = True
    return client


class FakeGateway:
    """Stripe without the network: a card form gets a client secret, a card is declined,
    anything else is unavailable. Every way a real gateway can answer, none a crash."""

    def __init__(self, settings=None):
        self.authorisation_days = 7

    def setup_intent(self):
        return "seti_sweep", "seti_sweep_secret_sweep"

    def authorise(self, **kwargs):
        raise PaymentDeclined("Your card was declined (sweep).")

    def ensure_customer(self, *args, **kwargs):
        return "cus_sweep"

    def save_card(self, *args, **kwargs):
        return "cus_sweep"

    def attach(self, *args, **kwargs):
        raise PaymentDeclined("Your card was declined (sweep).")

    def __getattr__(self, name):
        def unavailable(*args, **kwargs):
            raise GatewayUnavailable("The payment service cannot be reached (sweep).")
        return unavailable


def quiet_mail(monkeypatch) -> None:
    """E-mail is neither printed nor given a PDF (WeasyPrint takes a second a document).
    The apps get FakeGateway from make_apps (or the `payment_gateway` fixture)."""
    from email.message import EmailMessage

    from core import notifications
    monkeypatch.setattr(sys.modules["core.mail"], "deliver", lambda message, smtp_url: None)
    monkeypatch.setattr(notifications, "invoice_message", lambda *a, **k: EmailMessage())


def make_apps(settings, session_factory) -> dict[str, Flask]:
    gateway = FakeGateway()
    apps = {"shop": storefront.create_app(settings, session_factory=session_factory,
                                          gateway=gateway),
            "console": callcenter.create_app(settings, session_factory=session_factory,
                                             gateway=gateway)}
    for app in apps.values():
        app.config.update(TESTING=True)
    return apps


# --- reading pages: forms, links and their fields --------------------------------------------

@dataclass
class PageField:
    name: str
    tag: str  # input | select | textarea | button
    type: str = "text"
    values: list[str] = field(default_factory=list)  # the baseline the page would send
    options: list[str] = field(default_factory=list)
    maxlength: int | None = None
    numeric: bool = False
    required: bool = False


@dataclass
class PageForm:
    method: str
    url: str
    htmx: bool
    fields: dict[str, PageField] = field(default_factory=dict)


class PageParser(HTMLParser):
    """The forms, links, hx-get and hx-post of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: PageField | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: PageField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        # Links, and elements that send by themselves: htmx (and our scripts, data-url)
        # send the enclosing form's values with a POST.
        for attr, method in (("href", "GET"), ("hx-get", "GET"), ("hx-post", "POST"),
                             ("data-url", "POST")):
            if a.get(attr) and tag != "form" and not a[attr].startswith(("#", "mailto:")):
                element = PageForm(method, a[attr], attr != "href")
                if method == "POST" and self._form is not None:
                    element.fields = self._form.fields
                elif a.get("name") and tag in ("input", "select", "textarea"):
                    element.fields[a["name"]] = self._field(tag, a)
                self.forms.append(element)
        if tag == "form":
            method = "POST" if a.get("hx-post") or a.get("method", "").upper() == "POST" else "GET"
            url = a.get("hx-post") or a.get("hx-get") or a.get("action", "")
            self._form = PageForm(method, url, bool(a.get("hx-post") or a.get("hx-get")))
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button") and a.get("name"):
            f = self._field(tag, a)
            if self._form is not None:
                known = self._form.fields.get(f.name)
                if known is not None and f.type in ("radio", "checkbox"):
                    known.values += f.values
                    known.options += f.options
                else:
                    self._form.fields.setdefault(f.name, f)
                    f = self._form.fields[f.name]
            if tag == "select":
                self._select = f
            elif tag == "textarea":
                self._textarea = f
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._option_text = ""

    def _field(self, tag, a) -> PageField:
        kind = a.get("type", "text").lower() if tag == "input" else tag
        f = PageField(a["name"], tag, kind, required="required" in a,
                      numeric=kind == "number" or a.get("inputmode") in ("numeric", "decimal"))
        if a.get("maxlength", "").isdigit():
            f.maxlength = int(a["maxlength"])
        if tag == "input" and kind in ("radio", "checkbox"):
            f.options = [a.get("value", "on")]
            if "checked" in a:
                f.values = [a.get("value", "on")]
        elif tag == "input" and kind not in ("submit", "button", "image", "file", "reset"):
            f.values = [a.get("value", "")]
        return f

    def handle_data(self, data):
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea.values = [(self._textarea.values or [""])[0] + data]

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            value, selected = self._option
            value = self._option_text.strip() if value is None else value
            self._select.options.append(value)
            if selected:
                self._select.values.append(value)
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None and not self._textarea.values:
                self._textarea.values = [""]
            self._textarea = None
        elif tag == "form":
            self._form = None


def read_page(html: str) -> list[PageForm]:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def resolve(app: Flask, url: str, method: str):
    """(endpoint, view args, query items) an URL on a page of `app` names, or None."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = parts.path
    if app.name == "callcenter" and path.startswith("/agent/"):
        path = path[len("/agent"):]
    try:
        endpoint, args = app.url_map.bind("localhost").match(path, method)
    except (NotFound, MethodNotAllowed):
        return None
    except Exception:  # noqa: BLE001 - a redirect rule or the like: not a target
        return None
    return endpoint, args, parse_qsl(parts.query, keep_blank_values=True)


# --- what the view reads: its forms and request.* names ----------------------------------------

REQUEST_NAME = re.compile(
    r"request\.(args|form|values|headers|files)(?:\.(?:get|getlist)\(\s*|\[\s*)['\"]([^'\"]+)['\"]")
FORM_CALL = r"\b{name}\(([^()]*(?:\([^()]*\)[^()]*)*)\)"
NUMERIC_FIELDS = (IntegerField, DecimalField, DateField, DateTimeLocalField)


@dataclass
class ClassField:
    """A field of a form class a view builds from the request."""

    name: str  # with the form's prefix when it is a constant
    numeric: bool  # an integer, decimal, amount or date field
    maxlength: int | None  # its Length limit
    prefixed: bool  # the prefix is known (constant or none): the name is the one sent


@dataclass
class ViewReads:
    """What a view reads from the request, per method."""

    names: dict[str, set[str]]  # method -> request names
    headers: set[str]
    body: bool
    fields: dict[str, list[ClassField]]  # method -> fields of the forms it builds from the request


def _unbound_fields(form_class) -> list[tuple[str, UnboundField]]:
    return [(name, value) for name in dir(form_class)
            if isinstance(value := getattr(form_class, name, None), UnboundField)]


def _class_fields(form_class, prefix: str | None) -> list[ClassField]:
    found = []
    for name, unbound in _unbound_fields(form_class):
        cls = unbound.field_class
        validators = unbound.kwargs.get("validators") or (
            unbound.args[1] if len(unbound.args) > 1 else [])
        lengths = [v.max for v in validators if isinstance(v, Length) and v.max and v.max > 0]
        full = f"{prefix}-{name}" if prefix else name
        if issubclass(cls, FormField):
            inner = unbound.args[0] if unbound.args else unbound.kwargs["form_class"]
            found += _class_fields(inner, full)
            continue
        if issubclass(cls, FieldList):
            inner = unbound.args[0] if unbound.args else unbound.kwargs["unbound_field"]
            if issubclass(inner.field_class, FormField):
                found += _class_fields(inner.args[0], f"{full}-0")
            else:
                found.append(ClassField(f"{full}-0", False, None, prefix is not None))
            continue
        if issubclass(cls, FileField) or cls.__name__ == "CSRFTokenField":
            continue
        numeric = issubclass(cls, NUMERIC_FIELDS) or any(
            word in cls.__name__ for word in ("Decimal", "Integer", "Amount", "Percent"))
        found.append(ClassField(full, numeric, min(lengths) if lengths else None,
                                prefix is not None))
    return found


def _helpers(function, seen: set) -> list:
    """The function and the functions of our own packages it calls, transitively."""
    if function in seen or not inspect.isfunction(function):
        return []
    module = getattr(function, "__module__", "") or ""
    if not module.startswith(("storefront", "callcenter", "core.web")):
        return []
    seen.add(function)
    found = [function]
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return found
    for name in set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", source)):
        candidate = function.__globals__.get(name)
        if inspect.isfunction(candidate):
            found += _helpers(inspect.unwrap(candidate), seen)
    return found


def _name_readers(functions) -> dict[str, tuple[str, object]]:
    """Helpers that read the request argument their first parameter names, e.g.
    page_arg(name) -> request.args.get(name): {helper name: (args | form | values, the
    name read when the call names none, e.g. page_arg() -> "page")}."""
    found = {}
    for function in functions:
        params = inspect.signature(function).parameters
        if not params:
            continue
        first = next(iter(params.values()))
        source = inspect.getsource(function)
        match = re.search(rf"request\.(args|form|values)\.get(?:list)?\(\s*{first.name}\b", source)
        if match:
            found[function.__name__] = (match.group(1), first.default)
    return found


def _handed_over(function, source: str) -> list[tuple[str, str]]:
    """Names read by what the request's args or form are handed to, e.g.
    Filters.parse(request.args) reading args.get("min"): [(args, min), ...]."""
    found = []
    for dotted, where in re.findall(r"([A-Za-z_][\w.]*)\(\s*request\.(args|form)\b", source):
        target = function.__globals__.get(dotted.split(".")[0])
        for part in dotted.split(".")[1:]:
            target = getattr(target, part, None)
        try:
            params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
            callee = inspect.getsource(target)
        except (TypeError, ValueError, OSError):
            continue
        if params:
            found += [(where, name) for name in re.findall(
                rf"\b{params[0]}\.get(?:list)?\(\s*['\"]([^'\"]+)['\"]", callee)]
    return found


def view_reads(app: Flask, endpoint: str) -> ViewReads:
    view = inspect.unwrap(app.view_functions[endpoint])
    reads = ViewReads(defaultdict(set), set(), False, defaultdict(list))
    functions = _helpers(view, set())
    readers = _name_readers(functions)
    for function in functions:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        found = REQUEST_NAME.findall(source) + [
            (readers[helper][0], name) for helper, name in
            re.findall(r"\b(\w+)\(\s*['\"]([^'\"]+)['\"]", source) if helper in readers
        ] + [
            (readers[helper][0], readers[helper][1]) for helper in
            re.findall(r"\b(\w+)\(\s*\)", source)
            if helper in readers and isinstance(readers[helper][1], str)
        ] + _handed_over(function, source)
        for where, name in found:
            if where == "headers":
                reads.headers.add(name)
            elif where == "args":
                reads.names["GET"].add(name)
            elif where in ("form", "files"):
                reads.names["POST"].add(name)
            else:
                reads.names["GET"].add(name)
                reads.names["POST"].add(name)
        if re.search(r"request\.(get_data|data|get_json|json)\b", source):
            reads.body = True
        for name, value in function.__globals__.items():
            if not (inspect.isclass(value) and issubclass(value, FlaskForm)):
                continue
            for call in re.finditer(FORM_CALL.format(name=re.escape(name)), source):
                args = call.group(1)
                if "formdata=None" in args or re.search(r"\bdata=", args):
                    continue  # built to be shown (or prefilled), not read from the request
                method = "GET" if "request.args" in args else "POST"
                prefix_match = re.search(r"prefix=(f?)(['\"])(.*?)\2", args)
                constant = prefix_match and prefix_match.group(1) != "f"
                if constant and "{" not in prefix_match.group(3):
                    prefix = prefix_match.group(3)
                elif prefix_match or "prefix=" in args:
                    prefix = None  # made at run time: the page's names say it
                else:
                    prefix = ""
                reads.fields[method] += _class_fields(value, prefix)
    return reads


# --- the crawl: which pages carry which route's form -----------------------------------------

@dataclass(frozen=True)
class Host:
    """A page: its endpoint, the scene keys of its URL variables and its query (each
    value a scene key when it is one of the scene's values, else as it was)."""

    endpoint: str
    keys: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str, bool], ...] = ()  # (name, key or value, is a key)

    def url(self, app: Flask, scene) -> str:
        url = build_url(app, self.endpoint, dict(self.keys), scene)
        if self.query:
            url += "?" + urlencode([(n, scene[v] if is_key else v) for n, v, is_key in self.query])
        return url


@dataclass
class Plan:
    """How to reach a target: the scene keys of its URL variables, and the pages whose
    forms or links send to it."""

    url_keys: dict[str, str] | None = None
    hosts: list[Host] = field(default_factory=list)
    seen_from: list[tuple[Host, dict[str, str], bool]] = field(default_factory=list)

    def needed_keys(self) -> set[str]:
        """The scene keys its URL and its host pages use (made before the sweep starts,
        outside the savepoints it rolls back)."""
        keys = set((self.url_keys or {}).values())
        for host in self.hosts:
            keys |= {k for _, k in host.keys} | {v for _, v, is_key in host.query if is_key}
        return keys


def build_url(app: Flask, endpoint: str, keys: dict[str, str], scene) -> str:
    values = {name: scene[key] for name, key in keys.items()}
    with app.test_request_context():
        from flask import url_for
        return url_for(endpoint, **values)


def _key_combinations(rule: str, scene) -> list[dict[str, str]]:
    names = url_variables(rule)
    options = [[k for k in scene.candidates(n) if scene.knows(k)] or [None] for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*options)
            if None not in combo]


def _keys_of(args: dict, scene) -> dict[str, str] | None:
    """The scene keys whose values a matched URL carries, or None when one is not known."""
    values = scene.known_values()
    found = {}
    for name, value in args.items():
        key = next((k for k in scene.candidates(name) if values.get(k) == str(value)), None)
        if key is None:
            return None
        found[name] = key
    return found


def _query_of(items: list[tuple[str, str]], scene) -> tuple:
    reverse = {v: k for k, v in scene.known_values().items() if not v.isdigit()}
    return tuple((n, reverse[v], True) if v in reverse else (n, v, False) for n, v in items)


MAX_HOSTS = 3


def crawl(apps: dict[str, Flask], clients: dict, scene, savepoint, targets: list[Target]
          ) -> dict[Target, Plan]:
    """Open every GET page with every fitting real value (and the pages its links open with
    a new set of query parameters); note which targets its forms and links send to."""
    plans: dict[Target, Plan] = defaultdict(Plan)
    by_endpoint = {(t.app, t.endpoint, t.method): t for t in targets}
    queue: list[tuple[str, Host, bool]] = []
    for app_name, app in apps.items():
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and rule.endpoint not in ("static", "core.static", "media"):
                queue += [(app_name, Host(rule.endpoint, tuple(sorted(keys.items()))), True)
                          for keys in _key_combinations(rule.rule, scene)]
    shapes = set()
    while queue:
        app_name, host, follow = queue.pop(0)
        app = apps[app_name]
        url = host.url(app, scene)
        response = clients[app_name].get(url)
        if response.status_code >= 400:
            continue
        own = by_endpoint[(app_name, host.endpoint, "GET")]
        if plans[own].url_keys is None and not host.query:
            plans[own].url_keys = dict(host.keys)
        if "html" not in response.content_type:
            continue
        for form in read_page(response.get_data(as_text=True)):
            found = resolve(app, form.url or url, form.method)
            if found is None:
                continue
            endpoint, args, query = found
            if form.method == "GET":  # what the form would add to the query
                query = query + [(n, f.values[0]) for n, f in form.fields.items()
                                 if f.values and f.values[0] and f.tag != "button"]
            sent_to = by_endpoint.get((app_name, endpoint, form.method))
            sent_keys = _keys_of(args, scene)
            if sent_to is None or sent_keys is None:
                continue
            seen = (host, sent_keys, bool(form.fields))
            if seen not in plans[sent_to].seen_from:
                plans[sent_to].seen_from.append(seen)
            shape = (app_name, endpoint, tuple(sorted(sent_keys.items())),
                     tuple(sorted({n for n, _ in query})))
            if follow and form.method == "GET" and query and shape not in shapes:
                shapes.add(shape)
                queue.append((app_name, Host(endpoint, tuple(sorted(sent_keys.items())),
                                             _query_of(query, scene)), False))
    for target in targets:
        plan = plans[target]
        if plan.seen_from:
            if target.method != "GET" or plan.url_keys is None:
                plan.url_keys = min((sent for _, sent, _ in plan.seen_from),
                                    key=lambda keys: _rank(keys, scene))
            chosen = [(h, has_fields) for h, sent, has_fields in plan.seen_from
                      if sent == plan.url_keys]
            chosen.sort(key=lambda c: (not c[1], c[0].endpoint != target.endpoint))
            plan.hosts = list(dict.fromkeys(h for h, _ in chosen))[:MAX_HOSTS]
        if plan.url_keys is None:
            with savepoint():
                plan.url_keys = _probe(apps[target.app], clients[target.app], target, scene)
    return dict(plans)


def _rank(keys: dict[str, str], scene) -> tuple:
    return tuple(scene.candidates(name).index(key) for name, key in sorted(keys.items()))


def _probe(app: Flask, client, target: Target, scene) -> dict[str, str]:
    """For a target no page links to: the first real values it does not answer 404 to."""
    combos = _key_combinations(target.rule, scene)
    if len(combos) <= 1 or target.method == "GET":
        return combos[0] if combos else {}
    token = csrf_of(client)
    statuses = []
    for keys in combos:
        url = build_url(app, target.endpoint, keys, scene)
        response = client.open(url, method=target.method, data={"csrf_token": token},
                               headers={"X-CSRFToken": token})
        statuses.append(response.status_code)
    best = min(range(len(combos)), key=lambda i: (statuses[i] >= 400,
                                                  statuses[i] in (400, 404), i))
    return combos[best]


# --- one target's sweep -------------------------------------------------------------------

# Fields only the source names (no page, no form class): numbers by their name.
NUMERIC_NAME = re.compile(r"(^|-)(qty|quantity|amount|unit_price|percent|alloc|min|max|page)"
                          r"(-|$)")
DIGITS = re.compile(r"\d+")


@dataclass
class SweepField:
    name: str
    baseline: list[str] | None  # None: sent only when it carries the hostile value
    numeric: bool = False
    maxlength: int | None = None
    read: bool = False  # the view reads it: its form class or its source names it
    file: bool = False
    header: bool = False
    body: bool = False


@dataclass
class Variant:
    """One form (or link) that sends to the target, as the page shows it."""

    fields: dict[str, SweepField]
    htmx: bool = False
    query: list[tuple[str, str]] = field(default_factory=list)  # in the action URL


@dataclass
class Probe:
    label: str
    must_refuse: bool
    url: str
    data: MultiDict
    headers: dict[str, str]
    body: bytes | None = None


def _fill(f: PageField, last: str, fill: dict[str, str]) -> str:
    if last in fill:
        return fill[last]
    if f.type == "number":
        return "1"
    if f.type == "date":
        return clock.today().isoformat()
    if f.type == "datetime-local":
        return clock.today().isoformat() + "T00:00"
    if f.type == "email":
        return fill.get("email", "sweep@example.com")
    return "Sweep"


def _baseline(f: PageField, fill: dict[str, str]) -> list[str] | None:
    if f.tag == "button" or f.type in ("submit", "button", "image", "reset", "file"):
        return None
    if f.type == "checkbox":
        return f.values or None
    if f.type == "radio":
        return f.values[:1] or f.options[:1]
    if f.tag == "select":
        return f.values or [next((o for o in f.options if o), "")]
    values = f.values or [""]
    last = f.name.rsplit("-", 1)[-1]
    if not values[0] and (f.required or (last in fill and f.type != "hidden")
                          or (f.type == "hidden" and last == "payment_method")):
        values = [_fill(f, last, fill)]
    return values


def _matches(page_name: str, cf: ClassField) -> bool:
    return page_name == cf.name or (not cf.prefixed and page_name.endswith("-" + cf.name))


def variants_for(target: Target, forms: list[PageForm], reads: ViewReads,
                 fill: dict[str, str]) -> list[Variant]:
    """The target's forms as the sweep sends them, with what the view's source adds."""
    class_fields = reads.fields.get(target.method, [])
    source_names = reads.names.get(target.method, set())
    found, shapes = [], set()
    for form in forms:
        fields = {}
        items = [(k, PageField(k, "input", "hidden", [v])) for k, v in
                 parse_qsl(urlsplit(form.url).query, keep_blank_values=True)]
        query = []
        if target.method == "GET":
            page_fields = items + list(form.fields.items())
        else:
            page_fields = list(form.fields.items())
            query = [(k, f.values[0]) for k, f in items]
        for name, pf in page_fields:
            if name.endswith("csrf_token"):
                continue
            cf = next((c for c in class_fields if _matches(name, c)), None)
            fields[name] = SweepField(
                name, _baseline(pf, fill),
                numeric=pf.numeric or bool(cf and cf.numeric) or bool(NUMERIC_NAME.search(name)),
                maxlength=pf.maxlength or (cf.maxlength if cf else None),
                read=cf is not None or name in source_names, file=pf.type == "file")
        shape = (tuple(sorted(DIGITS.sub("#", n) for n in fields)), form.htmx)
        if shape in shapes:
            continue
        shapes.add(shape)
        found.append(Variant(fields, form.htmx, query))
    if not found:  # no page shows a form for it: the fields its form classes name
        found.append(Variant({cf.name: SweepField(cf.name, None, cf.numeric, cf.maxlength,
                                                  read=True)
                              for cf in class_fields if cf.prefixed}))
    for variant in found[:3]:
        for name in source_names:
            if name not in variant.fields and not name.endswith("csrf_token"):
                variant.fields[name] = SweepField(name, None, bool(NUMERIC_NAME.search(name)),
                                                  read=True)
        for name in reads.headers:
            variant.fields[f"header:{name}"] = SweepField(name, None, header=True, read=True)
        if reads.body and target.method != "GET":
            variant.fields["<body>"] = SweepField("<body>", None, body=True, read=True)
    return found[:3]


def digit_mutations(value: str) -> list[str]:
    """A real value with its number made hostile: SO-000123 -> SO-², SO-9999…"""
    if not DIGITS.search(value):
        return []
    return [DIGITS.sub("²", value, count=1), DIGITS.sub("9" * 20, value, count=1)]


def shown(value: str) -> str:
    if len(value) > 40:
        return f"{value[:12]!r}…({len(value)} characters)"
    return repr(value)


class Sweeper:
    """Sends one target every hostile value and collects what went wrong."""

    addresses = (f"10.{a}.{b}.{c}" for a in itertools.count(1) for b in range(256)
                 for c in range(1, 255))

    def __init__(self, target: Target, plan: Plan, app: Flask, client, scene, connection,
                 policy):
        self.target, self.plan, self.app, self.client = target, plan, app, client
        self.scene, self.connection, self.policy = scene, connection, policy
        self.problems: list[str] = []
        self.reads = view_reads(app, target.endpoint)

    # -- setup
    def url(self, override: tuple[str, str] | None = None) -> str:
        values = {}
        for name in url_variables(self.target.rule):
            key = self.plan.url_keys.get(name) if self.plan.url_keys else None
            values[name] = self.scene[key] if key and self.scene.knows(key) else "1"
        if override:
            values[override[0]] = override[1]
        return VARIABLE.sub(lambda m: quote(values[m.group(2)], safe=""), self.target.rule)

    def host_urls(self) -> list[str]:
        return [host.url(self.app, self.scene) for host in self.plan.hosts]

    def discover(self) -> list[Variant]:
        forms = []
        own = resolve(self.app, self.url(), self.target.method)
        for url in self.host_urls():
            response = self.client.get(url)
            if response.status_code >= 400:
                self.problems.append(f"the sweep cannot open {url}, which carries the form "
                                     f"({response.status_code}): is it signed in?")
                continue
            for form in read_page(response.get_data(as_text=True)):
                sent_to = resolve(self.app, form.url or url, form.method)
                if form.method == self.target.method and sent_to and own and \
                        sent_to[:2] == own[:2]:
                    forms.append(form)
        return variants_for(self.target, forms, self.reads, self.policy.FILL)

    # -- the probes
    def probes(self, variants: list[Variant]) -> list[Probe]:
        found = []
        base = variants[0]
        for name in url_variables(self.target.rule):
            key = (self.plan.url_keys or {}).get(name)
            real_value = self.scene[key] if key and self.scene.knows(key) else ""
            values = self.policy.URL_VALUES + digit_mutations(real_value) + (
                [real_value + "é", real_value[:-1] + "é"] if real_value else [])
            for value in values:
                found.append(self.probe(base, f"URL <{name}>={shown(value)}", True,
                                        url=self.url((name, value))))
        swept = set()  # qty-1, qty-2…: one field of each kind, once for all the variants
        for variant in variants:
            for f in variant.fields.values():
                if (kind := DIGITS.sub("#", f.name)) in swept:
                    continue
                swept.add(kind)
                for value, must in self.policy.hostile_values(f):
                    found.append(self.probe(variant, f"{f.name}={shown(value)}", must,
                                            hostile=(f, value)))
                if DIGITS.search(f.name) and not f.header and not f.body:
                    for name in digit_mutations(f.name):
                        renamed = SweepField(name, None, read=False)
                        found.append(self.probe(variant, f"name {name}", False,
                                                hostile=(renamed, (f.baseline or ["1"])[0]),
                                                drop=f.name))
        return found

    def probe(self, variant: Variant, label: str, must: bool, *, url: str | None = None,
              hostile: tuple[SweepField, str] | None = None, drop: str | None = None) -> Probe:
        data = MultiDict()
        headers, body = {}, None
        for f in variant.fields.values():
            if f.baseline is not None and f.name != drop and not (hostile and hostile[0] is f):
                for value in f.baseline:
                    data.add(f.name, value)
        if hostile:
            f, value = hostile
            if f.header:
                headers[f.name] = value.encode("utf-8").decode("latin-1")
            elif f.body:
                body = value.encode("utf-8")
            elif f.file:
                data.add(f.name, (io.BytesIO(value.encode("utf-8")), "sweep.csv"))
            else:
                data.add(f.name, value)
        if variant.htmx:
            headers["HX-Request"] = "true"
        target_url = url or self.url()
        if variant.query and self.target.method != "GET":
            target_url += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in variant.query)
        return Probe(label, must, target_url, data, headers, body)

    # -- sending
    def send(self, probe: Probe):
        environ = {"REMOTE_ADDR": next(self.addresses)}
        if self.target.method == "GET":
            return self.client.get(probe.url, query_string=probe.data, headers=probe.headers,
                                   environ_base=environ)
        headers = {"X-CSRFToken": self.token, **probe.headers}
        if probe.body is not None:
            return self.client.open(probe.url, method=self.target.method, data=probe.body,
                                    headers=headers, content_type="application/json",
                                    environ_base=environ)
        data = MultiDict(probe.data)
        data.add("csrf_token", self.token)
        return self.client.open(probe.url, method=self.target.method, data=data,
                                headers=headers, environ_base=environ)

    def session_state(self) -> dict:
        cookie = self.client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        if cookie is None:
            return {}
        return self.app.session_interface.get_signing_serializer(self.app).loads(cookie.value)

    def cookie(self):
        found = self.client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        return found.value if found is not None else None

    def restore(self, value) -> None:
        name = self.app.config["SESSION_COOKIE_NAME"]
        if value is None:
            self.client.delete_cookie(name)
        else:
            self.client.set_cookie(name, value)

    def run_one(self, probe: Probe) -> bool:
        """Send it; note a 5xx or what it kept in the session. True when all went well."""
        kept_before = self.cookie()
        before = self.session_state()
        try:
            response = self.send(probe)
        except Exception as err:  # noqa: BLE001 - TESTING re-raises what would be a 500
            self.problems.append(f"{probe.label} -> {type(err).__name__}: {str(err)[:200]}")
            self.restore(kept_before)
            return False
        ok = True
        if response.status_code >= 500:
            self.problems.append(f"{probe.label} -> {response.status_code}")
            ok = False
        after = self.session_state()
        changed = {k for k in set(before) | set(after)
                   if before.get(k) != after.get(k)
                   and k not in self.policy.VOLATILE_SESSION_KEYS}
        if changed and ok:
            if probe.must_refuse:
                self.problems.append(f"{probe.label} was kept in the session ({sorted(changed)})")
                ok = False
            ok = self.hosts_render(f"after {probe.label} was kept in the session") and ok
        self.restore(kept_before)
        return ok

    def hosts_render(self, why: str) -> bool:
        for url in self.host_urls()[:1] or ([self.url()] if self.target.method == "GET" else []):
            try:
                status = self.client.get(url).status_code
            except Exception as err:  # noqa: BLE001
                status = f"{type(err).__name__}: {str(err)[:200]}"
            if not isinstance(status, int) or status >= 500:
                self.problems.append(f"{url} {why} -> {status}")
                return False
        return True

    def fingerprint(self) -> dict[str, str]:
        return fingerprint(self.connection, self.policy.BOOKKEEPING_TABLES)

    def batch(self, probes: list[Probe], *, must: bool) -> None:
        """Send the probes in a savepoint that is rolled back; must-refuse ones must leave
        the database as it was; accepted ones must leave the pages renderable."""
        if not probes:
            return
        nested = self.connection.begin_nested()
        try:
            before = self.fingerprint() if must else None
            for probe in probes:
                self.run_one(probe)
            if must:
                changed = diff(before, self.fingerprint())
                if changed:
                    nested.rollback()
                    nested = None
                    self.name_writers(probes)
            elif not self.hosts_render("after the accepted values"):
                nested.rollback()
                nested = None
                self.name_breakers(probes)
        finally:
            if nested is not None and nested.is_active:
                nested.rollback()

    def name_writers(self, probes: list[Probe]) -> None:
        for probe in probes:
            nested = self.connection.begin_nested()
            try:
                before = self.fingerprint()
                kept = self.cookie()
                self.send(probe)
                self.restore(kept)
                if changed := diff(before, self.fingerprint()):
                    self.problems.append(f"{probe.label} was refused but wrote {changed}")
            except Exception:  # noqa: BLE001 - reported by the batch already
                pass
            finally:
                nested.rollback()

    def name_breakers(self, probes: list[Probe]) -> None:
        for probe in probes:
            nested = self.connection.begin_nested()
            try:
                kept = self.cookie()
                self.send(probe)
                self.restore(kept)
                self.hosts_render(f"after {probe.label} was accepted")
            except Exception:  # noqa: BLE001 - reported by the batch already
                pass
            finally:
                nested.rollback()

    def run(self) -> list[str]:
        self.token = csrf_of(self.client)
        variants = self.discover()
        probes = self.probes(variants)
        self.batch([p for p in probes if p.must_refuse], must=True)
        self.batch([p for p in probes if not p.must_refuse], must=False)
        return self.problems


def fingerprint(connection, bookkeeping: set[str]) -> dict[str, str]:
    """Row count and a digest of the content of every table but the bookkeeping ones."""
    found = {}
    for table in metadata.sorted_tables:
        if table.name in bookkeeping:
            continue
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
        found[table.name] = f"{len(rows)} rows, {hashlib.sha1(repr(rows).encode()).hexdigest()}"
    return found


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])
