"""Synthetic PDFs for tests: realistic papers, and every kind of broken input."""

from __future__ import annotations

import io
import textwrap

import pymupdf
from PIL import Image

BODY = (
    "We propose a method for turning scientific papers into structured records. "
    "Our experiments show that the approach improves accuracy by 12.5% over the baseline. "
    "The main limitation is that scanned pages without a text layer are not supported. "
)


def make_paper(
    title: str = "Structured Extraction of Scientific Papers at Scale",
    authors: str = "Ada Lovelace and Alan Turing",
    affiliation: str = "Department of Computer Science, University of Somewhere",
    abstract: str = "We study metadata extraction from scientific PDFs. " * 4,
    pages: int = 3,
    nonce: str = "",
    figure: bool = True,
) -> bytes:
    """A one-column paper with a title page, body text, a captioned figure and references."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = 90.0
    for line in textwrap.wrap(title, 50):
        page.insert_text((72, y), line, fontsize=18, fontname="hebo")
        y += 24
    y += 6
    page.insert_text((72, y), authors, fontsize=11)
    page.insert_text((72, y + 16), affiliation, fontsize=9)
    y += 50
    page.insert_text((72, y), "Abstract", fontsize=11, fontname="hebo")
    y += 16
    for line in textwrap.wrap(abstract + nonce, 95):
        page.insert_text((72, y), line, fontsize=9.5)
        y += 12
    y += 14
    page.insert_text((72, y), "1 Introduction", fontsize=11, fontname="hebo")
    y += 16
    for line in textwrap.wrap(BODY * 4, 95):
        page.insert_text((72, y), line, fontsize=10)
        y += 13
    if figure:
        y += 10
        image = Image.new("RGB", (400, 200), (30, 120, 200))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        page.insert_image(pymupdf.Rect(150, y, 450, y + 150), stream=buffer.getvalue())
        page.insert_text((72, y + 170), "Figure 1: Overview of the extraction pipeline.",
                         fontsize=9)
    for number in range(2, pages):
        body_page = doc.new_page(width=595, height=842)
        y = 80.0
        body_page.insert_text((72, y), f"{number} Results", fontsize=11, fontname="hebo")
        y += 18
        for line in textwrap.wrap(BODY * 8, 95):
            body_page.insert_text((72, y), line, fontsize=10)
            y += 13
    refs = doc.new_page(width=595, height=842)
    refs.insert_text((72, 80), "References", fontsize=11, fontname="hebo")
    entries = [
        "[1] A. Author and B. Author. A study of things. In Proceedings of ACL, 2020.",
        "[2] C. Writer. Another study. Journal of Studies, 12(3):1-10, 2019. doi:10.1234/js.2019.1",
        "[3] D. Person. Preprint results. arXiv:2101.00001, 2021.",
    ]
    for i, entry in enumerate(entries):
        refs.insert_text((72, 100 + 16 * i), entry, fontsize=9)
    data = doc.tobytes()
    doc.close()
    return data


def make_pages(count: int, text: str = "Page text {n}") -> bytes:
    """A document of `count` small pages with one line each."""
    doc = pymupdf.open()
    for n in range(1, count + 1):
        doc.new_page(width=300, height=300).insert_text((20, 40), text.format(n=n), fontsize=9)
    data = doc.tobytes(garbage=1, deflate=True)
    doc.close()
    return data


def make_scanned() -> bytes:
    """A page with only an image on it, like a scan with no text layer."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    image = Image.new("L", (600, 800), 240)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    page.insert_image(page.rect, stream=buffer.getvalue())
    data = doc.tobytes()
    doc.close()
    return data


def make_encrypted() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret", fontsize=12)
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user")
    doc.close()
    return data


def make_zero_pages() -> bytes:
    """A syntactically valid PDF whose page tree is empty."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), (255, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


HTML_PAGE = b"<!DOCTYPE html><html><head><title>Paper</title></head><body>Not here</body></html>"
