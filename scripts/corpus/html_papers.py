"""Generate papers typeset by a web browser (HTML + CSS printed by Chromium), with ground truth.

The LaTeX corpus (generate.py) covers TeX's typesetting only. Journals that typeset from XML
through HTML/CSS or word processors set the same parts differently: markers are plain raised
text with no TeX font, the article's metadata sits in a sidebar beside the header, labels run
in ("Abstract:"), affiliations are printed at the end of the paper ("Author details"), the
abstract is called "Summary", names are separated by middle dots, affiliations are symbol-marked
notes at the foot of a two-column first page or follow each name in parentheses, a "Highlights"
list precedes the abstract, a preprint's lines are numbered in the margin, the authors stand in
a table, a masthead and the article type head the page... Each style below follows one
such convention of web-typeset journals; none copies a publisher's page. The papers' contents
come from generate.make_paper (random names, places and sentences), so the ground truth is
exact.

Usage: python scripts/corpus/html_papers.py --out out/html --per-style 3 --seed 1
"""

from __future__ import annotations

import argparse
import html
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate
from generate import MONTHS, Paper, _dates, _email, _numbered

FONTS = ["DejaVu Serif", "DejaVu Sans", "Bitstream Charter", "Liberation Serif", "Liberation Sans",
         "TeX Gyre Heros", "TeX Gyre Termes"]
EQUAL = "†"


def e(text: str) -> str:
    return html.escape(text, quote=False)


def _page(paper: Paper, rng: random.Random, css: str, body: str) -> str:
    font = rng.choice(FONTS)
    size = rng.choice([9.5, 10, 10.5, 11])
    # The PDF's Title metadata: the paper's own title, or what a word processor leaves.
    title = rng.choice([paper.title, "manuscript.docx", "Untitled document"])
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{e(title)}</title><style>
@page {{ size: A4; margin: 18mm 17mm 20mm 17mm; }}
body {{ font-family: "{font}", serif; font-size: {size}pt; line-height: 1.32; margin: 0; }}
p {{ margin: 0 0 0.5em 0; text-align: justify; }}
h1 {{ font-size: 1.75em; line-height: 1.2; margin: 0.3em 0 0.5em 0; }}
h2 {{ font-size: 1.1em; margin: 1em 0 0.4em 0; break-after: avoid; }}
sup {{ font-size: 0.68em; line-height: 0; }}
.refs li {{ margin-bottom: 0.25em; text-align: left; }}
{css}
</style></head><body>
{body}
</body></html>
"""


def _markers(paper: Paper, label: dict[int, int], letters: bool = False) -> list[str]:
    out = []
    for member in paper.membership:
        marks = [chr(96 + label[i]) if letters else str(label[i]) for i in member]
        out.append(",".join(marks))
    return out


def _names(paper: Paper, marks: list[str], corresponding: int = 0, equal: bool = False,
           separator: str = ", ", final: str = " and ") -> str:
    items = []
    for k, (person, mark) in enumerate(zip(paper.authors, marks, strict=True)):
        extra = mark
        if equal and k < 2 and len(paper.authors) > 2:
            extra += "," + EQUAL if extra else EQUAL
        if k == corresponding:
            extra += ",*" if extra else "*"
        items.append(f"{e(person.name)}<sup>{e(extra)}</sup>" if extra else e(person.name))
    if len(items) == 1:
        return items[0]
    if final:
        return separator.join(items[:-1]) + final + items[-1]
    return separator.join(items)


def _affiliation_list(paper: Paper, label: dict[int, int], letters: bool = False,
                      cls: str = "affs") -> str:
    rows = []
    for index, number in label.items():
        mark = chr(96 + number) if letters else str(number)
        rows.append(f"<div><sup>{mark}</sup>{e(paper.affiliations[index].line)}</div>")
    return f'<div class="{cls}">' + "\n".join(rows) + "</div>"


def _body(paper: Paper, columns: int = 1) -> str:
    parts = []
    for number, (name, paragraphs) in enumerate(paper.sections, 1):
        if name:
            parts.append(f"<h2>{number}. {e(name)}</h2>")
        parts += [f"<p>{e(text)}</p>" for text in paragraphs]
    style = f' style="column-count:{columns};column-gap:7mm"' if columns > 1 else ""
    return f"<div class=\"body\"{style}>" + "\n".join(parts) + "</div>"


def _reference_text(ref: dict) -> str:
    names = ", ".join(person.short for person in ref["authors"])
    return (f"{names}. {ref['title']}. {ref['journal']} {ref['year']}; {ref['volume']}: "
            f"{ref['pages'].replace('--', '–')}.")


def _references(paper: Paper, heading: str = "References", numbered: str = "list") -> str:
    if numbered == "list":
        items = "\n".join(f"<li>{e(_reference_text(ref))}</li>" for ref in paper.references)
        listing = f'<ol class="refs">{items}</ol>'
    elif numbered == "brackets":
        items = "\n".join(f'<p class="ref">[{k}] {e(_reference_text(ref))}</p>'
                          for k, ref in enumerate(paper.references, 1))
        listing = f'<div class="refs">{items}</div>'
    else:  # author-year, hanging indent
        refs = sorted(paper.references, key=lambda ref: ref["authors"][0].family)
        items = "\n".join(f'<p class="ref" style="padding-left:1.5em;text-indent:-1.5em">'
                          f"{e(_reference_text(ref))}</p>" for ref in refs)
        listing = f'<div class="refs">{items}</div>'
    return f"<h2>{heading}</h2>\n{listing}"


def _abstract_paragraphs(paper: Paper, run_in: str = "") -> str:
    """The abstract as paragraphs: a structured one a label per paragraph, bold, run in."""
    if paper.abstract[0][0]:
        return "\n".join(f"<p><b>{e(label)}:</b> {e(text)}</p>" for label, text in paper.abstract)
    lead = f"<b>{e(run_in)}</b> " if run_in else ""
    return f"<p>{lead}{e(paper.abstract[0][1])}</p>"


def _correspondence(paper: Paper, rng: random.Random, corresponding: int = 0) -> str:
    return f"* Correspondence: {_email(paper.authors[corresponding], rng)}"


def sidebar(paper: Paper, rng: random.Random) -> str:
    """Metadata sidebar left of a header column; run-in "Abstract:" and "Keywords:" labels."""
    paper.layout = "html sidebar, numbered affiliations, run-in abstract and keyword labels"
    year = rng.randint(2015, 2025)
    paper.year = year
    received, accepted, published = _dates(rng, year, 3)
    label = _numbered(paper)
    editor = generate._person(rng)
    first = paper.authors[0]
    keywords = ""
    if paper.keywords:
        keywords = f"<p><b>Keywords:</b> {e('; '.join(paper.keywords))}</p>"
    side = f"""<div class="side">
