import io
import json

import pymupdf
import pytest
from PIL import Image

from paperflow.evaluate import normalise
from paperflow.figures import extract_figures
from paperflow.pdf import parse_layout
from tests.conftest import EVAL_DIR

PARAGRAPH = [
    "We study how figures are found in scientific papers and tied to their captions.",
    "The method reads the page layout, the embedded images and the vector drawings.",
    "Each caption takes the graphics between it and the running text above it.",
    "Results are reported for one, two and three column layouts of real papers.",
]


def _png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (200, 40, 40))
    for x in range(0, width, 10):
        for y in range(height):
            image.putpixel((x, y), (20, 20, 160))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _paragraph(page: pymupdf.Page, y: float, first: str | None = None) -> float:
    lines = [first, *PARAGRAPH] if first else PARAGRAPH
    for line in lines:
        page.insert_text((72, y), line, fontsize=10)
        y += 13
    return y


def _paper() -> bytes:
    """Two pages: a raster figure with a colon caption, a vector figure with a 'Fig. 2.' caption."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = _paragraph(page, 80, "As we see in the overview (see Figure 1 for details), it works.")
    page.insert_image(pymupdf.Rect(72, y + 20, 372, y + 170), stream=_png(300, 150))
    page.insert_text((72, y + 190), "Figure 1: A raster image of stripes in red and blue.",
                     fontsize=9)
    page.insert_text((72, y + 202), "The caption goes on for a second line here.", fontsize=9)
    y = _paragraph(page, y + 240, "Figure 1 shows the stripes used in the first experiment.")
    _paragraph(page, y + 20)
    page = doc.new_page(width=595, height=842)
    y = _paragraph(page, 80)
    top = y + 20
    page.draw_rect(pymupdf.Rect(100, top, 300, top + 100), color=(0, 0, 0), width=1)
    page.draw_rect(pymupdf.Rect(120, top + 20, 180, top + 80), color=(1, 0, 0), fill=(1, 0, 0))
    page.draw_line((100, top + 100), (300, top), color=(0, 0, 1), width=2)
    page.insert_text((72, top + 120), "Fig. 2. Vector drawing of boxes and a line.", fontsize=9)
    _paragraph(page, top + 150)
    data = doc.tobytes()
    doc.close()
    return data


@pytest.fixture(scope="module")
def paper() -> bytes:
    return _paper()


def test_finds_captioned_raster_and_vector_figures(paper: bytes) -> None:
    found = extract_figures(paper, parse_layout(paper))
    assert [f.figure.label for f in found] == ["Figure 1", "Fig. 2"]
    first, second = (f.figure for f in found)
    assert (first.number, first.page, first.kind) == (1, 1, "raster")
    assert first.caption == (
        "A raster image of stripes in red and blue. The caption goes on for a second line here."
    )
    assert first.caption_source == "pdf"
    assert (second.number, second.page, second.kind) == (2, 2, "vector")
    assert second.caption == "Vector drawing of boxes and a line."
    # The crops hold the graphics and not the caption or the text around them.
    x0, y0, x1, y1 = first.bbox
    assert x0 <= 72 and x1 >= 372 and 295 <= x1 - x0 <= 310 and 150 <= y1 - y0 <= 160
    x0, y0, x1, y1 = second.bbox
    assert x0 <= 100 and x1 >= 300 and 100 <= y1 - y0 <= 110


def test_pngs_decode_with_the_region_aspect_ratio(paper: bytes) -> None:
    for found in extract_figures(paper, parse_layout(paper), dpi=100):
        image = Image.open(io.BytesIO(found.png))
        assert image.size == (found.figure.width, found.figure.height)
        x0, y0, x1, y1 = found.figure.bbox
        assert image.width / image.height == pytest.approx((x1 - x0) / (y1 - y0), rel=0.03)
        assert image.width == pytest.approx((x1 - x0) * 100 / 72, abs=2)


def test_without_rendering_sizes_match_the_rendered_ones(paper: bytes) -> None:
    doc = parse_layout(paper)
    rendered = extract_figures(paper, doc)
    sized = extract_figures(paper, doc, render=False)
    assert all(f.png == b"" for f in sized)
    assert [(f.figure.width, f.figure.height) for f in sized] == [
        (f.figure.width, f.figure.height) for f in rendered
    ]


def test_in_text_mentions_are_not_captions(paper: bytes) -> None:
    found = extract_figures(paper, parse_layout(paper), render=False)
    captions = [f.figure.caption or "" for f in found]
    assert len(found) == 2
    assert not any("shows the stripes" in c or "for details" in c for c in captions)


def test_max_figures_and_pixel_cap(paper: bytes) -> None:
    doc = parse_layout(paper)
    assert len(extract_figures(paper, doc, max_figures=1, render=False)) == 1
    assert extract_figures(paper, doc, max_figures=0) == []
    huge = extract_figures(paper, doc, max_figures=1, dpi=5000)[0]
    assert max(huge.figure.width, huge.figure.height) <= 4000
    assert max(Image.open(io.BytesIO(huge.png)).size) <= 4000


def test_caption_without_graphics_takes_the_gap_above_it() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = _paragraph(page, 80)
    page.insert_text((72, y + 150), "FIGURE 3. A figure drawn only as white space.", fontsize=9)
    _paragraph(page, y + 180)
    data = doc.tobytes()
    found = extract_figures(data, parse_layout(data))
    assert len(found) == 1
    figure = found[0].figure
    assert (figure.label, figure.number, figure.kind) == ("FIGURE 3", 3, "region")
    assert figure.caption == "A figure drawn only as white space."
    assert y < figure.bbox[3] <= y + 150


def test_large_uncaptioned_image_is_kept_and_small_logo_dropped() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = _paragraph(page, 80)
    page.insert_image(pymupdf.Rect(72, y + 20, 372, y + 220), stream=_png(300, 200))
    page.insert_image(pymupdf.Rect(500, y + 20, 530, y + 50), stream=_png(30, 30))
    _paragraph(page, y + 250)
    data = doc.tobytes()
    found = extract_figures(data, parse_layout(data))
    assert len(found) == 1
    figure = found[0].figure
    assert figure.label is None and figure.caption is None and figure.caption_source == "none"
    assert figure.kind == "raster"


# Papers whose every printed caption is found, across layouts and caption styles.
REAL_PAPERS = [
    "V02_arxiv0908.0054_bosonicdm",
    "V04_ave2008_answervalidation",
    "V13_cvpr2022_xylayoutlm",
    "V21_bmchsr2014_malawi",
    "V22_clinsci2014_ace",
    "V24_arxiv1508.05632",
    "V27_natcommun2023_limk",
    "V28_biorxiv2024_nanopore",
]


@pytest.mark.skipif(not EVAL_DIR.is_dir(), reason="evaluation papers not available")
@pytest.mark.parametrize("paper_id", REAL_PAPERS)
def test_real_paper_captions(paper_id: str) -> None:
    gt = json.loads((EVAL_DIR / f"{paper_id}.gt.json").read_text())["gt"]
    data = (EVAL_DIR / f"{paper_id}.pdf").read_bytes()
    figures = [f.figure for f in extract_figures(data, parse_layout(data), render=False)]
    labelled = {normalise(f.label): f for f in figures if f.label}
    assert len(labelled) == len(gt["figure_captions"])
    for expected in gt["figure_captions"]:
        figure = labelled[normalise(expected["label"])]
        start = normalise(expected["caption_start"])
        assert normalise(figure.caption or "")[: len(start)] == start
        assert figure.width > 0 and figure.height > 0


def test_only_kept_figures_are_rendered(paper: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperflow import figures

    crops: list[tuple[float, ...]] = []
    original = figures._crop_png

    def counting(display: pymupdf.DisplayList, matrix: pymupdf.Matrix,
                 clip: pymupdf.Rect) -> tuple[bytes, int, int] | None:
        crops.append(tuple(clip))
        return original(display, matrix, clip)

    monkeypatch.setattr(figures, "_crop_png", counting)
    doc = parse_layout(paper)
    found = extract_figures(paper, doc, max_figures=1)
    assert len(found) == 1 and len(crops) == 1 and found[0].png
    crops.clear()
    assert all(f.png == b"" for f in extract_figures(paper, doc, render=False))
    assert crops == []


def test_png_writer_keeps_mupdfs_pixels(paper: bytes) -> None:
    from paperflow.figures import _png

    with pymupdf.open(stream=paper) as doc:
        for colorspace in (pymupdf.csRGB, pymupdf.csGRAY):
            pix = doc[0].get_pixmap(clip=pymupdf.Rect(60, 90, 391, 333), alpha=False,
                                    colorspace=colorspace)
            ours = Image.open(io.BytesIO(_png(pix)))
            theirs = Image.open(io.BytesIO(pix.tobytes("png")))
            assert ours.mode == theirs.mode and ours.size == theirs.size == (pix.width, pix.height)
            assert ours.tobytes() == theirs.tobytes()
