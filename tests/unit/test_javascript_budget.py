"""The JavaScript budget (issue 16): the whole site ships at most 35 KB of gzipped
JavaScript, ours and vendored together, and loads no script from elsewhere but Stripe.js.

Every .js the apps serve is counted: core/web/static (with vendor/htmx.min.js, which
`make install` copies from node_modules: without it the budget would pass by accident, so it
must be there), storefront/static and callcenter/static. Each file is gzipped at level 9, as
a server would send it, and the sizes are summed.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIRS = [ROOT / "core" / "web" / "static", ROOT / "storefront" / "static",
               ROOT / "callcenter" / "static"]
HTMX = ROOT / "core" / "web" / "static" / "vendor" / "htmx.min.js"
BUDGET = 35 * 1024  # bytes, gzipped
TEMPLATE_DIRS = [ROOT / "core", ROOT / "storefront", ROOT / "callcenter"]
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
SRC = re.compile(r"""\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
# A script of our own is served from an app's static folder through url_for; the one script
# from elsewhere is Stripe.js, whose address is the setting STRIPE_JS_URL (`stripe_js`).
OWN = re.compile(r"^\{\{\s*url_for\(\s*'(?:core\.)?static'\s*,\s*filename\s*=\s*'[^']+\.js'\s*\)\s*\}\}$")
STRIPE = "{{ stripe_js }}"
# A data block (schema.org JSON-LD for search engines) is never executed, so the CSP's
# script-src does not apply to it: the one kind of <script> without src a template may hold.
DATA_BLOCK = re.compile(r"""\btype\s*=\s*(["'])application/ld\+json\1""", re.IGNORECASE)


def served_scripts() -> list[Path]:
    return sorted(p for d in STATIC_DIRS for p in d.rglob("*.js"))


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def sizes() -> dict[str, int]:
    return {str(p.relative_to(ROOT)): gzipped_size(p) for p in served_scripts()}


def report(found: dict[str, int]) -> str:
    lines = [f"  {size:>7,} B  {name}" for name, size in sorted(found.items(),
                                                               key=lambda kv: -kv[1])]
    total = sum(found.values())
    return "\n".join(["gzipped (level 9) JavaScript the sites serve:", *lines,
                      f"  {total:>7,} B  total, budget {BUDGET:,} B"])


def test_htmx_is_installed_so_the_budget_counts_it():
    assert HTMX.is_file(), (f"{HTMX.relative_to(ROOT)} is missing: run `make install`, which "
                            "copies it from node_modules; the budget must count it")
    assert gzipped_size(HTMX) > 5 * 1024, "htmx.min.js looks truncated"
    assert HTMX in served_scripts()


def test_the_sites_ship_at_most_35_kb_of_gzipped_javascript():
    assert HTMX.is_file(), "vendor/htmx.min.js is missing: run `make install` first"
    found = sizes()
    assert sum(found.values()) <= BUDGET, report(found)


def test_the_report_names_every_file_and_the_total():
    found = {"a.js": 2048, "vendor/b.js": 40 * 1024}
    text = report(found)
    assert "a.js" in text and "vendor/b.js" in text and "43,008 B  total" in text


def templates() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html")
                  if "node_modules" not in p.parts)


def script_tags() -> list[tuple[str, str]]:
    """(template, the tag's attributes) for every <script> tag of every template."""
    return [(str(p.relative_to(ROOT)), m.group(1))
            for p in templates() for m in SCRIPT_TAG.finditer(p.read_text(encoding="utf-8"))]


def test_templates_load_no_script_from_elsewhere_than_our_static_files_and_stripe():
    tags = script_tags()
    assert len(tags) >= 2, "the skeleton's htmx and marketline.js tags were not found"
    wrong = []
    for template, attrs in tags:
        src = SRC.search(attrs)
        if src is None and DATA_BLOCK.search(attrs):
            continue
        if src is None:
            wrong.append(f"{template}: an inline <script> block (the CSP forbids them)")
        elif not (OWN.match(src.group(2).strip()) or src.group(2).strip() == STRIPE):
            wrong.append(f"{template}: <script src={src.group(2)!r}>")
    assert not wrong, "\n".join(wrong)


def test_the_template_check_catches_a_script_from_a_cdn():
    tag = '<script src="https://unpkg.com/htmx.org@2.0.4"></script>'
    attrs = SCRIPT_TAG.search(tag).group(1)
    src = SRC.search(attrs).group(2)
    assert not OWN.match(src) and src != STRIPE


def test_the_template_check_lets_a_json_ld_data_block_through_and_no_inline_script():
    assert DATA_BLOCK.search(SCRIPT_TAG.search('<script type="application/ld+json">').group(1))
    for tag in ("<script>", '<script type="module">', '<script type="text/javascript">'):
        assert not DATA_BLOCK.search(SCRIPT_TAG.search(tag).group(1))
