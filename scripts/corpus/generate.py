"""Generate LaTeX papers from publisher classes, compile them and write exact ground truth.

Each paper ``<out>/<template>_<n>.tex`` is compiled with pdflatex into ``<template>_<n>.pdf``;
``<template>_<n>.gt.json`` holds the ground truth in the format of the evaluation set
(../shared/eval/README.md): title, authors, affiliations, abstract, keywords, n_references, ...
exactly as the class prints them (normalised to how a reader writes them: names in their own
case, affiliation parts joined into one line).

Usage: python scripts/corpus/generate.py --out out/corpus --per-template 4 --seed 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------

GIVEN = [
    "José", "María", "François", "Jürgen", "Søren", "Björn", "Zoë", "Renée", "Ana", "Wei",
    "Hiroshi", "Priya", "Olumide", "Ngozi", "Łukasz", "Inês", "Matías", "Anaïs", "Gaël",
    "Thomas", "Sarah", "David", "Laura", "Michael", "Elena", "Kenji", "Fatima", "Lars",
    "Ingrid", "Pedro", "Chloé", "Ömer", "Zeynep", "Rafael", "Hélène", "Nicolás", "Jörg",
    "Andrea", "Paolo", "Yuki", "Amara", "Daniel", "Sofía", "Carlos", "Agnès", "Kristín",
    "Emily", "Robert", "Ahmed", "Mei", "Olga", "Tomás", "Céline", "Ramón", "Åsa", "Noémie",
]
FAMILY = [
    "Müller", "Ørsted", "Peña", "García", "Çelik", "Núñez", "Sørensen", "Dubois", "Lefèvre",
    "Kowalski", "Novák", "Smith", "Okafor", "Tanaka", "Nakamura", "Schröder", "Håkansson",
    "Gonçalves", "Johnson", "Chen", "Wang", "Patel", "Rossi", "Bianchi", "Fischer", "Weber",
    "Martínez", "Rodríguez", "López", "Brown", "Nguyen", "Kim", "Ivanova", "Østergaard",
    "Jensen", "Moreau", "Fernández", "Björklund", "Yılmaz", "Abadi", "Thompson", "Clarke",
    "Mendoza", "Brandão", "Lindqvist", "Hübner", "Dvořák", "Costa", "Żukowski", "Andrés",
]
HYPHEN_FAMILY = ["García-Márquez", "Smith-Jones", "Lévy-Leblond", "Müller-Lüdenscheidt",
                 "Pérez-Ortiz", "Ben-David", "Holm-Nielsen", "Duarte-Gonçalves"]
PARTICLE_FAMILY = [("van der", "Berg"), ("de la", "Cruz"), ("von", "Neumann"),
                   ("van", "Dijk"), ("de", "Souza"), ("van der", "Waals"), ("de la", "Fuente"),
                   ("von", "Känel"), ("da", "Silva"), ("van den", "Bosch")]
HYPHEN_GIVEN = ["Jean-Pierre", "Marie-Claire", "Hans-Jürgen", "Ji-Woo", "Anne-Sophie",
                "Jean-François", "Eun-Ji", "Karl-Heinz"]
INITIALS = ["J. R. R.", "A.", "M.", "C. S.", "P. K.", "R.", "E. J.", "H.-J.", "L. M."]

FIELDS = [
    "Physics", "Computer Science", "Mathematics", "Chemistry", "Biology", "Astronomy",
    "Electrical Engineering", "Statistics", "Earth Sciences", "Materials Science",
    "Mechanical Engineering", "Information Systems", "Applied Mathematics", "Neuroscience",
]
CITIES = [
    ("Zürich", "Switzerland", "8092"), ("München", "Germany", "80333"),
    ("Köln", "Germany", "50923"), ("Montréal", "Canada", "H3A 0G4"),
    ("São Paulo", "Brazil", "05508-090"), ("Málaga", "Spain", "29071"),
    ("Kraków", "Poland", "30-059"), ("Göteborg", "Sweden", "412 96"),
    ("Tromsø", "Norway", "9037"), ("Lyon", "France", "69007"), ("Boston", "USA", "02115"),
    ("Kyoto", "Japan", "606-8501"), ("Toronto", "Canada", "M5S 1A1"),
    ("Melbourne", "Australia", "3010"), ("Delft", "The Netherlands", "2628 CD"),
    ("Leuven", "Belgium", "3000"), ("Edinburgh", "UK", "EH8 9YL"),
    ("Bogotá", "Colombia", "111321"), ("Coimbra", "Portugal", "3004-516"),
    ("Reykjavík", "Iceland", "102"), ("Nairobi", "Kenya", "00100"),
    ("Pasadena", "USA", "91125"), ("Besançon", "France", "25030"),
]
ORGS = [
    "University of {city}", "{city} Institute of Technology", "Université de {city}",
    "Technische Universität {city}", "Universidad de {city}", "{city} University",
    "National Laboratory for {field}", "Institute for Advanced {field}",
    "Max Planck Institute for {field}", "Centre for {field} Research",
]
DEPTS = ["Department of {field}", "School of {field}", "Faculty of {field}",
         "Laboratory of {field}", "Division of {field}", "Institute of {field}"]

TITLE_ADJ = [
    "Scalable", "Robust", "Efficient", "Adaptive", "Probabilistic", "Distributed", "Sparse",
    "Hierarchical", "Nonlinear", "Stochastic", "Bayesian", "Deep", "Interpretable",
    "Multiscale", "Quantum", "Thermal", "Spectral", "Unsupervised", "Topological", "Dynamic",
    "Causal", "Low-Rank", "Self-Supervised", "Federated", "Coupled", "Magnetic", "Optical",
]
TITLE_NOUN = [
    "Inference", "Networks", "Transport", "Estimation", "Learning", "Graphs", "Dynamics",
    "Spectroscopy", "Simulation", "Models", "Representations", "Turbulence", "Clustering",
    "Optimization", "Retrieval", "Galaxies", "Superconductors", "Proteins", "Sensors",
    "Algorithms", "Embeddings", "Circuits", "Measurements", "Materials", "Flows",
    "Equations", "Observations", "Surfaces", "Lattices", "Compilers", "Queries",
]
TITLE_CONTEXT = [
    "Time Series", "Neural Networks", "Dark Matter Halos", "Power Grids", "Protein Folding",
    "Climate Models", "Social Networks", "Graphene Sheets", "Gene Expression Data",
    "Large Language Models", "Exoplanet Atmospheres", "Urban Traffic", "Sensor Arrays",
    "Heterogeneous Catalysis", "Program Analysis", "Medical Imaging", "Ocean Circulation",
    "Spin Glasses", "Cloud Storage Systems", "Recommender Systems", "Seismic Waves",
]
ACRONYMS = ["SPARKLE", "DeepFlow", "GraphMix", "QuBit", "NovaNet", "TRACE", "OrbitFit",
            "HyperLens", "MESA", "CoralDB"]
KEYWORDS = [
    "machine learning", "Bayesian inference", "graph neural networks", "spectroscopy",
    "numerical simulation", "optimization", "galaxies: evolution", "dark matter",
    "superconductivity", "information retrieval", "time series", "uncertainty quantification",
    "compressed sensing", "turbulence", "protein structure", "distributed systems",
    "reinforcement learning", "topological insulators", "climate modelling",
    "signal processing", "statistical mechanics", "program synthesis", "causal inference",
    "Monte Carlo methods", "high-performance computing", "natural language processing",
    "thin films", "exoplanets", "stellar populations", "finite element method",
]
JOURNALS = [
    "Physical Review Letters", "Journal of Machine Learning Research", "Nature Physics",
    "The Astrophysical Journal", "Monthly Notices of the Royal Astronomical Society",
    "IEEE Transactions on Signal Processing", "Journal of Computational Physics",
    "Communications of the ACM", "Bioinformatics", "Annals of Statistics",
    "Physical Review B", "Journal of Chemical Physics", "SIAM Journal on Scientific Computing",
]
SUBJ = ["The proposed method", "Our approach", "This framework", "The model", "The estimator",
        "The resulting algorithm", "The simulation", "The analysis", "Our experiment"]
VERB = ["improves", "reduces", "captures", "constrains", "outperforms", "generalises",
        "stabilises", "accelerates", "characterises", "quantifies"]
OBJ = ["the reconstruction error", "the computational cost", "long-range correlations",
       "the systematic uncertainty", "previous baselines", "the convergence rate",
       "the spectral energy distribution", "the memory footprint", "the variance of estimates",
       "the phase diagram", "the sample complexity", "the transport coefficients"]
TAIL = ["on three benchmark data sets", "across a wide range of parameters",
        "under realistic noise conditions", "by an order of magnitude",
        "without additional supervision", "in the low-temperature regime",
        "for large problem sizes", "with modest hardware requirements",
        "compared with standard techniques", "in both synthetic and real settings"]
OPENERS = ["We study", "We present", "This paper introduces", "We investigate",
           "In this work we analyse", "We propose", "Here we report"]
TOPIC = ["a family of estimators for", "a new framework for", "the statistical properties of",
         "an efficient algorithm for", "the observational signatures of",
         "a systematic comparison of methods for", "the theoretical limits of"]
SECTIONS = ["Introduction", "Related Work", "Background", "Methods", "Experimental Setup",
            "Results", "Discussion", "Limitations", "Conclusion"]

ACCENT_MACROS = {
    "é": r"{\'e}", "è": r"{\`e}", "ê": r"{\^e}", "ë": r"{\"e}", "á": r"{\'a}", "à": r"{\`a}",
    "â": r"{\^a}", "ä": r"{\"a}", "ã": r"{\~a}", "å": r"{\aa}", "í": r"{\'\i}",
    "ï": r"{\"\i}", "ó": r"{\'o}", "ò": r"{\`o}", "ô": r"{\^o}", "ö": r"{\"o}", "õ": r"{\~o}",
    "ø": r"{\o}", "ú": r"{\'u}", "ù": r"{\`u}", "û": r"{\^u}", "ü": r"{\"u}", "ñ": r"{\~n}",
    "ç": r"{\c c}", "ł": r"{\l}", "ć": r"{\'c}", "š": r"{\v s}", "ž": r"{\v z}",
    "ř": r"{\v r}", "ı": r"{\i}", "Ł": r"{\L}", "Ø": r"{\O}", "Å": r"{\AA}", "Ö": r"{\"O}",
    "Ö".lower(): r"{\"o}", "Ç": r"{\c C}", "É": r"{\'E}", "Ż": r"{\.Z}", "ż": r"{\.z}",
    "Ü": r"{\"U}", "Ä": r"{\"A}", "Ó": r"{\'O}",
}
AND = r" \and "
SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$"}


# --------------------------------------------------------------------------------------------
# The paper's content (plain Unicode) and its LaTeX spelling
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    given: str
    family: str
    particle: str = ""

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given, self.particle, self.family) if p)

    @property
    def short(self) -> str:
        initials = " ".join(part[0] + "." for part in self.given.replace("-", " ").split()
                            if part[0].isalpha())
        return " ".join(p for p in (initials, self.particle, self.family) if p)


@dataclass
class Affiliation:
    dept: str
    org: str
    city: str  # may hold a postcode
    country: str

    @property
    def parts(self) -> list[str]:
        """Printed as separate lines by some classes, joined by ", " in the gt."""
        return [p for p in (self.dept, self.org, self.city, self.country) if p]

    @property
    def line(self) -> str:
        return ", ".join(self.parts)


@dataclass
class Paper:
    template: str
    title_words: list[str]
    title_break: int | None  # explicit line break after this many words
    authors: list[Person]
    affiliations: list[Affiliation]
    membership: list[list[int]]  # per author: indices into affiliations
    abstract: list[tuple[str, str]]  # (label, text); label "" for a plain abstract
    keywords: list[str] | None
    references: list[dict[str, Any]]
    author_year: bool
    sections: list[tuple[str, list[str]]]
    utf8: bool
    year: int | None = None
    layout: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return " ".join(self.title_words)

    @property
    def abstract_text(self) -> str:
        return " ".join(f"{label}: {text}" if label else text for label, text in self.abstract)

    def used_affiliations(self) -> list[int]:
        """Affiliation indices in order of first use by the authors."""
        order: list[int] = []
        for member in self.membership:
            for i in member:
                if i not in order:
                    order.append(i)
        return order


def tex(text: str, utf8: bool) -> str:
    out = []
    for ch in text:
        if ch in SPECIALS:
            out.append(SPECIALS[ch])
        elif not utf8 and ch in ACCENT_MACROS:
            out.append(ACCENT_MACROS[ch])
        else:
            out.append(ch)
    return "".join(out)


def _person(rng: random.Random) -> Person:
    roll = rng.random()
    given = rng.choice(GIVEN)
    if roll < 0.12:
        given = rng.choice(HYPHEN_GIVEN)
    elif roll < 0.24:
        given = rng.choice(INITIALS)
    elif roll < 0.34:
        given = f"{given} {rng.choice('ABCDEFGHJKLMNPRSTW')}."
    roll = rng.random()
    if roll < 0.15:
        particle, family = rng.choice(PARTICLE_FAMILY)
        return Person(given, family, particle)
    if roll < 0.27:
        return Person(given, rng.choice(HYPHEN_FAMILY))
    return Person(given, rng.choice(FAMILY))


def _affiliation(rng: random.Random) -> Affiliation:
    city, country, postcode = rng.choice(CITIES)
    fld = rng.choice(FIELDS)
    org = rng.choice(ORGS).format(city=city, field=rng.choice(FIELDS))
    dept = rng.choice(DEPTS).format(field=fld) if rng.random() < 0.75 else ""
    where = ""
    if rng.random() < 0.5:
        where = f"{postcode} {city}" if rng.random() < 0.5 else city
    return Affiliation(dept, org, where, country)


def _title(rng: random.Random) -> list[str]:
    while True:
        words: list[str] = []
        if rng.random() < 0.25:
            words.append(rng.choice(ACRONYMS) + ":")
        words += rng.choice(TITLE_ADJ).split() + rng.choice(TITLE_NOUN).split()
        if rng.random() < 0.7:
            words += ["for", *rng.choice(TITLE_ADJ).split(), *rng.choice(TITLE_NOUN).split()]
        words += [rng.choice(["in", "of", "with", "from"]), *rng.choice(TITLE_CONTEXT).split()]
        if rng.random() < 0.35:
            words += ["and", *rng.choice([c for c in TITLE_CONTEXT
                                          if c.split()[-1] not in words]).split()]
        if rng.random() < 0.3:
            words += ["via", *rng.choice(TITLE_ADJ).split(), *rng.choice(TITLE_NOUN).split()]
        if rng.random() < 0.4:  # sentence case
            words = [words[0]] + [w if w.isupper() or w.endswith(":") else w.lower()
                                  for w in words[1:]]
        if 4 <= len(words) <= 18:
            return words


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJ)} {rng.choice(VERB)} {rng.choice(OBJ)} {rng.choice(TAIL)}."


def _paragraph(rng: random.Random, sentences: int) -> str:
    first = (f"{rng.choice(OPENERS)} {rng.choice(TOPIC)} "
             f"{rng.choice(TITLE_CONTEXT).lower()} {rng.choice(TAIL)}.")
    return " ".join([first] + [_sentence(rng) for _ in range(sentences - 1)])


def _abstract(rng: random.Random, structured: bool) -> list[tuple[str, str]]:
    if structured:
        return [(label, " ".join(_sentence(rng) for _ in range(rng.randint(1, 3))))
                for label in ("Background", "Methods", "Results", "Conclusions")]
    return [("", _paragraph(rng, rng.randint(4, 9)))]


def _references(rng: random.Random, n: int) -> list[dict[str, Any]]:
    refs = []
    for i in range(n):
        authors = [_person(rng) for _ in range(rng.randint(1, 4))]
        refs.append({
            "key": f"ref{i + 1}", "authors": authors,
            "title": " ".join(_title(rng)).replace(":", ""),
            "journal": rng.choice(JOURNALS), "volume": rng.randint(1, 120),
            "pages": f"{(p := rng.randint(1, 900))}--{p + rng.randint(3, 30)}",
            "year": rng.randint(1975, 2024),
        })
    return refs


def make_paper(template: str, rng: random.Random, max_authors: int = 20,
               max_affiliations: int = 6) -> Paper:
    n_authors = min(max_authors, rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 9, 12, 16, 20]))
    authors: list[Person] = []
    while len(authors) < n_authors:
        person = _person(rng)
        if person.name not in {a.name for a in authors}:
            authors.append(person)
    n_affs = rng.randint(1, min(max_affiliations, max(1, n_authors)))
    affiliations: list[Affiliation] = []
    while len(affiliations) < n_affs:
        aff = _affiliation(rng)
        if aff.line not in {a.line for a in affiliations}:
            affiliations.append(aff)
    membership = []
    for i in range(n_authors):
        first = i * n_affs // n_authors  # every affiliation is used, in order
        member = [first]
        if n_affs > 1 and rng.random() < 0.2:
            member.append(rng.choice([j for j in range(n_affs) if j != first]))
        membership.append(member)
    words = _title(rng)
    title_break = rng.randint(2, len(words) - 2) if len(words) >= 6 and rng.random() < 0.2 \
        else None
    structured = rng.random() < 0.25
    keywords = rng.sample(KEYWORDS, rng.randint(3, 7)) if rng.random() < 0.75 else None
    references = _references(rng, rng.randint(3, 60))
    n_sections = rng.randint(4, 8)
    pages = rng.randint(2, 6)
    paras = max(n_sections, pages * 5)
    names = rng.sample(SECTIONS[1:-1], n_sections - 2)
    titles = ["Introduction", *[s for s in SECTIONS if s in names], "Conclusion"]
    sections = []
    for k, name in enumerate(titles):
        count = paras // len(titles) + (1 if k < paras % len(titles) else 0)
        sections.append((name, [_paragraph(rng, rng.randint(5, 9)) for _ in range(count)]))
    return Paper(template=template, title_words=words, title_break=title_break,
                 authors=authors, affiliations=affiliations, membership=membership,
                 abstract=_abstract(rng, structured), keywords=keywords,
                 references=references, author_year=rng.random() < 0.5, sections=sections,
                 utf8=rng.random() < 0.5, extra={"pages": pages, "structured": structured})


# --------------------------------------------------------------------------------------------
# LaTeX pieces shared by the templates
# --------------------------------------------------------------------------------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def t(paper: Paper, text: str) -> str:
    return tex(text, paper.utf8)


def title_tex(paper: Paper, breaker: str = r"\\") -> str:
    words = [t(paper, w) for w in paper.title_words]
    if paper.title_break:
        return (" ".join(words[: paper.title_break]) + f" {breaker} "
                + " ".join(words[paper.title_break:]))
    return " ".join(words)


def abstract_tex(paper: Paper) -> str:
    if len(paper.abstract) == 1 and not paper.abstract[0][0]:
        return t(paper, paper.abstract[0][1])
    return " ".join(rf"\textbf{{{label}:}} {t(paper, text)}" for label, text in paper.abstract)


def and_list(names: Sequence[str], final: str = " and ") -> str:
    if len(names) <= 1:
        return "".join(names)
    if len(names) == 2:
        return names[0] + final + names[1]
    return ", ".join(names[:-1]) + "," + final + names[-1]


def body_tex(paper: Paper, rng: random.Random) -> str:
    keys = [r["key"] for r in paper.references]
    out = []
    for name, paras in paper.sections:
        out.append(rf"\section{{{name}}}")
        for para in paras:
            sentences = para.split(". ")
            k = rng.randrange(len(sentences))
            cites = ",".join(rng.sample(keys, min(len(keys), rng.randint(1, 3))))
            sentences[k] = sentences[k].rstrip(".") + rf"~\cite{{{cites}}}"
            text = ". ".join(sentences)
            out.append(t(paper, text if text.endswith(".") else text + "."))
            out.append("")
    # every entry cited at least once, so author-year styles list them all
    out.append(r"\nocite{" + ",".join(keys) + "}")
    return "\n".join(out)


def bibliography_tex(paper: Paper, style: str = "numbered") -> str:
    """thebibliography with numbered ("numbered") or author-year ("natbib") entries."""
    lines = [rf"\begin{{thebibliography}}{{{len(paper.references)}}}"]
    for ref in paper.references:
        people: list[Person] = ref["authors"]
        names = and_list([t(paper, p.short) for p in people])
        body = (rf"{names}, ``{ref['title']},'' \emph{{{ref['journal']}}}, vol.~{ref['volume']}, "
                rf"pp.~{ref['pages']}, {ref['year']}.")
        if style == "numbered":
            lines.append(rf"\bibitem{{{ref['key']}}} {body}")
            continue
        first = t(paper, " ".join(p for p in (people[0].particle, people[0].family) if p))
        etal = first if len(people) == 1 else (
            f"{first} and {t(paper, people[1].family)}" if len(people) == 2
            else f"{first} et~al.")
        label = f"{{{etal}({ref['year']})}}"  # natbib's "Author et al.(year)"
        body = (rf"{names}, {ref['year']}, \emph{{{ref['journal']}}}, {ref['volume']}, "
                rf"{ref['pages'].split('--')[0]}")
        lines.append(rf"\bibitem[{label}]{{{ref['key']}}} {body}")
    lines.append(r"\end{thebibliography}")
    return "\n".join(lines)


def encoding_tex(paper: Paper) -> str:
    return r"\usepackage[utf8]{inputenc}" if paper.utf8 else ""


def _marks(kind: str) -> list[str]:
    if kind == "numbered":
        return [str(i) for i in range(1, 30)]
    if kind == "lettered":
        return list("abcdefghijklmnopqrstuvwxyz")
    return [r"\ast", r"\dagger", r"\ddagger", r"\S", r"\P", r"\star", r"\diamond",
            r"\ast\ast", r"\dagger\dagger", r"\ddagger\ddagger"]


def date_line(paper: Paper, rng: random.Random) -> str:
    """A printed date (sets the paper's year) or nothing."""
    if rng.random() < 0.4:
        paper.year = rng.randint(2005, 2024)
        return f"{MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, {paper.year}"
    return ""


# --------------------------------------------------------------------------------------------
# Templates: each returns the full .tex and fixes paper.layout / the printed fields
# --------------------------------------------------------------------------------------------


def ieeetran(paper: Paper, rng: random.Random) -> str:
    journal = len(paper.authors) > 3 and rng.random() < 0.4
    names = [t(paper, a.name) for a in paper.authors]
    if journal:
        paper.layout = "IEEEtran journal, 2-col, affiliations in \\thanks footnotes"
        thanks = []
        for i, aff in enumerate(paper.affiliations):
            who = [paper.authors[k].short for k, m in enumerate(paper.membership) if i in m]
            verb = "is" if len(who) == 1 else "are"
            thanks.append(rf"\thanks{{{t(paper, and_list(who))} {verb} with the "
                          rf"{t(paper, aff.line)}.}}")
        author = and_list(names, final=" and~") + "".join(thanks)
        opts = "journal"
    elif len(paper.authors) <= 3 and rng.random() < 0.7:
        paper.layout = "IEEEtran conference, 2-col, one author block per author"
        blocks = []
        for name, member in zip(names, paper.membership, strict=True):
            lines = r" \\ ".join(t(paper, p) for p in paper.affiliations[member[0]].parts)
            blocks.append(rf"\IEEEauthorblockN{{{name}}}" + "\n" + rf"\IEEEauthorblockA{{{lines}}}")
        # only the first affiliation of each author is printed
        paper.membership = [m[:1] for m in paper.membership]
        author = "\n\\and\n".join(blocks)
        opts = "conference"
    else:
        paper.layout = "IEEEtran conference, 2-col, \\IEEEauthorrefmark symbols"
        parts = []
        for k, (name, member) in enumerate(zip(names, paper.membership, strict=True)):
            marks = "".join(rf"\IEEEauthorrefmark{{{i + 1}}}" for i in member)
            sep = "" if k == len(names) - 1 else (r", \\ " if k % 4 == 3 else ", ")
            parts.append(name + marks + sep)
        affs = r" \\ ".join(rf"\IEEEauthorrefmark{{{i + 1}}}{t(paper, a.line)}"
                            for i, a in enumerate(paper.affiliations))
        author = (rf"\IEEEauthorblockN{{{''.join(parts)}}}" + "\n"
                  + rf"\IEEEauthorblockA{{{affs}}}")
        opts = "conference"
    keywords = ""
    if paper.keywords:
        keywords = (r"\begin{IEEEkeywords}" + "\n" + t(paper, ", ".join(paper.keywords))
                    + "\n" + r"\end{IEEEkeywords}")
    return rf"""\documentclass[{opts}]{{IEEEtran}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\begin{{document}}
\title{{{title_tex(paper)}}}
\author{{{author}}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def acmart(paper: Paper, rng: random.Random) -> str:
    fmt = rng.choice(["sigconf", "sigconf", "acmsmall"])
    paper.layout = (f"acmart {fmt}, " + ("2-col" if fmt == "sigconf" else "1-col")
                    + ", \\affiliation blocks")
    authors = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        lines = [rf"\author{{{t(paper, person.name)}}}"]
        for i in member:
            aff = paper.affiliations[i]
            fields = ""
            if aff.dept:
                fields += rf"\department{{{t(paper, aff.dept)}}}"
            fields += rf"\institution{{{t(paper, aff.org)}}}"
            if aff.city:
                fields += rf"\city{{{t(paper, aff.city)}}}"
            fields += rf"\country{{{t(paper, aff.country)}}}"
            lines.append(rf"\affiliation{{{fields}}}")
        authors.append("\n".join(lines))
    if fmt == "acmsmall":
        # the journal formats print only "institution, country" after each name
        paper.affiliations = [Affiliation("", a.org, "", a.country) for a in paper.affiliations]
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    natbib = "authoryear" if paper.author_year else "numbers"
    style = "natbib" if paper.author_year else "numbered"
    return rf"""\documentclass[{fmt},natbib=false]{{acmart}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\usepackage[{natbib}]{{natbib}}
\settopmatter{{printacmref=false, printccs=false, printfolios=true}}
\setcopyright{{none}}
\renewcommand\footnotetextcopyrightpermission[1]{{}}
\acmConference{{}}{{}}{{}}
\acmBooktitle{{}}
\acmDOI{{}}
\acmISBN{{}}
\acmYear{{}}
\pagestyle{{plain}}
\begin{{document}}
\title{{{title_tex(paper)}}}
{chr(10).join(authors)}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper, style)}
\end{{document}}
"""


def elsarticle(paper: Paper, rng: random.Random) -> str:
    opts = rng.choice(["preprint,12pt", "preprint,review,12pt", "final,5p,twocolumn",
                       "final,3p"])
    mode = rng.choice(["numbered", "lettered", "plain"]) if len(paper.affiliations) > 1 \
        else "plain"
    paper.layout = f"elsarticle [{opts}], " + (
        "\\address after its authors, no markers" if mode == "plain"
        else f"{mode} \\address[label]s, printed as superscript letters")
    if paper.author_year:
        opts += ",authoryear"
    front = []
    if mode == "plain":
        # each author followed by the address of their first affiliation
        paper.membership = [m[:1] for m in paper.membership]
        # each address follows the (consecutive) authors it belongs to
        front = []
        # keep the author order: group consecutive authors only
        group: list[Person] = []
        current = paper.membership[0][0]
        for person, member in zip(paper.authors, paper.membership, strict=True):
            if member[0] != current:
                front += [rf"\author{{{t(paper, p.name)}}}" for p in group]
                front.append(rf"\address{{{t(paper, paper.affiliations[current].line)}}}")
                group, current = [], member[0]
            group.append(person)
        front += [rf"\author{{{t(paper, p.name)}}}" for p in group]
        front.append(rf"\address{{{t(paper, paper.affiliations[current].line)}}}")
    else:
        labels = _marks(mode)
        for person, member in zip(paper.authors, paper.membership, strict=True):
            marks = ",".join(labels[i] for i in member)
            front.append(rf"\author[{marks}]{{{t(paper, person.name)}}}")
        for i, aff in enumerate(paper.affiliations):
            front.append(rf"\address[{labels[i]}]{{{t(paper, aff.line)}}}")
    keywords = ""
    if paper.keywords:
        keywords = (r"\begin{keyword}" + "\n" + r" \sep ".join(t(paper, k) for k in paper.keywords)
                    + "\n" + r"\end{keyword}")
    date = date_line(paper, rng)
    return rf"""\documentclass[{opts}]{{elsarticle}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\journal{{{rng.choice(JOURNALS)}}}
\makeatletter\def\today{{{date}}}\makeatother
\begin{{document}}
\begin{{frontmatter}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
\end{{frontmatter}}
{body_tex(paper, rng)}
{bibliography_tex(paper, "natbib" if paper.author_year else "numbered")}
\end{{document}}
"""


def llncs(paper: Paper, rng: random.Random) -> str:
    paper.layout = "llncs, 1-col, numbered \\inst institutes"
    single = len(paper.affiliations) == 1
    names = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        inst = "" if single else rf"\inst{{{','.join(str(i + 1) for i in member)}}}"
        names.append(t(paper, person.name) + inst)
    emails = rng.random() < 0.5
    institutes = []
    for aff in paper.affiliations:
        text = r" \\ ".join(t(paper, p) for p in aff.parts) if rng.random() < 0.5 \
            else t(paper, aff.line)
        if emails:
            text += r" \\ \email{" + f"author{rng.randint(1, 99)}@example.org" + "}"
        institutes.append(text)
    keywords = ""
    if paper.keywords:
        keywords = r"\keywords{" + r" \and ".join(t(paper, k) for k in paper.keywords) + "}"
    return rf"""\documentclass{{llncs}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\begin{{document}}
\title{{{title_tex(paper)}}}
\author{{{AND.join(names)}}}
\institute{{{AND.join(institutes)}}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
{keywords}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def revtex(paper: Paper, rng: random.Random) -> str:
    style = rng.choice(["reprint", "preprint"])
    superscript = rng.random() < 0.5
    journal = rng.choice(["prl", "prb", "pra", "prd"])
    opts = f"aps,{journal},{style}" + (",superscriptaddress" if superscript else "")
    show = paper.keywords is not None
    if show:
        opts += ",showkeys"
    paper.layout = f"revtex4-2 [{opts}], " + (
        "2-col, unlabelled abstract" if style == "reprint"
        else "1-col, title page, labelled abstract on page 2")
    front = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        front.append(rf"\author{{{t(paper, person.name)}}}")
        front += [rf"\affiliation{{{t(paper, paper.affiliations[i].line)}}}" for i in member]
    date = date_line(paper, rng)
    # \date{} would still print "(Dated: )"; an empty \@date prints nothing
    date_cmd = rf"\date{{{date}}}" if date else r"\makeatletter\let\@date\@empty\makeatother"
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    return rf"""\documentclass[{opts}]{{revtex4-2}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\begin{{document}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
{date_cmd}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def amsart(paper: Paper, rng: random.Random) -> str:
    paper.layout = "amsart, 1-col, addresses at the end"
    front = []
    for k, (person, member) in enumerate(zip(paper.authors, paper.membership, strict=True)):
        # the running head lists every author unless they have short forms
        short = ""
        if len(paper.authors) > 2:
            short = f"[{t(paper, paper.authors[0].short)} et al.]" if k == 0 else "[]"
        front.append(rf"\author{short}{{{t(paper, person.name)}}}")
        for i in member:
            front.append(rf"\address{{{t(paper, paper.affiliations[i].line)}}}")
        if rng.random() < 0.5:
            front.append(rf"\email{{{person.family.lower()[:3]}{rng.randint(1, 99)}@example.org}}")
    date = date_line(paper, rng)
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    return rf"""\documentclass{{amsart}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\begin{{document}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
\date{{{date}}}
{keywords}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def aastex(paper: Paper, rng: random.Random) -> str:
    style = rng.choice(["twocolumn", "", "linenumbers"])
    opts = style
    if paper.keywords:
        opts = ",".join(o for o in (style, "showkeys") if o)
    paper.layout = f"aastex631 [{opts}], numbered affiliations"
    front = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        front.append(rf"\author{{{t(paper, person.name)}}}")
        front += [rf"\affiliation{{{t(paper, paper.affiliations[i].line)}}}" for i in member]
    date = date_line(paper, rng)
    keywords = (rf"\keywords{{{t(paper, ' --- '.join(paper.keywords))}}}"
                if paper.keywords else "")
    return rf"""\documentclass[{opts}]{{aastex631}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\makeatletter\def\today{{{date}}}\makeatother
\begin{{document}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
{body_tex(paper, rng)}
{bibliography_tex(paper, "natbib")}
\end{{document}}
"""


def mnras(paper: Paper, rng: random.Random) -> str:
    kind = rng.choice(["numbered", "numbered", "lettered", "symbols"])
    paper.layout = f"mnras, 2-col, {kind} affiliation markers"
    marks = _marks(kind)
    used = paper.used_affiliations()
    label = {aff: marks[k] for k, aff in enumerate(used)}
    names = [t(paper, a.name) + rf"$^{{{','.join(label[i] for i in m)}}}$"
             for a, m in zip(paper.authors, paper.membership, strict=True)]
    affs = r"\\".join(rf"$^{{{label[i]}}}${t(paper, paper.affiliations[i].line)}" for i in used)
    paper.year = rng.randint(2005, 2024)
    # the author line does not wrap: \newauthor starts a new one
    author = and_list(names, final=" and ")
    if len(names) > 4:
        rows = [", ".join(names[k:k + 4]) for k in range(0, len(names), 4)]
        author = ",\n\\newauthor ".join(rows[:-1]) + ",\n\\newauthor " + and_list(
            names[4 * (len(rows) - 1):], final=" and ")
    keywords = ""
    if paper.keywords:
        keywords = (r"\begin{keywords}" + "\n" + t(paper, " -- ".join(paper.keywords))
                    + "\n" + r"\end{keywords}")
    first = paper.authors[0]
    short = t(paper, first.short + (" et al." if len(paper.authors) > 1 else ""))
    return rf"""\documentclass[fleqn,usenatbib]{{mnras}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\title[{t(paper, " ".join(paper.title_words[:4]))}]{{{title_tex(paper)}}}
\author[{short}]{{{author}\\
{affs}}}
\date{{}}
\pubyear{{{paper.year}}}
\makeatletter\def\today{{{rng.randint(1, 28)} {MONTHS[rng.randrange(12)]} {paper.year}}}\makeatother
\begin{{document}}
\label{{firstpage}}
\pagerange{{\pageref{{firstpage}}--\pageref{{lastpage}}}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
{body_tex(paper, rng)}
{bibliography_tex(paper, "natbib")}
\label{{lastpage}}
\end{{document}}
"""


def article(paper: Paper, rng: random.Random) -> str:
    """Plain article: authblk markers or \\thanks footnote affiliations."""
    # \thanks footnotes are marked with \fnsymbol, which stops at 9
    mode = rng.choice(["numbered", "lettered", "symbols"]
                      + (["thanks"] if len(paper.authors) <= 8 else []))
    two = rng.random() < 0.4
    paper.layout = f"article + authblk, {'2-col' if two else '1-col'}, {mode} affiliations"
    if mode == "thanks":
        paper.layout = f"article, {'2-col' if two else '1-col'}, \\thanks footnote affiliations"
        paper.membership = [m[:1] for m in paper.membership]
        names = [t(paper, a.name) + rf"\thanks{{{t(paper, paper.affiliations[m[0]].line)}}}"
                 for a, m in zip(paper.authors, paper.membership, strict=True)]
        front = rf"\author{{{AND.join(names)}}}"
        package = ""
    else:
        marks = _marks(mode)
        used = paper.used_affiliations()
        label = {aff: marks[k] for k, aff in enumerate(used)}
        lines = []
        for a, m in zip(paper.authors, paper.membership, strict=True):
            mk = ",".join(f"${label[i]}$" if mode == "symbols" else label[i] for i in m)
            lines.append(rf"\author[{mk}]{{{t(paper, a.name)}}}")
        for i in used:
            mk = f"${label[i]}$" if mode == "symbols" else label[i]
            lines.append(rf"\affil[{mk}]{{{t(paper, paper.affiliations[i].line)}}}")
        front = "\n".join(lines)
        package = r"\usepackage{authblk}"
    date = date_line(paper, rng)
    keywords = ""
    if paper.keywords:
        sep = rng.choice([", ", "; "])
        name = rng.choice([r"\textbf{Keywords:}", r"\textit{Key words:}", r"\textbf{Keywords}:"])
        keywords = rf"\noindent {name} {t(paper, sep.join(paper.keywords))}"
    abstract = rf"""\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}"""
    # in two columns \maketitle spans the page and the abstract opens the first column
    head = r"\maketitle" + "\n" + abstract
    preamble = r"\documentclass[twocolumn]{article}" if two else r"\documentclass{article}"
    style = "natbib" if paper.author_year else "numbered"
    natbib = r"\usepackage[authoryear]{natbib}" if paper.author_year else ""
    return rf"""{preamble}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\usepackage[margin=2.5cm]{{geometry}}
{package}
{natbib}
\begin{{document}}
\title{{{title_tex(paper)}}}
{front}
\date{{{date}}}
{head}
{body_tex(paper, rng)}
{bibliography_tex(paper, style)}
\end{{document}}
"""


Builder = Callable[[Paper, random.Random], str]
TEMPLATES: dict[str, tuple[str, Builder, dict[str, int]]] = {
    # name: (class file, builder, limits for make_paper)
    "ieeetran": ("IEEEtran.cls", ieeetran, {"max_affiliations": 4}),
    "acmart": ("acmart.cls", acmart, {"max_authors": 9}),
    "elsarticle": ("elsarticle.cls", elsarticle, {}),
    "llncs": ("llncs.cls", llncs, {}),
    "revtex": ("revtex4-2.cls", revtex, {}),
    "amsart": ("amsart.cls", amsart, {"max_authors": 6}),
    "aastex": ("aastex631.cls", aastex, {}),
    "mnras": ("mnras.cls", mnras, {}),
    "article": ("article.cls", article, {}),
}


# --------------------------------------------------------------------------------------------
# Ground truth, compilation, driver
# --------------------------------------------------------------------------------------------


def ground_truth(paper: Paper, paper_id: str) -> dict[str, Any]:
    affiliations: list[str] = []
    for i in paper.used_affiliations():
        if paper.affiliations[i].line not in affiliations:
            affiliations.append(paper.affiliations[i].line)
    return {
        "id": paper_id,
        "file": f"{paper_id}.pdf",
        "template": paper.template,
        "layout": paper.layout,
        "gt_quality": "generated from the LaTeX source",
        "gt": {
            "title": paper.title,
            "authors": [a.name for a in paper.authors],
            "affiliations": affiliations,
            "abstract": paper.abstract_text,
            "keywords": list(paper.keywords) if paper.keywords else None,
            "n_references": len(paper.references),
            "figures": 0,
            "figure_captions": [],
            "doi": None,
            "arxiv_id": None,
            "year": paper.year,
            "venue": None,
            "license": None,
            "notes": f"Generated ({paper.layout}); "
                     + ("UTF-8 input" if paper.utf8 else "accents as LaTeX macros") + ".",
        },
    }


def available_templates() -> list[str]:
    if not shutil.which("kpsewhich"):
        return []
    names = []
    for name, (cls, _, _) in TEMPLATES.items():
        found = subprocess.run(["kpsewhich", cls], capture_output=True, text=True).stdout
        if found.strip():
            names.append(name)
    return names


def build(template: str, seed: int, n: int) -> tuple[Paper, str]:
    rng = random.Random(f"{seed}-{template}-{n}")
    _, builder, limits = TEMPLATES[template]
    paper = make_paper(template, rng, **limits)
    return paper, builder(paper, rng)


def compile_tex(tex_path: Path, timeout: float = 180.0) -> tuple[str | None, int]:
    """pdflatex twice (labels, page ranges); returns (error message or None, pages)."""
    cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path.name]
    pages = 0
    for _ in range(2):
        try:
            proc = subprocess.run(cmd, cwd=tex_path.parent, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"pdflatex timed out after {timeout:.0f} s", 0
        log = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            errors = [line for line in log.splitlines() if line.startswith("!")]
            return (errors[0] if errors else f"pdflatex exit {proc.returncode}"), 0
        found = re.search(r"Output written on .*?\((\d+) pages?", log, re.S)
        pages = int(found.group(1)) if found else 0
    for ext in (".aux", ".log", ".out", ".bbl", ".blg", ".spl"):
        tex_path.with_suffix(ext).unlink(missing_ok=True)
    tex_path.with_name(tex_path.stem + "Notes.bib").unlink(missing_ok=True)  # revtex
    return None, pages


def generate_one(out: Path, template: str, seed: int, n: int) -> tuple[str, str | None]:
    paper_id = f"{template}_{n}"
    paper, source = build(template, seed, n)
    tex_path = out / f"{paper_id}.tex"
    tex_path.write_text(source, encoding="utf-8")
    error, pages = compile_tex(tex_path)
    gt_path = out / f"{paper_id}.gt.json"
    if error:
        gt_path.unlink(missing_ok=True)
        return paper_id, error
    paper.layout += f", {pages}pp"
    record = ground_truth(paper, paper_id)
    pdf = (out / f"{paper_id}.pdf").read_bytes()
    record["bytes"] = len(pdf)
    record["sha256"] = hashlib.sha256(pdf).hexdigest()
    gt_path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paper_id, None


def generate(out: Path, templates: Sequence[str], per_template: int, seed: int,
             workers: int = 2) -> dict[str, str | None]:
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(tpl, n) for tpl in templates for n in range(1, per_template + 1)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda job: generate_one(out, job[0], seed, job[1]), jobs)
        return dict(results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/corpus", help="output folder")
    parser.add_argument("--per-template", type=int, default=4, help="papers per template")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--templates", nargs="*", help="subset of templates (default: all "
                        "whose class is installed)")
    parser.add_argument("--workers", type=int, default=2, help="parallel pdflatex runs")
    args = parser.parse_args(argv)
    if not shutil.which("pdflatex"):
        print("pdflatex not found: run scripts/ensure_texlive.sh", file=sys.stderr)
        return 2
    present = available_templates()
    missing = [name for name in TEMPLATES if name not in present]
    if missing:
        print(f"classes not installed, skipped: {', '.join(missing)}", file=sys.stderr)
    templates = [name for name in (args.templates or present) if name in present]
    start = time.perf_counter()
    results = generate(Path(args.out), templates, args.per_template, args.seed, args.workers)
    failures = {pid: err for pid, err in results.items() if err}
    print(f"{len(results) - len(failures)} of {len(results)} papers compiled into {args.out} "
          f"({len(templates)} templates: {', '.join(templates)}) in "
          f"{time.perf_counter() - start:.1f} s")
    for pid, err in failures.items():
        print(f"  FAILED {pid}: {err}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