<p><b>Citation:</b> {e(first.family)}, {e(first.short.split(' ')[0])}; et al. {e(paper.title)}.
<i>Journal of Applied Studies</i> <b>{year}</b>, {rng.randint(1, 20)}, {rng.randint(100, 999)}.</p>
<p>Academic Editor: {e(editor.name)}</p>
<p>Received: {received}<br>Accepted: {accepted}<br>Published: {published}</p>
<p><b>Copyright:</b> © {year} by the authors. Submitted for possible open access publication
under the terms of the Creative Commons Attribution license.</p></div>"""
    main = f"""<div class="main"><div class="kind">Article</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label), equal=rng.random() < 0.4)}</p>
{_affiliation_list(paper, label)}
<div class="affs">{_correspondence(paper, rng)}</div>
{_abstract_paragraphs(paper, "Abstract:")}
{keywords}</div>"""
    css = """.head { display: flex; gap: 6mm; } .side { width: 42mm; font-size: 0.72em;
color: #333; order: 0; padding-top: 25mm; } .main { flex: 1; } .kind { font-size: 0.8em; }
.names { font-weight: bold; font-size: 1.05em; } .affs { font-size: 0.8em; margin-bottom: 0.5em; }
.affs div { margin-bottom: 0.1em; } .body { margin-left: 48mm; }"""
    return _page(paper, rng, css, f"""<div class="head">{side}{main}</div>
{_body(paper)}
<div style="margin-left:48mm">{_references(paper, numbered='list')}</div>""")


def banner(paper: Paper, rng: random.Random) -> str:
    """A banner, names with equal-contribution symbols, then beside a metadata column an
    "Abstract" heading; an "Author summary" follows (not part of the abstract)."""
    paper.layout = "html banner, left column of article metadata beside the abstract"
    year = rng.randint(2010, 2025)
    paper.year = year
    label = _numbered(paper)
    paper.keywords = None
    received, published = _dates(rng, year, 2)
    side = f"""<div class="side"><p><b>OPEN ACCESS</b></p>
<p><b>Citation:</b> {e(paper.authors[0].family)} {'et al. ' if len(paper.authors) > 1 else ''}
({year}) {e(paper.title)}. Open J Sci {rng.randint(1, 19)}(4): e{rng.randint(1000000, 9999999)}.
</p><p><b>Received:</b> {received}</p><p><b>Published:</b> {published}</p>
<p><b>Copyright:</b> © {year} {e(paper.authors[0].family)} et al. This is an open access
article distributed under the terms of the Creative Commons Attribution License.</p></div>"""
    summary = " ".join(generate._sentence(rng) for _ in range(3))
    body = f"""<div class="banner">RESEARCH ARTICLE</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label), equal=rng.random() < 0.5)}</p>
{_affiliation_list(paper, label)}
<div class="affs">{EQUAL} These authors contributed equally to this work.<br>
* {_email(paper.authors[0], rng)}</div>
<div class="cols">{side}<div class="main"><h2>Abstract</h2>
{_abstract_paragraphs(paper)}
<h2>Author summary</h2><p>{e(summary)}</p></div></div>
{_body(paper)}
{_references(paper, numbered='list')}"""
    css = """.banner { font-size: 0.8em; letter-spacing: 0.1em; font-weight: bold;
border-bottom: 2px solid #555; } h1 { font-family: "DejaVu Sans"; }
.names { font-size: 1.05em; } .affs { font-size: 0.8em; margin: 0.6em 0; }
.cols { display: flex; gap: 6mm; margin-top: 6mm; } .side { width: 45mm; font-size: 0.72em; }
.main { flex: 1; }"""
    return _page(paper, rng, css, body)


def end_details(paper: Paper, rng: random.Random) -> str:
    """Affiliations printed at the end ("Author details"); the first page only says where."""
    paper.layout = "html, affiliations in Author details at the end, structured abstract"
    year = rng.randint(2008, 2025)
    paper.year = year
    label = _numbered(paper)
    keywords = ""
    if paper.keywords:
        keywords = f"<p><b>Keywords:</b> {e(', '.join(paper.keywords))}</p>"
    details = " ".join(f"<sup>{number}</sup>{e(paper.affiliations[index].line)}."
                       for index, number in label.items())
    received, accepted = _dates(rng, year, 2)
    cited = f"{e(paper.authors[0].family)}{' et al.' if len(paper.authors) > 1 else ''}"
    body = f"""<div class="journal">{cited} Lewis and Clark Methods Journal ({year})
{rng.randint(1, 30)}:{rng.randint(1, 400)}</div>
<div class="kind">RESEARCH <span style="float:right">Open Access</span></div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label))}</p>
<div class="box"><h2>Abstract</h2>{_abstract_paragraphs(paper)}{keywords}</div>
<div class="foot">*Correspondence: {_email(paper.authors[0], rng)}<br>
<sup>1</sup>{e(paper.affiliations[next(iter(label))].line)}<br>
Full list of author information is available at the end of the article</div>
{_body(paper, columns=2)}
<h2>Author details</h2><p class="details">{details}</p>
<p class="details">Received: {received} Accepted: {accepted}</p>
{_references(paper, numbered='brackets')}"""
    css = """.journal { font-style: italic; } .kind { font-weight: bold; font-size: 0.85em;
border-bottom: 1px solid #999; margin-bottom: 3mm; } .names { font-weight: bold; }
.box { background: #eef; padding: 3mm; margin-bottom: 4mm; }
.foot { font-size: 0.75em; border-top: 1px solid #999; margin-bottom: 4mm; }
.details { font-size: 0.8em; } .refs p { font-size: 0.85em; margin: 0 0 0.2em 0; }"""
    return _page(paper, rng, css, body)


def summary(paper: Paper, rng: random.Random) -> str:
    """Lettered affiliations, a correspondence line, the abstract under "SUMMARY" in a box
    beside a graphical-abstract placeholder, and a keyword block headed "KEYWORDS"."""
    paper.layout = "html, lettered affiliations, SUMMARY heading, KEYWORDS block"
    label = _numbered(paper)
    paper.abstract = [("", paper.abstract_text)]
    paper.extra["doi"] = f"10.9999/j.example.{rng.randint(2000, 2024)}.{rng.randint(1, 9999):04d}"
    keywords = ""
    if paper.keywords:
        keywords = "<h3>KEYWORDS</h3><p>" + "; ".join(e(k) for k in paper.keywords) + "</p>"
    body = f"""<div class="kind">Article</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label, letters=True), corresponding=0)}</p>
{_affiliation_list(paper, label, letters=True)}
<div class="affs">*Correspondence: {_email(paper.authors[0], rng)}<br>
https://doi.org/{paper.extra["doi"]}</div>
<div class="cols"><div class="ga">GRAPHICAL ABSTRACT</div><div class="main">
<h3>SUMMARY</h3>{_abstract_paragraphs(paper)}{keywords}</div></div>
{_body(paper, columns=2)}
{_references(paper, heading='REFERENCES', numbered='authoryear')}"""
    css = """.kind { color: #a33; font-weight: bold; } h1 { font-family: "DejaVu Sans"; }
.names { font-family: "DejaVu Sans"; font-size: 0.95em; } .affs { font-size: 0.78em; }
.cols { display: flex; gap: 6mm; margin: 5mm 0; } .ga { width: 70mm; height: 60mm;
border: 1px solid #999; font-size: 0.7em; } .main { flex: 1; } h3 { font-size: 0.9em;
letter-spacing: 0.05em; margin: 0 0 0.3em 0; }"""
    return _page(paper, rng, css, body)


def manuscript(paper: Paper, rng: random.Random) -> str:
    """A word-processor manuscript: centred title and names with letter markers, centred
    italic addresses, "Abstract" heading, double line spacing, "Key words:" in italics."""
    paper.layout = "html manuscript, centred, double-spaced, lettered italic addresses"
    label = _numbered(paper)
    keywords = ""
    if paper.keywords:
        keywords = f"<p><i>Key words:</i> {e(', '.join(paper.keywords))}</p>"
    addresses = "\n".join(f"<div><sup>{chr(96 + number)}</sup>{e(paper.affiliations[i].line)}"
                          "</div>" for i, number in label.items())
    year = rng.randint(2012, 2025)
    paper.year = year if rng.random() < 0.5 else None
    date = f"<p class=c>Submitted {_dates(rng, year)[0]}</p>" if paper.year else ""
    body = f"""<h1 class=c>{e(paper.title)}</h1>
<p class=c>{_names(paper, _markers(paper, label, letters=True), corresponding=-1)}</p>
<div class="c addr">{addresses}</div>{date}
<h2>Abstract</h2>{_abstract_paragraphs(paper)}{keywords}
<p>*Corresponding author. E-mail address: {_email(paper.authors[-1], rng)}</p>
{_body(paper)}
{_references(paper, numbered='brackets')}"""
    css = """body { line-height: 2; } .c { text-align: center; } h1 { font-size: 1.35em; }
.addr { font-style: italic; }"""
    return _page(paper, rng, css, body)


def middots(paper: Paper, rng: random.Random) -> str:
    """Names separated by middle dots with numbered markers, affiliations as first-page notes
    under a rule, the abstract as a bold unheaded paragraph, two-column body."""
    paper.layout = "html, names parted by middle dots, affiliations as first-page notes"
    label = _numbered(paper)
    year = rng.randint(2005, 2025)
    paper.year = year
    keywords = ""
    if paper.keywords:
        keywords = f"<p><b>Keywords</b> {e(' · '.join(paper.keywords))}</p>"
    notes = "\n".join(f"<div><sup>{number}</sup> {e(paper.affiliations[i].line)}</div>"
                      for i, number in label.items())
    month = MONTHS[rng.randrange(12)]
    # The first page: header, abstract, the text's first paragraph(s) and, at its foot, the
    # addresses as notes; the rest of the text starts on page 2.
    name, paragraphs = paper.sections[0]
    lead = 1 if len(paper.authors) > 6 or paper.extra["structured"] else 2
    opening = f"<h2>1. {e(name)}</h2>" + "".join(f"<p>{e(p)}</p>" for p in paragraphs[:lead])
    paper.sections[0] = ("", paragraphs[lead:])  # goes on after the page break, no heading
    body = f"""<div class="first"><div class="run">Received: {rng.randint(1, 28)} {month} {year}
/ Published online: {rng.randint(1, 28)} {month} {year}<br>© The Author(s) {year}</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label), separator=' · ', final='')}</p>
<div class="abs">{_abstract_paragraphs(paper)}</div>{keywords}
<div class="opening">{opening}</div>
<div class="notes">{notes}<div>{_email(paper.authors[0], rng)}</div></div></div>
{_body(paper, columns=2)}
{_references(paper, numbered='list')}"""
    css = """.first { position: relative; height: 252mm; } .run { font-size: 0.75em; }
