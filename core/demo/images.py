"""Simple generated product pictures for the demo: SVG files, no external URLs."""
from __future__ import annotations

import hashlib
from html import escape
from pathlib import Path

PALETTE = {
    "paper": ("#e8f1fb", "#1d4e89"), "writing": ("#fdf1e7", "#9a3f00"),
    "printers": ("#eef0f3", "#24292f"), "desk": ("#eaf6ee", "#0b6b3a"),
    "coffee-machines": ("#f4ece6", "#5b3a1e"), "coffee-tea": ("#f6efe4", "#6b4423"),
    "breakroom": ("#eef7f7", "#0e5e63"), "furniture": ("#f1eef8", "#4b2e83"),
}


def product_svg(name: str, brand: str, category_slug: str) -> str:
    background, ink = PALETTE.get(category_slug, ("#f6f8fa", "#24292f"))
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
    x, y, r = 120 + seed % 160, 110 + (seed >> 8) % 60, 50 + (seed >> 16) % 40
    initials = "".join(w[0] for w in name.split()[:2]).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" role="img" '
        f'aria-label="{escape(name)}">'
        f'<rect width="400" height="300" fill="{background}"/>'
        f'<circle cx="{x}" cy="{y}" r="{r}" fill="{ink}" opacity="0.15"/>'
        f'<rect x="{400 - x - 40}" y="{y + 20}" width="{r * 2}" height="{r}" rx="12" '
        f'fill="{ink}" opacity="0.1"/>'
        f'<text x="200" y="165" font-family="sans-serif" font-size="72" font-weight="700" '
        f'fill="{ink}" text-anchor="middle">{escape(initials)}</text>'
        f'<text x="200" y="260" font-family="sans-serif" font-size="22" fill="{ink}" '
        f'text-anchor="middle">{escape(brand)}</text></svg>')


def write_product_image(media_dir: Path, slug: str, name: str, brand: str,
                        category_slug: str) -> str:
    """Write `<media_dir>/products/<slug>.svg`; returns the file name to store on the product."""
    folder = Path(media_dir) / "products"
    folder.mkdir(parents=True, exist_ok=True)
    filename = f"{slug}.svg"
    (folder / filename).write_text(product_svg(name, brand, category_slug), encoding="utf-8")
    return filename
