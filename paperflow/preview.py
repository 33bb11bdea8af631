"""First-page preview: a WebP image, thumbnails 150/300/600 px wide, and a blurhash."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import blurhash
from PIL import Image

from paperflow.errors import PaperflowError
from paperflow.pdf import mupdf_failure, open_pdf

THUMBNAIL_WIDTHS = {"sm": 150, "md": 300, "lg": 600}
MAX_PREVIEW_PIXELS = 4000 * 4000


@dataclass
class RenderedImage:
    webp: bytes
    width: int
    height: int


@dataclass
class PreviewImages:
    preview: RenderedImage
    blurhash: str
    thumbnails: dict[str, RenderedImage] = field(default_factory=dict)


def _webp(image: Image.Image, quality: int = 82) -> RenderedImage:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=quality, method=4)
    return RenderedImage(buffer.getvalue(), image.width, image.height)


def render_preview(data: bytes, width: int = 1200) -> PreviewImages:
    """Render page 1 at `width` pixels wide (height capped for absurd page shapes).

    Every failure leaves as a picklable `PaperflowError` (MuPDF's own types do not pickle).
    """
    try:
        return _render_preview(data, width)
    except PaperflowError:
        raise
    except Exception as exc:
        raise mupdf_failure(exc, "render the first page") from exc


def _render_preview(data: bytes, width: int) -> PreviewImages:
    with open_pdf(data) as doc:
        page = doc[0]
        rect = page.rect
        scale = width / max(rect.width, 1.0)
        if rect.width * rect.height * scale * scale > MAX_PREVIEW_PIXELS:
            scale = (MAX_PREVIEW_PIXELS / max(rect.width * rect.height, 1.0)) ** 0.5
        import pymupdf

        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
        image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
        del pixmap
    thumbnails = {}
    for name, thumb_width in THUMBNAIL_WIDTHS.items():
        height = max(1, round(image.height * thumb_width / image.width))
        thumbnails[name] = _webp(image.resize((thumb_width, height), Image.Resampling.LANCZOS))
    small = image.resize((64, max(1, round(image.height * 64 / image.width))))
    return PreviewImages(_webp(image), blurhash.encode(small, 4, 5), thumbnails)