.names { font-size: 1.1em; } .abs p { font-weight: bold; } .opening { column-count: 2;
column-gap: 7mm; } .notes { font-size: 0.75em; border-top: 1px solid #000; width: 75mm;
position: absolute; bottom: 0; left: 0; } .body { break-before: page; }"""
    return _page(paper, rng, css, body)


def margin(paper: Paper, rng: random.Random) -> str:
    """A one-column page whose left margin column holds the addresses, the correspondence and
    the dates, beside the title, the names and the abstract."""
    paper.layout = "html, addresses in the left margin column of a one-column page"
    label = _numbered(paper)
    year = rng.randint(2000, 2025)
    paper.year = year
    received, accepted = _dates(rng, year, 2)
    keywords = ""
    if paper.keywords:
        keywords = f"<p><b>Keywords</b> {e(', '.join(paper.keywords))}</p>"
    side = f"""<div class="side">{_affiliation_list(paper, label, cls="affs")}
<p>Correspondence: {e(paper.authors[0].name)}, {_email(paper.authors[0], rng)}</p>
<p>Received {received}; accepted {accepted}</p></div>"""
    main = f"""<div class="main"><div class="run">Journal of Field Methods {year}</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label))}</p>
<h2>Abstract</h2>{_abstract_paragraphs(paper)}{keywords}</div>"""
    css = """.head { display: flex; gap: 7mm; } .side { width: 40mm; font-size: 0.72em;
padding-top: 30mm; } .affs div { margin-bottom: 0.6em; } .main { flex: 1; }
.run { font-size: 0.8em; font-style: italic; } .body, .rest { margin-left: 47mm; }"""
    return _page(paper, rng, css, f"""<div class="head">{side}{main}</div>
{_body(paper)}<div class="rest">{_references(paper, numbered='authoryear')}</div>""")


def significance(paper: Paper, rng: random.Random) -> str:
    """Lettered addresses run together in one small paragraph, an "Edited by" line naming
    someone else, the abstract as an unheaded paragraph, keywords parted by vertical bars and
    a "Significance" box at the head of the first column."""
    paper.layout = "html, run-together lettered addresses, Edited by line, Significance box"
    label = _numbered(paper)
    year = rng.randint(2005, 2025)
    paper.year = year
    received, accepted = _dates(rng, year, 2)
    editor = generate._person(rng)
    addresses = "; ".join(f"<sup>{chr(96 + number)}</sup>{e(paper.affiliations[i].line)}"
                          for i, number in label.items())
    keywords = ""
    if paper.keywords:
        keywords = f"<p class=kw>{e(' | '.join(paper.keywords))}</p>"
    box = " ".join(generate._sentence(rng) for _ in range(4))
    body = f"""<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label, letters=True), corresponding=0)}</p>
