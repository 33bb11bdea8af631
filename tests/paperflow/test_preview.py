import io

import blurhash
from PIL import Image

from paperflow.preview import THUMBNAIL_WIDTHS, render_preview
from tests.pdfs import make_paper


def test_preview_thumbnails_and_blurhash() -> None:
    images = render_preview(make_paper(nonce="preview"), width=800)
    picture = Image.open(io.BytesIO(images.preview.webp))
    assert picture.format == "WEBP" and picture.size == (800, images.preview.height)
    assert abs(images.preview.height / 800 - 842 / 595) < 0.01
    for name, width in THUMBNAIL_WIDTHS.items():
        thumb = Image.open(io.BytesIO(images.thumbnails[name].webp))
        assert thumb.format == "WEBP" and thumb.width == width
    assert blurhash.is_valid_blurhash(images.blurhash)
    # Mostly white page: the blurhash's average colour is light.
    assert sum(blurhash.decode(images.blurhash, 1, 1).convert("RGB").getpixel((0, 0))) / 3 > 180
