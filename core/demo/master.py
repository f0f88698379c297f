"""Master data for the demo, through the console's own services: an administrator who can
open every Setup page, and a picture gallery for one product (generated with Pillow, then
uploaded as a catalogue manager would: checked, resized, thumbnailed)."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agents.services import create_agent, find_agent_by_email
from core.audit import Actor
from core.catalog import images
from core.catalog.models import Variant

ADMIN = ("admin@marketline.example", "Ada Admin", ["admin"])
GALLERY_SKU = "COF-DL-MAG"
VIEWS = [("front", (91, 58, 30), "The machine from the front, with its bean hopper"),
         ("side", (140, 98, 60), "The machine from the side, with its steam wand"),
         ("cup", (60, 40, 20), "An espresso with crema, made by the machine")]


def _picture(label: str, colour: tuple[int, int, int]) -> bytes:
    """A simple drawn picture: a body, a spout and a cup, in the view's colour."""
    image = Image.new("RGB", (1600, 1200), (246, 239, 228))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((450, 200, 1150, 1000), radius=60, fill=colour)
    draw.rectangle((700, 620, 900, 700), fill=(40, 40, 40))
    draw.rounded_rectangle((720, 820, 880, 960), radius=20, fill=(255, 255, 255))
    draw.text((80, 1100), label, fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def load_master(session: Session, media_dir: Path | None) -> str:
    """The demo administrator and one product's gallery. Flushes; the caller commits."""
    from core.demo import DEMO_PASSWORD
    email, name, roles = ADMIN
    if find_agent_by_email(session, email) is None:
        create_agent(session, email=email, full_name=name, password=DEMO_PASSWORD, roles=roles,
                     actor=Actor.system("demo"))
    said = f"Setup pages (/agent/setup/) for {email}."
    variant = session.scalar(select(Variant).where(Variant.sku == GALLERY_SKU))
    if media_dir is None or variant is None or variant.product.images:
        return said
    catalog = Actor("agent", None, "catalog@marketline.example")
    for label, colour, alt in VIEWS:
        images.add_image(session, variant.product, _picture(label, colour), alt=alt,
                         media_dir=Path(media_dir), actor=catalog)
    return f"{said} {variant.product.name} has a gallery of {len(VIEWS)} pictures."
