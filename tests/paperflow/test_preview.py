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


def test_every_image_has_its_stated_size_and_the_page_shape() -> None:
    images = render_preview(make_paper(nonce="preview-sizes"), width=1200)
    assert images.preview.width == 1200
    assert abs(images.preview.height - 1200 * 842 / 595) <= 1.5  # pixel edges round outwards
    for name, width in THUMBNAIL_WIDTHS.items():
        thumb = images.thumbnails[name]
        decoded = Image.open(io.BytesIO(thumb.webp))
        assert decoded.size == (thumb.width, thumb.height) == (width, thumb.height)
        assert abs(thumb.height - round(width * 842 / 595)) <= 1
    assert list(images.thumbnails) == list(THUMBNAIL_WIDTHS)


def test_preview_narrower_than_the_largest_thumbnail() -> None:
    images = render_preview(make_paper(nonce="preview-narrow"), width=400)
    assert images.preview.width == 400
    assert {name: t.width for name, t in images.thumbnails.items()} == THUMBNAIL_WIDTHS