<p class="small">{addresses}</p>
<p class="small">Edited by {e(editor.name)}, {e(generate._affiliation(rng).org)}; received
{received}; accepted {accepted}</p>
<div class="abs">{_abstract_paragraphs(paper)}</div>{keywords}
<div style="column-count:2;column-gap:7mm"><div class="box"><b>Significance</b>
<p>{e(box)}</p></div>{_body(paper)}</div>
{_references(paper, numbered='list')}"""
    css = """h1 { font-family: "DejaVu Sans"; } .names { font-family: "DejaVu Sans";
font-weight: bold; font-size: 0.95em; } .small { font-size: 0.72em; } .abs p {
font-weight: bold; } .kw { font-size: 0.8em; } .box { background: #eef; padding: 2mm;
margin-bottom: 3mm; }"""
    return _page(paper, rng, css, body)


DEGREES = ["MD", "PhD", "MD, PhD", "MSc", "MPH", "BSc", "RN", "MD, MPH", "DPhil", "PharmD"]


def degrees(paper: Paper, rng: random.Random) -> str:
    """A clinical journal's byline: names with degrees, parted by semicolons, numbered
    addresses one per line, a "Corresponding Author" block and a structured abstract whose
    labels stand in capitals on lines of their own."""
    paper.layout = "html, names with degrees and semicolons, capital abstract labels"
    paper.keywords = None  # none printed
    label = _numbered(paper)
    names = []
    for person, mark in zip(paper.authors, _markers(paper, label), strict=True):
        names.append(f"{e(person.name)}, {rng.choice(DEGREES)}<sup>{mark}</sup>")
    byline = names[0] if len(names) == 1 else "; ".join(names[:-1]) + "; and " + names[-1]
    parts = []
    for name, text in paper.abstract:
        if name:
            parts.append(f"<div class=lab>{e(name.upper())}</div><p>{e(text)}</p>")
        else:
            parts.append(f"<p>{e(text)}</p>")
    paper.abstract = [(name.upper(), text) for name, text in paper.abstract]
    first = paper.authors[0]
    body = f"""<div class="run">Original Investigation</div>
<h1>{e(paper.title)}</h1>
<p class="names">{byline}</p>
<div class="box"><h2>Abstract</h2>{''.join(parts)}</div>
{_affiliation_list(paper, label)}
<div class="affs"><b>Corresponding Author:</b> {e(first.name)}, {e(paper.affiliations[0].org)}
({_email(first, rng)}).</div>
{_body(paper, columns=2)}
{_references(paper, numbered='list')}"""
    css = """.run { color: #a00; font-weight: bold; font-size: 0.85em; } .names {
font-size: 1em; } .box { border-top: 2px solid #a00; margin: 3mm 0; } .lab {
font-weight: bold; font-size: 0.8em; letter-spacing: 0.05em; } .affs { font-size: 0.75em; }"""
    return _page(paper, rng, css, body)


def cover(paper: Paper, rng: random.Random) -> str:
    """A repository's cover sheet (its own title, names and citation) before the article,
    which follows as a centred manuscript."""
    names = ", ".join(person.short for person in paper.authors)
    article = manuscript(paper, rng)
    paper.layout = "html, repository cover sheet, then a centred manuscript"
    year = paper.year or rng.randint(2010, 2025)
    paper.year = year  # the cover's citation prints it
    sheet = f"""<div class="cover"><p class="repo">Open Research Repository</p>
<p class="ct">{e(paper.title)}</p><p>{e(names)}</p>
<p>This version is available at https://repository.example.org/{rng.randint(1000, 99999)}</p>
<p>Citation: {e(names)} ({year}). {e(paper.title)}. Journal of Field Methods.</p>
<p>Copyright and reuse: the content is made available under a Creative Commons licence.</p>
</div>"""
    css = """.cover { break-after: page; font-family: "DejaVu Sans"; font-size: 9pt; }
