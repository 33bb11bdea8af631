"""A corpus of hostile PDFs: damaged, crafted, oversized and malicious inputs, built on the fly.

Every case is a function returning the file's bytes; `CASES` names them all. They are written
as raw PDF syntax (so the damage is exactly what the name says) or with PyMuPDF (encryption,
truncations of a real file). Nothing here is harmful outside a PDF reader: the JavaScript and
Launch actions only name commands, and the "bombs" are a few hundred KiB on disk.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import pymupdf

from tests.pdfs import make_paper

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
TEXT = b"BT /F1 12 Tf 72 720 Td (A hostile paper title) Tj ET"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def stream(data: bytes, entries: bytes = b"", length: int | None = None) -> bytes:
    """A stream object body; `length` overrides the true /Length (to lie about it)."""
    size = len(data) if length is None else length
    return b"<< " + entries + b" /Length %d >>\nstream\n" % size + data + b"\nendstream"


def deflated(data: bytes, entries: bytes = b"") -> bytes:
    return stream(zlib.compress(data, 9), b"/Filter /FlateDecode " + entries)


def build(objects: list[bytes], *, root: int = 1, trailer: bytes = b"",
          header: bytes = HEADER, xref_offsets: Callable[[int, int], int] | None = None,
          startxref: int | None = None) -> bytes:
    """A PDF whose object N is `objects[N - 1]`, with a correct xref table unless told.

    `xref_offsets(number, true_offset)` rewrites an entry (to break the table); `startxref`
    overrides where the table is said to be.
    """
    out = io.BytesIO()
    out.write(header)
    offsets: list[int] = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for number, offset in enumerate(offsets, 1):
        if xref_offsets is not None:
            offset = xref_offsets(number, offset)
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R " % (len(objects) + 1, root) + trailer
              + b">>\nstartxref\n%d\n%%%%EOF\n" % (xref if startxref is None else startxref))
    return out.getvalue()


def one_page(content: bytes = TEXT, *, page_extra: bytes = b"", catalog_extra: bytes = b"",
             resources: bytes = b"/Font << /F1 5 0 R >>", more: list[bytes] | None = None,
             media_box: bytes = b"[0 0 612 792]", **kwargs: object) -> bytes:
    """Catalog 1, Pages 2, Page 3, contents 4, font 5, then `more` objects from 6 on."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox " + media_box
        + b" /Resources << " + resources + b" >> /Contents 4 0 R " + page_extra + b">>",
        stream(content),
        FONT,
        *(more or []),
    ]
    return build(objects, **kwargs)  # type: ignore[arg-type]


# --- not a PDF at all -------------------------------------------------------------------------

def empty() -> bytes:
    return b""


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><body>Sign in to read this paper</body></html>"


def png_renamed() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def header_only() -> bytes:
    return b"%PDF-1.7\n%%EOF\n"


def nul_bytes_after_header() -> bytes:
    return b"%PDF-1.4\n" + b"\x00" * 1_000_000 + b"\n%%EOF\n"


def random_garbage() -> bytes:
    chunk = bytes((i * 7919 + 13) % 256 for i in range(4096))
    return b"%PDF-1.5\n" + chunk * 64 + b"\nstartxref\n9\n%%EOF\n"


# --- cross-reference damage -------------------------------------------------------------------

def broken_xref() -> bytes:
    """Every xref entry points 37 bytes off: MuPDF must repair by scanning."""
    return one_page(xref_offsets=lambda number, offset: offset + 37)


def xref_past_end() -> bytes:
    return one_page(startxref=10**9)


def no_xref_table() -> bytes:
    data = one_page()
    cut = data.rindex(b"xref\n0 ")
    return data[:cut] + b"startxref\n0\n%%EOF\n"


def xref_prev_loop() -> bytes:
    """The trailer's /Prev points back at the same table: an endless chain of updates."""
    data = one_page()
    xref = data.rindex(b"xref\n0 ")
    return data.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % xref)


