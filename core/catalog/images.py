"""Product pictures: an upload is checked to be an image (Pillow), resized to at most
MAX_SIDE pixels with a thumbnail beside it, stored under MEDIA_DIR/products with a random
name; the first picture (lowest position) is also Product.image, the one lists show.

Files are written before the caller commits: a refused or rolled-back upload may leave an
unreferenced file behind, never a row without its file."""
from __future__ import annotations

import io
import secrets
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.catalog.models import Product, ProductImage
from core.catalog.products import check_text, record_change, refuse

MAX_BYTES = 10 * 1024 * 1024          # an upload above 10 MB is refused before decoding
MAX_PIXELS = 40_000_000               # and an image above 40 megapixels (decompression bombs)
MAX_SIDE = 1200
THUMB_SIDE = 300
FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


def thumbnail_name(filename: str) -> str:
    stem, _, ext = filename.rpartition(".")
    return f"{stem}-thumb.{ext}"


def _decode(data: bytes) -> Image.Image:
    if not data:
        refuse("Choose a picture to upload.", "file")
    if len(data) > MAX_BYTES:
        refuse(f"The picture is {len(data) // (1024 * 1024)} MB; upload one of at most "
               f"{MAX_BYTES // (1024 * 1024)} MB.", "file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                refuse("Upload a JPEG, PNG, GIF or WebP picture.", "file")
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        refuse("That file is not a picture Marketline can read: upload a JPEG, PNG, GIF or "
               "WebP image.", "file")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        refuse(f"The picture is too large: at most {MAX_PIXELS // 1_000_000} megapixels.",
               "file")
    return ImageOps.exif_transpose(image)


def _save(image: Image.Image, folder: Path, filename: str, side: int) -> tuple[int, int]:
    copy = image.copy()
    copy.thumbnail((side, side))  # keeps the aspect ratio, never enlarges
    if filename.endswith(".jpg"):
        copy = copy.convert("RGB")
        copy.save(folder / filename, "JPEG", quality=85, optimize=True)
    else:
        copy.save(folder / filename, "PNG", optimize=True)
    return copy.size


def _refresh_main(product: Product) -> None:
    """Product.image is the first picture; renumber positions 0..n."""
    ordered = sorted(product.images, key=lambda i: (i.position, i.id or 0))
    for n, img in enumerate(ordered):
        img.position = n
    if ordered:
        product.image = ordered[0].filename


def add_image(session: Session, product: Product, data: bytes, *, alt: str, media_dir: Path,
              actor: audit.Actor) -> ProductImage:
    """Check, resize and store an uploaded picture as the product's last one."""
    alt = check_text(alt, "alt text", "alt", max_length=200) or product.name[:200]
    image = _decode(data)
    transparent = image.mode in ("RGBA", "LA", "P") and image.format != "JPEG"
    filename = f"{secrets.token_urlsafe(16)}.{'png' if transparent else 'jpg'}"
    folder = Path(media_dir) / "products"
    folder.mkdir(parents=True, exist_ok=True)
    width, height = _save(image, folder, filename, MAX_SIDE)
    _save(image, folder, thumbnail_name(filename), THUMB_SIDE)
    picture = ProductImage(filename=filename, alt=alt, width=width, height=height,
                           position=len(product.images), uploaded_by=actor.label)
    product.images.append(picture)
    _refresh_main(product)
    session.flush()
    record_change(session, "product_image.added", actor, product,
                  {"filename": filename, "width": width, "height": height})
    return picture


def update_alt(session: Session, picture: ProductImage, alt: str, *, actor: audit.Actor) -> None:
    picture.alt = check_text(alt, "alt text", "alt", max_length=200, required=True)
    session.flush()
    record_change(session, "product_image.updated", actor, picture.product,
                  {"filename": picture.filename, "alt": picture.alt})


def move_image(session: Session, picture: ProductImage, direction: str, *,
               actor: audit.Actor) -> None:
    """Swap a picture with its neighbour; the first becomes Product.image."""
    product = picture.product
    ordered = sorted(product.images, key=lambda i: (i.position, i.id))
    i = ordered.index(picture)
    j = i - 1 if direction == "up" else i + 1
    if direction in ("up", "down") and 0 <= j < len(ordered):
        ordered[i], ordered[j] = ordered[j], ordered[i]
        for n, img in enumerate(ordered):
            img.position = n
        _refresh_main(product)
        session.flush()
        record_change(session, "product_image.moved", actor, product,
                      {"filename": picture.filename, "direction": direction})


def remove_image(session: Session, picture: ProductImage, *, media_dir: Path,
                 actor: audit.Actor) -> None:
    """Delete a picture and its files; the next one becomes Product.image."""
    product, filename = picture.product, picture.filename
    product.images.remove(picture)
    _refresh_main(product)
    if not product.images:
        product.image = ""
    session.flush()
    record_change(session, "product_image.removed", actor, product, {"filename": filename})
    still_used = session.scalar(select(ProductImage.id).where(ProductImage.filename == filename))
    if still_used is None:
        for name in (filename, thumbnail_name(filename)):
            (Path(media_dir) / "products" / name).unlink(missing_ok=True)