.repo { font-size: 14pt; font-weight: bold; } .ct { font-size: 12pt; font-weight: bold; }"""
    return article.replace("<body>\n", f"<body>\n{sheet}\n", 1).replace(
        "</style>", css + "\n</style>", 1)


def history(paper: Paper, rng: random.Random) -> str:
    """Lettered addresses under the names; then the abstract under "ABSTRACT" beside a narrow
    column with the article history and the keywords one per line under "KEYWORDS"."""
    paper.layout = "html, ABSTRACT beside a narrow column of history and keywords"
    label = _numbered(paper)
    year = rng.randint(2010, 2025)
    paper.year = year
    received, revised, accepted = _dates(rng, year, 3)
    keywords = ""
    if paper.keywords:
        keywords = "<h3>KEYWORDS</h3>" + "".join(f"<div>{e(k)}</div>" for k in paper.keywords)
    body = f"""<div class="run">JOURNAL OF APPLIED FIELD STUDIES {year}, VOL. {rng.randint(1, 60)},
NO. {rng.randint(1, 12)}, {rng.randint(1, 900)}–{rng.randint(901, 999)}</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label, letters=True))}</p>
{_affiliation_list(paper, label, letters=True)}
<div class="cols"><div class="main"><h3>ABSTRACT</h3>{_abstract_paragraphs(paper)}</div>
<div class="side"><h3>ARTICLE HISTORY</h3>Received {received}<br>Revised {revised}<br>
Accepted {accepted}{keywords}</div></div>
{_body(paper)}
{_references(paper, heading='References', numbered='authoryear')}"""
    css = """.run { font-size: 0.7em; } .names { font-weight: bold; }