def huge_object_numbers() -> bytes:
    return one_page(trailer=b"/Size 2147483647 ", more=[b"<< /Ref 2147483646 0 R >>"])


# --- cycles -----------------------------------------------------------------------------------

def cyclic_page_tree() -> bytes:
    """/Kids of the page tree's root point at the root itself."""
    return build([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
    ])


def cyclic_page_tree_two_levels() -> bytes:
    return build([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] >>",
    ])


def cyclic_parent_chain() -> bytes:
    """A page whose inherited attributes (/Parent chain) loop forever."""
    return build([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 4 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 /Parent 2 0 R >>",
        stream(TEXT),
    ])


def cyclic_object_references() -> bytes:
    """Objects that are references to each other (6 -> 7 -> 6), used as /Resources and /Length."""
    return one_page(resources=b"/Font 6 0 R /XObject 8 0 R", more=[
        b"7 0 R",
        b"6 0 R",
        b"8 0 R",
    ])


def self_referencing_length() -> bytes:
    body = b"<< /Length 4 0 R >>\nstream\n" + TEXT + b"\nendstream"
    data = one_page()
    start = data.index(b"4 0 obj\n") + len(b"4 0 obj\n")
    end = data.index(b"\nendobj", start)
    return data[:start] + body + data[end:]


def recursive_form_xobject() -> bytes:
    """A form XObject that draws itself."""
    form = stream(b"q /X1 Do Q", b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                  b"/Resources << /XObject << /X1 6 0 R >> >>")
    return one_page(TEXT + b" /X1 Do", resources=b"/Font << /F1 5 0 R >> /XObject << /X1 6 0 R >>",
                    more=[form])


def cyclic_outline() -> bytes:
    return one_page(catalog_extra=b"/Outlines 6 0 R ", more=[
        b"<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>",
        b"<< /Title (Loop) /Parent 6 0 R /Next 7 0 R /Prev 7 0 R /First 7 0 R "
        b"/Dest [3 0 R /Fit] >>",
    ])


# --- oversized --------------------------------------------------------------------------------

def decompression_bomb() -> bytes:
    """A 64 MiB content stream of zeros, about 64 KiB compressed."""
    return build([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents [4 0 R 6 0 R] >>",
        stream(TEXT),
        FONT,
        stream(zlib.compress(b"\x00" * (64 * 1024 * 1024), 1), b"/Filter /FlateDecode"),
    ])


def nested_flate_bomb() -> bytes:
    """Zeros compressed twice (/Filter [/FlateDecode /FlateDecode]): 128 MiB from ~1 KiB."""
    once = zlib.compress(b"0" * (128 * 1024 * 1024), 9)
    twice = zlib.compress(once, 9)
    return one_page(more=[stream(twice, b"/Filter [/FlateDecode /FlateDecode]")],
                    page_extra=b"/Annots [] ").replace(b"/Contents 4 0 R", b"/Contents 6 0 R")


def declared_100k_pages() -> bytes:
    """/Count says 100,000 pages; the tree holds one."""
    return one_page().replace(b"/Count 1 ", b"/Count 100000 ")


def absurd_page_count() -> bytes:
    return one_page().replace(b"/Count 1 ", b"/Count 99999999999999999999 ")


def many_real_pages() -> bytes:
    """5,000 real pages sharing one content stream (more than a paper, under any limit)."""
    count = 5000
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(count))
    pages = [b"<< /Type /Page /Parent 2 0 R >>"] * count
    return build([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d /MediaBox [0 0 300 300] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>" % count,
        b"null",
        stream(b"BT /F1 9 Tf 20 40 Td (Same page again) Tj ET"),
        FONT,
        *pages,
    ])


def giant_page() -> bytes:
    """The largest page PDF 1.7 allows (200 in x 200 in)."""
    return one_page(media_box=b"[0 0 14400 14400]")


def gigantic_page() -> bytes:
    return one_page(media_box=b"[0 0 1000000000 1000000000]")


