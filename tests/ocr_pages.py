"""Image-only PDFs for OCR tests and benchmarks: real papers' pages rasterised like a scan."""

from __future__ import annotations

import io
import random

import pymupdf
from PIL import Image, ImageFilter


def _page_image(page: pymupdf.Page, dpi: int, noise: bool, seed: int) -> bytes:
    pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    image = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
    if noise:
        rng = random.Random(seed)
        # A photocopy: a slight skew, blur, grey background, speckles.
        image = image.rotate(rng.uniform(-1.2, 1.2), resample=Image.Resampling.BILINEAR,
                             expand=False, fillcolor=255)
        image = image.filter(ImageFilter.GaussianBlur(0.6))
        image = image.point(lambda v: int(28 + v * 0.82))
        speckles = image.load()
        assert speckles is not None
        for _ in range(image.width * image.height // 400):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            speckles[x, y] = rng.choice((20, 60, 235))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def rasterise(data: bytes, pages: int | None = 2, dpi: int = 200, noise: bool = False,
              seed: int = 1, text_layer: str | None = None) -> bytes:
    """An image-only PDF of the first `pages` pages of `data` (all when None), each rendered at
    `dpi` (with skew, blur and speckles when `noise`) onto a page of the same size.

    `text_layer` puts that text invisibly (render mode 3) over each image: a garbage layer.
    """
    src = pymupdf.open(stream=data, filetype="pdf")
    out = pymupdf.open()
    count = src.page_count if pages is None else min(pages, src.page_count)
    for index in range(count):
        page = src[index]
        target = out.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, stream=_page_image(page, dpi, noise, seed + index))
        if text_layer is not None:
            y = 60.0
            for line in text_layer.splitlines() or [text_layer]:
                target.insert_text((40, y), line, fontsize=9, render_mode=3)
                y += 12
    src.close()
    result = out.tobytes(deflate=True)
    out.close()
    return result


GARBAGE = "\n".join(
    ["\ufffd\ufffd\x01\x02 \ufffd\x03\ufffd \x07\ufffd\ufffd \ufffd\x1f\ufffd\ufffd " * 3] * 6
)
"""A text layer as a broken font without a ToUnicode map gives it."""

SYMBOL_SOUP = "\n".join(["!\"#$% &'()*+ ,-./0 :;<=>? @[\\]^_ `{|}~ #$%&' ()*+ " * 2] * 6)
"""A text layer of symbols where the letters should be."""