.affs { font-size: 0.8em; font-style: italic; } .cols { display: flex; gap: 6mm;
border-top: 1px solid #000; border-bottom: 1px solid #000; margin: 4mm 0; padding: 2mm 0; }
.main { flex: 1; } .side { width: 45mm; font-size: 0.75em; } h3 { font-size: 0.8em;
margin: 0.3em 0; }"""
    return _page(paper, rng, css, body)


def grid(paper: Paper, rng: random.Random) -> str:
    """A conference paper: a centred title in capitals and one block per author (name,
    department, institution, country, e-mail), three to a row."""
    paper.layout = "html, grid of author blocks, title in capitals"
    paper.membership = [m[:1] for m in paper.membership]
    paper.keywords = None
    cells = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        place = "<br>".join(e(part) for part in paper.affiliations[member[0]].parts)
        cells.append(f"<div class=cell><b>{e(person.name)}</b><br>{place}<br>"
                     f"<span class=mail>{_email(person, rng)}</span></div>")
    body = f"""<h1 class=c>{e(paper.title.upper())}</h1>
<div class="grid">{''.join(cells)}</div>
<p><b><i>Abstract</i></b>—{e(paper.abstract_text)}</p>
{_body(paper, columns=2)}
{_references(paper, heading='REFERENCES', numbered='brackets')}"""
    css = """.c { text-align: center; } h1 { font-size: 1.5em; } .grid { display: grid;
grid-template-columns: 1fr 1fr 1fr; gap: 4mm; text-align: center; font-size: 0.85em;
margin: 4mm 0 6mm 0; } .mail { font-family: "DejaVu Sans Mono"; font-size: 0.85em; }"""
    return _page(paper, rng, css, body)


SYMBOLS = ["*", "†", "‡", "§", "¶", "‖"]


def _symbol(number: int) -> str:
    """*, †, ‡, §, ¶, ‖, then doubled: the note marks of word-processor journals."""
    return SYMBOLS[(number - 1) % len(SYMBOLS)] * ((number - 1) // len(SYMBOLS) + 1)


def _body_blocks(paper: Paper) -> list[str]:
    """The text as a flat list of headings and paragraphs (what _body prints, unwrapped)."""
    blocks = []
    for number, (name, paragraphs) in enumerate(paper.sections, 1):
        if name:
            blocks.append(f"<h2>{number}. {e(name)}</h2>")
        blocks += [f"<p>{e(text)}</p>" for text in paragraphs]
    return blocks


def _keyword_line(paper: Paper, label: str, separator: str, cls: str = "kw") -> str:
    if not paper.keywords:
        return ""
    return f'<p class="{cls}">{label}{e(separator.join(paper.keywords))}</p>'


# Moves the text that does not fit the first page's two columns on to the next pages: the left
# column stops above the notes at its foot, the right one at the foot of the page, neither ends
# with a heading. Runs before Chromium prints (the screen is as wide as the printed page, so
# the heights agree).
FIT_SCRIPT = """<script>
(function () {
  const first = document.getElementById('first'), lt = document.getElementById('lt'),
        rt = document.getElementById('rt'), notes = document.getElementById('notes'),
        rest = document.getElementById('rest');
  const bottom = (node) => node.getBoundingClientRect().bottom;
  const heading = (node) => node.tagName === 'H2';
  for (let guard = 0; guard < 500; guard++) {
    const l = lt.lastElementChild, r = rt.lastElementChild;
    if (l && (heading(l) || bottom(l) > notes.getBoundingClientRect().top - 6)) {
      rt.insertBefore(l, rt.firstChild);
    } else if (r && (heading(r) || bottom(r) > bottom(first) - 2)) {
      rest.insertBefore(r, rest.firstChild);
    } else {
      break;
    }
  }
})();
</script>"""


def footnotes(paper: Paper, rng: random.Random) -> str:
    """A two-column first page under a full-width header and abstract; the affiliations are
    notes at the foot of the left column, marked by symbols (*, †, ‡, §) on the names."""
    paper.layout = "html, two-column first page, affiliations as symbol notes under the left column"
    label = _numbered(paper)
    marks = [",".join(_symbol(label[i]) for i in member) for member in paper.membership]
    notes = [f"<div><sup>{_symbol(number)}</sup>{e(paper.affiliations[i].line)}</div>"
             for i, number in label.items()]
    year = rng.randint(2006, 2025)
    if rng.random() < 0.6:
        paper.year = year
        received, accepted = _dates(rng, year, 2)
        notes.insert(0, f"<div>Manuscript received {received}; accepted {accepted}.</div>")
    first = paper.authors[0]
    notes.append(f"<div>Corresponding author: {e(first.name)} ({_email(first, rng)}).</div>")
    if rng.random() < 0.5:
        abstract = (f'<div class="abs"><p class="c"><b>Abstract</b></p>'
                    f"{_abstract_paragraphs(paper)}</div>")
    else:
        abstract = f'<div class="abs">{_abstract_paragraphs(paper, "Abstract—")}</div>'
    if rng.random() < 0.5:
        keywords = _keyword_line(paper, "<b><i>Index Terms</i>—</b>", ", ")
    else:
        keywords = _keyword_line(paper, "<b>Keywords:</b> ", "; ")
    body = "\n".join(_body_blocks(paper))
    names = _names(paper, marks, corresponding=-1)
    page = f"""<div class="first" id="first">
<h1 class="c">{e(paper.title)}</h1>
<p class="names c">{names}</p>
{abstract}{keywords}
<div class="cols"><div class="left"><div id="lt">{body}</div>
<div class="notes" id="notes">{''.join(notes)}</div></div><div class="right" id="rt"></div></div>
</div>
<div class="body" id="rest"></div>
{_references(paper, numbered='brackets')}
{FIT_SCRIPT}"""
    css = """@media screen { body { width: 176mm; } } .c { text-align: center; }
.first { height: 250mm; display: flex; flex-direction: column; }
.names { font-size: 1.05em; margin-bottom: 1em; } .abs { font-size: 0.92em; padding: 0 4mm; }
.abs p:first-child { margin-bottom: 0.2em; } .kw { font-size: 0.92em; padding: 0 4mm; }
.cols { flex: 1 1 auto; min-height: 0; display: flex; gap: 7mm; margin-top: 3mm; }
.left { flex: 1; position: relative; } .right { flex: 1; }
.notes { position: absolute; bottom: 0; left: 0; right: 0; font-size: 0.75em;
border-top: 1px solid #000; padding-top: 1mm; }
.notes div { margin-bottom: 0.2em; }
.body { break-before: page; column-count: 2; column-gap: 7mm; } h2 { font-size: 1em; }"""
    return _page(paper, rng, css, page)


def inline(paper: Paper, rng: random.Random) -> str:
    """Names in small capitals or capitals, each followed by its affiliation in parentheses
    (one author a line, or run on); an indented abstract under a centred heading."""
    paper.layout = "html, names in capitals with their affiliations in parentheses"
    case = rng.choice(["small-caps", "upper", "bold-small-caps"])
    people = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        where = "; ".join(e(paper.affiliations[i].line) for i in member)
        people.append(f'<span class="nm">{e(person.name)}</span> ({where})')
    if rng.random() < 0.5:
        byline = "".join(f'<div class="who">{p}</div>' for p in people)
    else:
        run = people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]
        byline = f'<p class="who">{run}</p>'
    keywords = _keyword_line(paper, rng.choice(["<i>Keywords:</i> ", "<b>Keywords.</b> "]),
                             rng.choice([", ", "; "]))
    year = rng.randint(2004, 2025)
    footer = ""
    if rng.random() < 0.5:
        paper.year = year
        footer = f'<p class="small">© {year} The Authors. Published under a CC BY licence.</p>'
    first = paper.authors[0]
    body = f"""<h1 class="c">{e(paper.title)}</h1>
<div class="byline">{byline}</div>
<p class="small">Address for correspondence: {e(first.name)}, {_email(first, rng)}</p>
<div class="abs"><p class="c head">Abstract</p>{_abstract_paragraphs(paper)}{keywords}</div>
{footer}
{_body(paper)}
{_references(paper, numbered='authoryear')}"""
    name_css = {"small-caps": "font-variant: small-caps;",
                "upper": "text-transform: uppercase; font-size: 0.95em;",
                "bold-small-caps": "font-variant: small-caps; font-weight: bold;"}[case]
    css = f""".c {{ text-align: center; }} .nm {{ {name_css} }} .byline {{ margin: 0 0 4mm 0;
text-align: center; }} .who {{ margin-bottom: 0.3em; text-align: center; }}
.small {{ font-size: 0.78em; text-align: center; }} .abs {{ margin: 5mm 12mm; font-size: 0.9em; }}
.head {{ font-variant: small-caps; font-weight: bold; }}"""
    return _page(paper, rng, css, body)


def highlights(paper: Paper, rng: random.Random) -> str:
    """A "Highlights" box of bulleted sentences (not the abstract) before the abstract,
    lettered addresses and "Key words" parted by semicolons."""
    paper.layout = "html, Highlights list before the abstract, Key words with semicolons"
    label = _numbered(paper)
    year = rng.randint(2008, 2025)
    journal = ""
    if rng.random() < 0.7:
        paper.year = year
        start = rng.randint(1, 900)
        journal = (f'<div class="run">Journal of Environmental Field Methods {rng.randint(1, 90)}'
                   f" ({year}) {start}–{start + rng.randint(8, 30)}</div>")
    points = "".join(f"<li>{e(generate._sentence(rng))}</li>" for _ in range(rng.randint(3, 5)))
    keywords = _keyword_line(paper, "<b>Key words:</b> ", "; ")
    heading = rng.choice(["Highlights", "HIGHLIGHTS", "Research highlights"])
    body = f"""{journal}
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label, letters=True), corresponding=0)}</p>
{_affiliation_list(paper, label, letters=True)}
<div class="affs">* Corresponding author. E-mail address: {_email(paper.authors[0], rng)}</div>
<div class="hl"><b>{heading}</b><ul>{points}</ul></div>
<h2>Abstract</h2>{_abstract_paragraphs(paper)}{keywords}
{_body(paper, columns=rng.choice([1, 2]))}
{_references(paper, numbered=rng.choice(['list', 'authoryear']))}"""
    css = """.run { font-size: 0.8em; border-bottom: 1px solid #000; margin-bottom: 3mm; }
.names { font-size: 1.05em; } .affs { font-size: 0.8em; font-style: italic; margin: 0.4em 0; }
.hl { border: 1px solid #666; background: #f4f4f4; padding: 2mm 4mm; margin: 4mm 0;
font-size: 0.9em; } .hl ul { margin: 0.3em 0 0 0; padding-left: 5mm; }
.kw { margin-top: 0.6em; }"""
    return _page(paper, rng, css, body)


def _orcid(rng: random.Random) -> str:
    return (f"0000-000{rng.randint(1, 3)}-{rng.randint(0, 9999):04d}-"
            f"{rng.randint(0, 999):03d}{rng.choice('0123456789X')}")


def preprint(paper: Paper, rng: random.Random) -> str:
    """A preprint server's line-numbered manuscript: line numbers down the left margin (a
    column of their own, counted afresh on each page), a left-aligned title, numbered
    addresses, a "* Correspondence:" line and ORCID iDs, then the abstract under "Abstract"."""
    paper.layout = "html preprint, numbered lines, ORCID line, Abstract after the addresses"
    label = _numbered(paper)
    size = rng.choice([10, 10.5, 11])
    lead = round(size * rng.choice([1.6, 1.8, 2.0]), 1)  # every line on one grid
    numbers = "\\A ".join(str(k) for k in range(1, int(730 // lead) + 1))
    header = ""
    if rng.random() < 0.6:
        year = rng.randint(2016, 2025)
        paper.year = year
        posted = _dates(rng, year)[0]
        header = (f'@top-center {{ content: "Preprint posted {posted}. This preprint has not '
                  'been peer reviewed."; font: 7pt "DejaVu Sans"; color: #444; }')
    first = paper.authors[0]
    ids = [f"{e(person.name)} {_orcid(rng)}" for person in paper.authors
           if person is first or rng.random() < 0.5]
    keywords = _keyword_line(paper, "<b>Keywords:</b> ", ", ")
    body = f"""<h1>{e(paper.title)}</h1>