def degenerate_media_boxes() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 6 0 R 7 0 R] /Count 3 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 0 0] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        stream(TEXT),
        FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [612 792 0 -1e38] /Contents 4 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [(a) /b 3] /Rotate 45 /UserUnit 1e30 >>",
    ]
    return build(objects)


def huge_image() -> bytes:
    """An image declared 60000 x 60000 RGB (10 GiB of pixels) with a tiny stream."""
    image = stream(zlib.compress(b"\x00" * 4096), b"/Type /XObject /Subtype /Image /Width 60000 "
                   b"/Height 60000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode")
    content = TEXT + b" q 500 0 0 500 50 50 cm /Im1 Do Q"
    return one_page(content, resources=b"/Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >>",
                    more=[image])


def image_bomb() -> bytes:
    """A 5000 x 5000 RGB image whose 75 MB of pixels compress to ~75 KiB."""
    pixels = zlib.compress(b"\x00" * (5000 * 5000 * 3))
    image = stream(pixels, b"/Type /XObject /Subtype /Image /Width 5000 /Height 5000 "
                   b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode")
    content = TEXT + b" q 400 0 0 400 100 100 cm /Im1 Do Q"
    return one_page(content, resources=b"/Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >>",
                    more=[image])


def deeply_nested_graphics_states() -> bytes:
    """`q` 10,000 times: MuPDF's nesting limit is far lower."""
    return one_page(b"q " * 10_000 + TEXT + b" Q" * 10_000)


def deeply_nested_arrays() -> bytes:
    """An object nested 100,000 arrays deep."""
    return one_page(page_extra=b"/Junk 6 0 R ", more=[b"[" * 100_000 + b"]" * 100_000])


def deeply_nested_dictionaries() -> bytes:
    return one_page(page_extra=b"/Junk 6 0 R ",
                    more=[b"<< /A " * 50_000 + b"null" + b" >>" * 50_000])


def lying_stream_length() -> bytes:
    return one_page().replace(b"/Length %d >>" % len(TEXT), b"/Length 999999999 >>")


def text_flood() -> bytes:
    """4,000 tiny text runs on one page."""
    ops = b"".join(b"1 0 0 1 %d %d Tm (w%d) Tj " % (20 + (i % 60) * 9, 20 + (i // 60) * 2, i)
                   for i in range(4_000))
    return one_page(b"BT /F1 3 Tf " + ops + b"ET")


def many_filters() -> bytes:
    """A stream run through 1,000 decoding filters."""
    data = TEXT
    for _ in range(1000):
        data = zlib.compress(data)
    filters = b"[" + b" /FlateDecode" * 1000 + b"]"
    return one_page(more=[stream(data, b"/Filter " + filters)]).replace(
        b"/Contents 4 0 R", b"/Contents 6 0 R")


def many_contents() -> bytes:
    """/Contents lists the same stream 3,000 times."""
    refs = b"[" + b"4 0 R " * 3_000 + b"]"
    return one_page().replace(b"/Contents 4 0 R", b"/Contents " + refs)


# --- active content and fonts -----------------------------------------------------------------

def javascript_open_action() -> bytes:
    return one_page(catalog_extra=b"/OpenAction 6 0 R /Names << /JavaScript 7 0 R >> ", more=[
        b"<< /Type /Action /S /JavaScript /JS (app.alert('pwned'); this.exportDataObject();) >>",
        b"<< /Names [(x) 6 0 R] >>",
    ])


def launch_action() -> bytes:
    return one_page(
        catalog_extra=b"/OpenAction << /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) "
                      b"/P (/c calc.exe) >> >> ",
        page_extra=b"/AA << /O << /S /Launch /F (/bin/sh) >> >> /Annots [6 0 R] ",
        more=[b"<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] "
              b"/A << /S /URI /URI (file:///etc/passwd) >> >>"],
    )


def broken_font_program() -> bytes:
    """A TrueType font whose embedded program is garbage."""
    garbage = bytes((i * 31) % 256 for i in range(4_000))
    font = (b"<< /Type /Font /Subtype /TrueType /BaseFont /Broken /FirstChar 32 /LastChar 126 "
            b"/Widths 7 0 R /FontDescriptor 6 0 R >>")
    descriptor = (b"<< /Type /FontDescriptor /FontName /Broken /Flags 32 /FontBBox [0 0 1000 1000] "
                  b"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 "
                  b"/FontFile2 8 0 R >>")
    data = one_page(more=[descriptor, b"[" + b"500 " * 95 + b"]", deflated(garbage)])
    return data.replace(FONT, font)


def recursive_type3_font() -> bytes:
    """A Type 3 font whose glyph procedure shows the same glyph again."""
    font = (b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 "
            b"0.001 0 0] /CharProcs << /a 6 0 R >> /Encoding << /Differences [97 /a] >> "
            b"/FirstChar 97 /LastChar 97 /Widths [1000] /Resources << /Font << /F1 5 0 R >> >> >>")
    glyph = stream(b"1000 0 d0 BT /F1 12 Tf (a) Tj ET")
    data = one_page(b"BT /F1 12 Tf 72 720 Td (aaaa) Tj ET", more=[glyph])
    return data.replace(FONT, font)


def _pymupdf_document(text: str = "An encrypted paper") -> pymupdf.Document:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text, fontsize=12)
    return doc


def encrypted_user_password() -> bytes:
    with _pymupdf_document() as doc:
        return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")


def encrypted_owner_password_only() -> bytes:
    """Opens without a password (the user password is empty): readable, with restrictions."""
    with _pymupdf_document("Owner password only, readable by anyone") as doc:
        return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_128, owner_pw="owner",
                           user_pw="", permissions=0)


def encrypted_rc4_broken_dictionary() -> bytes:
    return one_page(trailer=b"/Encrypt << /Filter /Standard /V 99 /R 99 /O (x) /U (y) /P -1 >> "
                             b"/ID [(a) (b)] ")


# --- truncated real papers --------------------------------------------------------------------

_PAPER: list[bytes] = []


def _paper() -> bytes:
    if not _PAPER:
        _PAPER.append(make_paper(nonce="hostile", pages=4))
    return _PAPER[0]


def _truncated(fraction: float) -> Callable[[], bytes]:
    def truncated() -> bytes:
        data = _paper()
        return data[: int(len(data) * fraction)]

    truncated.__name__ = f"truncated_at_{int(fraction * 100)}_percent"
    return truncated


def _truncated_with_eof(fraction: float) -> Callable[[], bytes]:
    def truncated() -> bytes:
        data = _paper()
        return data[: int(len(data) * fraction)] + b"\nstartxref\n0\n%%EOF\n"

    truncated.__name__ = f"truncated_at_{int(fraction * 100)}_percent_with_eof_marker"
    return truncated


def truncated_before_eof() -> bytes:
    data = _paper()
    return data[: data.rindex(b"%%EOF")]


CASES: dict[str, Callable[[], bytes]] = {
    case.__name__: case
    for case in (
        empty, html_page, png_renamed, header_only, nul_bytes_after_header, random_garbage,
        broken_xref, xref_past_end, no_xref_table, xref_prev_loop, huge_object_numbers,
        cyclic_page_tree, cyclic_page_tree_two_levels, cyclic_parent_chain,
        cyclic_object_references, self_referencing_length, recursive_form_xobject,
        cyclic_outline, decompression_bomb, nested_flate_bomb, declared_100k_pages,
        absurd_page_count, many_real_pages, giant_page, gigantic_page, degenerate_media_boxes,
        huge_image, image_bomb, deeply_nested_graphics_states, deeply_nested_arrays,
        deeply_nested_dictionaries, lying_stream_length, text_flood, many_filters,
        many_contents, javascript_open_action, launch_action, broken_font_program,
        recursive_type3_font, encrypted_user_password, encrypted_owner_password_only,
        encrypted_rc4_broken_dictionary,
        _truncated(0.1), _truncated(0.5), _truncated(0.9),
        _truncated_with_eof(0.1), _truncated_with_eof(0.5), _truncated_with_eof(0.9),
        truncated_before_eof,
    )
}