<p>{_names(paper, _markers(paper, label), corresponding=0)}</p>
{_affiliation_list(paper, label)}
<p class="gap">* Correspondence: {_email(first, rng)}</p>
<p>ORCID: {'; '.join(ids)}</p>
<h2 class="gap">Abstract</h2>{_abstract_paragraphs(paper)}{keywords}
{_body(paper)}
{_references(paper, numbered='list')}"""
    # The numbers sit in the page's left margin box, the header in its top one.
    css = f"""@page {{ {header}
@left-top {{ content: "{numbers}"; white-space: pre; vertical-align: top; text-align: right;
padding-right: 4mm; font: 7pt "DejaVu Sans"; line-height: {lead}pt; color: #666; }} }}
body {{ font-size: {size}pt; line-height: {lead}pt; }}
p, .affs div, li {{ margin: 0; line-height: {lead}pt; }} .body p {{ text-indent: 1.5em; }}
h1 {{ font-family: "DejaVu Sans"; font-size: 1.5em; line-height: {2 * lead}pt; margin: 0;
text-align: left; }} h2 {{ font-size: 1em; line-height: {lead}pt; margin: {lead}pt 0 0 0; }}
.gap {{ margin-top: {lead}pt; }} .refs {{ margin: 0; }}"""
    return _page(paper, rng, css, body)


def table(paper: Paper, rng: random.Random) -> str:
    """The authors in a table: one row an author (name, affiliation, e-mail), or two or three
    cells a row each with a name over its affiliations."""
    paper.layout = "html, author table"
    year = rng.randint(2005, 2025)
    venue = ""
    if rng.random() < 0.5:
        paper.year = year
        venue = (f'<div class="run">Proceedings of the {rng.randint(2, 40)}th Workshop on '
                 f"Applied Field Methods, {year}</div>")
    rows = []
    if rng.random() < 0.5:
        header = rng.random() < 0.5
        if header:
            rows.append("<tr><th>Author</th><th>Affiliation</th><th>E-mail</th></tr>")
        for person, member in zip(paper.authors, paper.membership, strict=True):
            where = "<br>".join(e(paper.affiliations[i].line) for i in member)
            rows.append(f"<tr><td><b>{e(person.name)}</b></td><td>{where}</td>"
                        f"<td>{_email(person, rng)}</td></tr>")
        grid_css = "td:first-child { width: 30%; } td:last-child { width: 25%; }"
    else:
        per_row = 3 if len(paper.authors) > 4 else 2
        cells = []
        for person, member in zip(paper.authors, paper.membership, strict=True):
            where = "<br>".join(e(paper.affiliations[i].line) for i in member)
            cells.append(f"<td><b>{e(person.name)}</b><br>{where}</td>")
        for k in range(0, len(cells), per_row):
            rows.append("<tr>" + "".join(cells[k:k + per_row]) + "</tr>")
        grid_css = f"td {{ width: {100 // per_row}%; }}"
    border = rng.choice(["1px solid #888", "none"])
    heading = rng.choice(["Abstract", "ABSTRACT", "Summary"])
    body = f"""{venue}<h1 class="c">{e(paper.title)}</h1>
<table class="authors">{''.join(rows)}</table>
<h2>{heading}</h2>{_abstract_paragraphs(paper)}
{_keyword_line(paper, '<b>Keywords:</b> ', rng.choice([', ', '; ']))}
{_body(paper, columns=rng.choice([1, 2]))}
{_references(paper, numbered='brackets')}"""
    css = f""".c {{ text-align: center; }} .run {{ font-size: 0.8em; font-style: italic;
text-align: center; }} table.authors {{ width: 100%; border-collapse: collapse;
font-size: 0.85em; margin: 3mm 0 5mm 0; }} .authors td, .authors th {{ border: {border};
padding: 1.5mm 2mm; vertical-align: top; text-align: left; }} {grid_css}"""
    return _page(paper, rng, css, body)


ARTICLE_TYPES = ["ORIGINAL RESEARCH", "Original Research", "RESEARCH ARTICLE", "Brief Report",
                 "Original Article"]


def masthead(paper: Paper, rng: random.Random) -> str:
    """A journal masthead (name, volume, issue, DOI) and a running header, the article type
    above the title, addresses numbered by plain figures on the left, a date line."""
    paper.layout = "html, journal masthead, article type above the title, plain-numbered addresses"
    label = _numbered(paper)
    year = rng.randint(2008, 2025)
    paper.year = year
    doi = f"10.{rng.randint(1000, 9999)}/jafs.{year}.{rng.randint(1, 99999):05d}"
    paper.extra["doi"] = doi
    volume, issue = rng.randint(1, 60), rng.randint(1, 12)
    received, accepted, published = _dates(rng, year, 3)
    addresses = "".join(f'<div><span class="n">{number}</span>{e(paper.affiliations[i].line)}'
                        "</div>" for i, number in label.items())
    first = paper.authors[0]
    surname = " ".join(p for p in (first.particle, first.family) if p)
    running = f"J Appl Field Stud {year};{volume}({issue}) · {surname}" + \
        (" et al." if len(paper.authors) > 1 else "")
    keywords = _keyword_line(paper, "<b>Keywords</b> ", rng.choice([", ", " · "]))
    dates = " | ".join([f"Received: {received}", f"Accepted: {accepted}",
                        f"Published: {published}"])
    body = f"""<div class="mast"><div class="jn">Journal of Applied Field Studies</div>
<div>Volume {volume} · Issue {issue} · {year} · https://doi.org/{doi}</div></div>
<div class="type">{rng.choice(ARTICLE_TYPES)}</div>
<h1>{e(paper.title)}</h1>
<p class="names">{_names(paper, _markers(paper, label), corresponding=0)}</p>
<div class="addr">{addresses}</div>
<p class="small">*Correspondence: {e(first.name)}, {_email(first, rng)}</p>
<p class="small">{dates}</p>
<div class="abs"><h2>Abstract</h2>{_abstract_paragraphs(paper)}{keywords}</div>
{_body(paper, columns=2)}
{_references(paper, numbered='list')}"""
    quoted = running.replace("\\", "\\\\").replace('"', '\\"')
    css = (f'@page {{ @top-right {{ content: "{quoted}"; font: 7pt "DejaVu Sans"; '
           'color: #555; } }\n'
           """.mast { background: #1d3f6e; color: #fff; padding: 3mm;
font-size: 0.8em; } .jn { font-size: 1.6em; font-weight: bold; }
.type { margin-top: 5mm; font-weight: bold; color: #1d3f6e; font-size: 0.9em; }
.names { font-size: 1.05em; } .addr { font-size: 0.8em; } .addr div { padding-left: 4mm;
text-indent: -4mm; margin-bottom: 0.15em; } .n { display: inline-block; width: 4mm;
text-indent: 0; } .small { font-size: 0.8em; } .abs { border-top: 2px solid #1d3f6e;
border-bottom: 1px solid #1d3f6e; margin: 4mm 0; padding: 1mm 0; }""")
    return _page(paper, rng, css, body)


STYLES: dict[str, Callable[[Paper, random.Random], str]] = {
    "sidebar": sidebar, "banner": banner, "end_details": end_details, "summary": summary,
    "manuscript": manuscript, "middots": middots, "margin": margin,
    "significance": significance, "degrees": degrees, "cover": cover, "history": history,
    "grid": grid, "footnotes": footnotes, "inline": inline, "highlights": highlights,
    "preprint": preprint, "table": table, "masthead": masthead,
}


def print_pdf(html_path: Path, pdf_path: Path, timeout: float = 120.0) -> str | None:
    """Chromium prints the page; returns an error message or None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return "chromium not found: run scripts/ensure_chromium.sh"
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}",
               html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"chromium timed out after {timeout:.0f} s"
    if proc.returncode != 0 or not pdf_path.exists():
        return f"chromium exit {proc.returncode}: {proc.stderr.decode()[-300:]}"
    return None


def generate_one(out: Path, style: str, seed: int, n: int) -> tuple[str, str | None]:
    paper_id = f"{style}_{n}"
    rng = random.Random(f"html-{seed}-{style}-{n}")
    paper = generate.make_paper(style, rng, max_authors=12)
    paper.utf8 = True
    source = STYLES[style](paper, rng)
    html_path = out / f"{paper_id}.html"
    html_path.write_text(source, encoding="utf-8")
    pdf_path = out / f"{paper_id}.pdf"
    error = print_pdf(html_path, pdf_path)
    if error:
        return paper_id, error
    record = generate.ground_truth(paper, paper_id)
    record["gt_quality"] = "generated from the HTML source"
    record["gt"]["doi"] = paper.extra.get("doi")
    record["gt"]["notes"] = f"Generated ({paper.layout}); printed by Chromium."
    generate.write_ground_truth(out / f"{paper_id}.gt.json", record, pdf_path)
    return paper_id, None


def generate_all(out: Path, styles: Sequence[str], per_style: int, seed: int,
                 workers: int = 2) -> dict[str, str | None]:
    return generate.run_jobs(out, styles, per_style,
                             lambda style, n: generate_one(out, style, seed, n), workers)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/html", help="output folder")
    parser.add_argument("--per-style", type=int, default=3, help="papers per style")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--styles", nargs="*", choices=sorted(STYLES), help="default: all")
    parser.add_argument("--workers", type=int, default=2, help="parallel Chromium runs")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = generate_all(Path(args.out), args.styles or list(STYLES), args.per_style,
                           args.seed, args.workers)
    failures = {pid: err for pid, err in results.items() if err}
    print(f"{len(results) - len(failures)} of {len(results)} papers printed into {args.out} "
          f"in {time.perf_counter() - start:.1f} s")
    for pid, err in failures.items():
        print(f"  FAILED {pid}: {err}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
