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
import unicodedata
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
OUP_JOURNALS = ["Bioinformatics", "Biostatistics", "The Computer Journal",
                "IMA Journal of Numerical Analysis", "Journal of Logic and Computation",
                "Journal of Complex Networks", "Geophysical Journal International"]
PMLR_VENUES = ["Conference on Learning Theory", "Machine Learning for Healthcare",
               "Uncertainty in Artificial Intelligence", "Asian Conference on Machine Learning",
               "Conference on Causal Learning and Reasoning", "Learning for Dynamics and Control"]
AIAA_MEETINGS = ["AIAA Scitech Forum", "AIAA Aviation Forum", "AIAA Propulsion and Energy Forum",
                 "AIAA Aerospace Sciences Meeting"]
JOB_TITLES = ["Professor", "Associate Professor", "Assistant Professor", "Research Scientist",
              "Graduate Student", "Postdoctoral Researcher", "Senior Engineer"]
FR_OPENERS = ["Nous étudions", "Nous présentons", "Cet article introduit", "Nous proposons"]
FR_TOPIC = ["une nouvelle méthode pour les", "les propriétés statistiques des",
            "un algorithme efficace pour les", "les limites théoriques des"]
FR_CONTEXT = ["séries temporelles", "réseaux de neurones", "réseaux électriques",
              "modèles climatiques", "données d'expression génique"]
FR_TAIL = ["sur trois jeux de données", "dans un large domaine de paramètres",
           "avec un coût de calcul modeste", "dans le régime de basse température"]

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


# --------------------------------------------------------------------------------------------
# More publisher classes, none of which the extraction rules were tuned on
# --------------------------------------------------------------------------------------------


def _email(person: Person, rng: random.Random) -> str:
    """An ASCII address: some classes set it with \\url or in small capitals."""
    family = person.family.lower().translate(str.maketrans({"ø": "o", "ł": "l", "ı": "i"}))
    local = re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", family))
    return f"{local[:8] or 'author'}{rng.randint(1, 99)}@example.org"


def _numbered(paper: Paper) -> dict[int, int]:
    """Affiliation index -> 1-based marker, numbered in order of first use."""
    return {aff: k + 1 for k, aff in enumerate(paper.used_affiliations())}


def _first_only(paper: Paper) -> list[tuple[int, list[Person]]]:
    """Keeps only each author's first affiliation (the printed one); groups consecutive
    authors who share it."""
    paper.membership = [m[:1] for m in paper.membership]
    groups: list[tuple[int, list[Person]]] = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        if groups and groups[-1][0] == member[0]:
            groups[-1][1].append(person)
        else:
            groups.append((member[0], [person]))
    return groups


def _rows(items: list[str], per_row: int, last: str = "") -> str:
    """Items joined by ", " with a line break after every per_row: centred tabulars do not
    wrap; last ("and ") goes before the final item."""
    out = ""
    for k, item in enumerate(items):
        if k:
            out += ",\\\\ " if k % per_row == 0 else ", "
        out += (last if k and k == len(items) - 1 else "") + item
    return out


def _name_rows(names: list[str]) -> str:
    return and_list(names) if len(names) <= 3 else _rows(names, 3, "and ")


def _running_authors(paper: Paper) -> str:
    first = paper.authors[0]
    surname = " ".join(p for p in (first.particle, first.family) if p)
    return surname + (" et al." if len(paper.authors) > 1 else "")


def _dates(rng: random.Random, year: int, n: int = 1) -> list[str]:
    """n dates of one year in calendar order, as "12 March 2021"."""
    return [f"{rng.randint(1, 28)} {MONTHS[m]} {year}" for m in sorted(rng.sample(range(12), n))]


def oup(paper: Paper, rng: random.Random) -> str:
    style = rng.choice(["modern", "traditional", "contemporary"])
    size = rng.choice(["large", "medium", "small"])
    opts = (["unnumsec"] if rng.random() < 0.5 else []) + ["webpdf", style, size]
    if paper.author_year:
        opts.append("namedate")
    paper.layout = (f"oup-authoring-template [{','.join(opts)}], "
                    + ("1-col" if size == "small" else "2-col")
                    + ", numbered \\address markers run into one paragraph")
    # the header and the footer's copyright line print the year
    paper.year = rng.randint(2005, 2024)
    label = _numbered(paper)
    corresp = rng.random() < 0.6
    front = []
    for k, (person, member) in enumerate(zip(paper.authors, paper.membership, strict=True)):
        marks = [str(label[i]) for i in member] + ([r"$\ast$"] if corresp and k == 0 else [])
        front.append(rf"\author[{','.join(marks)}]{{{t(paper, person.name)}}}")
    first = paper.authors[0]
    front.append(rf"\authormark{{{t(paper, _running_authors(paper))}}}")
    for i, number in label.items():
        aff = paper.affiliations[i]
        where = ", ".join(t(paper, p) for p in (aff.city, aff.country) if p)
        parts = ([rf"\orgdiv{{{t(paper, aff.dept)}}}"] if aff.dept else []) + [
            rf"\orgname{{{t(paper, aff.org)}}}", rf"\orgaddress{{{where}}}"]
        front.append(rf"\address[{number}]{{{', '.join(parts)}}}")
    if corresp:
        front.append(rf"\corresp[$\ast$]{{Corresponding author. {_email(first, rng)}}}")
    if rng.random() < 0.5:
        months = sorted(rng.sample(range(1, 13), 3))
        front += [rf"\{what}{{{rng.randint(1, 28)}}}{{{month}}}{{{paper.year}}}"
                  for what, month in zip(("received", "revised", "accepted"), months,
                                         strict=True)]
    access = ""
    # modern,small ends the (empty) access line with \\: "There's no line here to end"
    if rng.random() < 0.5 or (style, size) == ("modern", "small"):
        access = rf"\access{{Advance Access Publication Date: {_dates(rng, paper.year)[0]}}}"
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    return rf"""\documentclass[{','.join(opts)}]{{oup-authoring-template}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\begin{{document}}
\journaltitle{{{rng.choice(OUP_JOURNALS)}}}
\DOI{{DOI added during production}}
\copyrightyear{{{paper.year}}}
\pubyear{{{paper.year}}}
\vol{{{rng.randint(1, 60)}}}
\issue{{{rng.randint(1, 12)}}}
{access}
\appnotes{{{rng.choice(["Paper", "Original Article", "Research Article"])}}}
\firstpage{{1}}
\title[{t(paper, " ".join(paper.title_words[:4]))}]{{{title_tex(paper)}}}
{chr(10).join(front)}
\abstract{{{abstract_tex(paper)}}}
{keywords}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper, "natbib" if paper.author_year else "numbered")}
\end{{document}}
"""


def nature(paper: Paper, rng: random.Random) -> str:
    paper.layout = ("nature, 1-col double-spaced, numbered affiliation list, "
                    "abstract as the first bold paragraph")
    label = _numbered(paper)
    names = [t(paper, a.name) + rf"$^{{{','.join(str(label[i]) for i in m)}}}$"
             for a, m in zip(paper.authors, paper.membership, strict=True)]
    author = names[0] if len(names) == 1 else ", ".join(names[:-1]) + r" \& " + names[-1]
    items = "\n".join(rf"\item {t(paper, paper.affiliations[i].line)}" for i in label)
    paper.keywords = None  # Nature prints none
    addendum = ""
    if rng.random() < 0.6:
        first = paper.authors[0]
        addendum = rf"""\begin{{addendum}}
\item[Acknowledgements] We thank the anonymous referees for their comments.
\item[Competing Interests] The authors declare that they have no competing financial interests.
\item[Correspondence] Correspondence and requests for materials should be addressed to
{t(paper, first.short)}~(email: {_email(first, rng)}).
\end{{addendum}}"""
    return rf"""\documentclass{{nature}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\title{{{title_tex(paper)}}}
\author{{{author}}}
\begin{{document}}
\maketitle
\begin{{affiliations}}
{items}
\end{{affiliations}}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
{addendum}
\end{{document}}
"""


def jmlr(paper: Paper, rng: random.Random) -> str:
    # the title page's header lands on the page where \maketitle ends: keep the blocks short
    shared = len(paper.authors) > 5 or rng.random() < 0.5
    groups = _first_only(paper)
    lines = len(groups) <= 4 and rng.random() < 0.5
    if not shared:
        groups = [(i, [p]) for i, people in groups for p in people]
    # the title page's header and the copyright footer print the year
    paper.year = rng.randint(2010, 2024)
    blocks = []
    for i, people in groups:
        # as jmlr's sample: two authors of an address joined by \and, more one per line;
        # \Name splits the name at spaces for the footer's initials, which would cut
        # UTF-8 characters in two: spell the accents as macros there
        names = (r" \and " if len(people) == 2 else "\\\\\n").join(
            rf"\Name{{{tex(p.name, False)}}} \Email{{{_email(p, rng)}}}" for p in people)
        aff = paper.affiliations[i]
        addr = r"\\ ".join(t(paper, p) for p in aff.parts) if lines else t(paper, aff.line)
        blocks.append(f"{names}\\\\\n\\addr {addr}")
    editors = ""
    if rng.random() < 0.5:
        eds = [_person(rng).name for _ in range(rng.randint(1, 3))]
        editors = (rf"\editors{{{t(paper, and_list(eds))}}}" if len(eds) > 1
                   else rf"\editor{{{t(paper, eds[0])}}}")
    paper.layout = ("jmlr [pmlr], 1-col, \\Name/\\addr blocks "
                    + ("shared by the authors of an affiliation" if shared else "per author")
                    + (", editors line" if editors else ""))
    keywords = ""
    if paper.keywords:
        keywords = (r"\begin{keywords}" + "\n" + t(paper, ", ".join(paper.keywords)) + "\n"
                    + r"\end{keywords}")
    title = title_tex(paper, r"\titlebreak")
    author = "\n\\AND\n".join(blocks)
    # jmlr.cls makes natbib insist on author-year entries
    return rf"""\documentclass[pmlr]{{jmlr}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\jmlrvolume{{vol {rng.randint(40, 250)}}}
\jmlryear{{{paper.year}}}
\jmlrworkshop{{{rng.choice(PMLR_VENUES)} {paper.year}}}
\title[{t(paper, " ".join(paper.title_words[:4]))}]{{{title}}}
\author{{{author}}}
{editors}
\begin{{document}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
{body_tex(paper, rng)}
{bibliography_tex(paper, "natbib")}
\end{{document}}
"""


def cas(paper: Paper, rng: random.Random) -> str:
    cls = rng.choice(["cas-dc", "cas-dc", "cas-sc"])
    paper.layout = (f"{cls}, " + ("2-col" if cls == "cas-dc" else "1-col")
                    + ", lettered \\affiliation lines, keywords in the article-info box")
    label = _numbered(paper)
    corresp = rng.random() < 0.7
    front = []
    for k, (person, member) in enumerate(zip(paper.authors, paper.membership, strict=True)):
        front.append(rf"\author[{','.join(str(label[i]) for i in member)}]"
                     rf"{{{t(paper, person.name)}}}")
        if corresp and k == 0:
            front += [r"\cormark[1]", rf"\ead{{{_email(person, rng)}}}"]
    for i, number in label.items():
        aff = paper.affiliations[i]
        keys = [f"organization={{{t(paper, ', '.join(p for p in (aff.dept, aff.org) if p))}}}"]
        if aff.city:
            keys.append(f"city={{{t(paper, aff.city)}}}")
        keys.append(f"country={{{t(paper, aff.country)}}}")
        front.append(rf"\affiliation[{number}]{{{', '.join(keys)}}}")
    if corresp:
        front.append(r"\cortext[1]{Corresponding author}")
    keywords = ""
    if paper.keywords:
        keywords = (r"\begin{keywords}" + "\n" + r" \sep ".join(t(paper, k) for k in paper.keywords)
                    + "\n" + r"\end{keywords}")
    first = paper.authors[0]
    short = t(paper, first.short + (" et al." if len(paper.authors) > 1 else ""))
    return rf"""\documentclass[a4paper,fleqn]{{{cls}}}
{encoding_tex(paper)}
\usepackage{{lmodern}}
\usepackage[{"authoryear" if paper.author_year else "numbers"}]{{natbib}}
\shorttitle{{{t(paper, " ".join(paper.title_words[:4]))}}}
\shortauthors{{{short}}}
\begin{{document}}
\let\WriteBookmarks\relax
\title [mode = title]{{{title_tex(paper)}}}
{chr(10).join(front)}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper, "natbib" if paper.author_year else "numbered")}
\end{{document}}
"""


def achemso(paper: Paper, rng: random.Random) -> str:
    kind = rng.choice(["article", "article", "communication"])
    journal = rng.choice(["jacsat", "jpccck", "langd5"]) if kind == "article" else "jacsat"
    paper.layout = (f"achemso [journal={journal},manuscript={kind}], "
                    + ("2-col, unheaded sections, \"Received\" date" if kind == "communication"
                       else "1-col double-spaced")
                    + ", symbol affiliation markers")
    emails = {0} | ({len(paper.authors) - 1} if rng.random() < 0.3 else set())
    front = []
    for k, (person, member) in enumerate(zip(paper.authors, paper.membership, strict=True)):
        front.append(rf"\author{{{t(paper, person.name)}}}")
        front.append(rf"\affiliation{{{t(paper, paper.affiliations[member[0]].line)}}}")
        front += [rf"\alsoaffiliation{{{t(paper, paper.affiliations[i].line)}}}"
                  for i in member[1:]]
        if k in emails:
            front.append(rf"\email{{{_email(person, rng)}}}")
    date = ""
    if kind == "communication":
        # the communication format prints "Received \today" and drops the keywords
        paper.year = rng.randint(2005, 2024)
        date = rf"\makeatletter\def\today{{{MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, " \
               rf"{paper.year}}}\makeatother"
        paper.keywords = None
    keywords = ""
    if paper.keywords:
        keywords = (r"\setkeys{acs}{keywords = true}" + "\n"
                    + rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}")
    toc = ""
    if rng.random() < 0.5:
        toc = (r"\begin{tocentry}" + "\n" + "Graphical entry for the Table of Contents." + "\n"
               + r"\end{tocentry}")
    return rf"""\documentclass[journal={journal},manuscript={kind}]{{achemso}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
{keywords}
{date}
\begin{{document}}
{toc}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def quantum(paper: Paper, rng: random.Random) -> str:
    cols = rng.choice(["twocolumn", "onecolumn"])
    mode = rng.choice(["unpublished", "dated", "accepted"])
    opts = [rng.choice(["a4paper", "letterpaper"]), cols]
    date = ""
    if mode == "unpublished":
        opts.append("unpublished")
    else:
        paper.year = rng.randint(2017, 2024)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        if mode == "accepted":
            # the footer of every page says "Accepted in Quantum <date>"
            opts.append(f"accepted={paper.year}-{month:02d}-{day:02d}")
        if mode == "dated" or rng.random() < 0.5:
            date = f"{MONTHS[month - 1]} {day}, {paper.year}"
    paper.layout = (f"quantumarticle [{','.join(opts)}], "
                    + {"twocolumn": "2-col", "onecolumn": "1-col"}[cols]
                    + ", numbered affiliations, unheaded abstract")
    paper.keywords = None  # only written into the PDF metadata
    # the title is set in a minipage (a hyperlink once accepted) that chokes on \\
    paper.title_break = None
    front = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        front.append(rf"\author{{{t(paper, person.name)}}}")
        front += [rf"\affiliation{{{t(paper, paper.affiliations[i].line)}}}" for i in member]
        if rng.random() < 0.3:
            front.append(rf"\email{{{_email(person, rng)}}}")
    # the class loads lmodern only at \begin{document}, too late for the text font (bitmap EC
    # fonts without cm-super), and refuses \usepackage{lmodern}
    return rf"""\documentclass[{','.join(opts)}]{{quantumarticle}}
\pdfoutput=1
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\RequirePackage{{lmodern}}
\usepackage{{hyperref}}
\begin{{document}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
\date{{{date}}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def _french_abstract(rng: random.Random) -> str:
    first = (f"{rng.choice(FR_OPENERS)} {rng.choice(FR_TOPIC)} {rng.choice(FR_CONTEXT)} "
             f"{rng.choice(FR_TAIL)}.")
    more = [f"La méthode est validée {rng.choice(FR_TAIL)}.",
            f"Nous comparons ensuite les {rng.choice(FR_CONTEXT)} {rng.choice(FR_TAIL)}."]
    return " ".join([first, *more[:rng.randint(0, 2)]])


def smfart(paper: Paper, rng: random.Random) -> str:
    french = rng.random() < 0.5
    paper.layout = ("smfart, 1-col, uppercase title, addresses at the end"
                    + (", keywords footnote" if paper.keywords else "")
                    + (", French résumé after the abstract" if french else ""))
    front = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        front.append(rf"\author{{{t(paper, person.name)}}}")
        front += [rf"\address{{{t(paper, paper.affiliations[i].line)}}}" for i in member]
        if rng.random() < 0.5:
            front.append(rf"\email{{{_email(person, rng)}}}")
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    alt = ""
    if french:
        alt = (r"\begin{altabstract}" + "\n" + t(paper, _french_abstract(rng)) + "\n"
               + r"\end{altabstract}")
        if rng.random() < 0.5:
            alt = rf"\alttitle{{{t(paper, rng.choice(FR_TOPIC).capitalize())} " \
                  rf"{t(paper, rng.choice(FR_CONTEXT))}}}" + "\n" + alt
    # without [english] the class is French: "Résumé" heads the abstract, "par" the authors
    return rf"""\documentclass[english]{{smfart}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\title[{t(paper, " ".join(paper.title_words[:4]))}]{{{title_tex(paper)}}}
{chr(10).join(front)}
{keywords}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{alt}
\begin{{document}}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def ieeeconf(paper: Paper, rng: random.Random) -> str:
    opts = rng.choice(["letterpaper", "letterpaper,onecolumn", "letterpaper,latex8"])
    # the title block cannot break across pages: a block per author only for a few
    shared = len(paper.authors) > 4 or rng.random() < 0.5
    groups = _first_only(paper)
    if not shared:
        groups = [(i, [p]) for i, people in groups for p in people]
    paper.layout = (f"IEEEconf [{opts}], centred author blocks "
                    + ("shared by the authors of an affiliation" if shared else "per author"))
    blocks = []
    for i, people in groups:
        lines = r"\\".join(t(paper, p) for p in paper.affiliations[i].parts)
        block = (_name_rows([t(paper, p.name) for p in people]) + "\\\\\n"
                 + "\\begin{affiliation}\n" + lines + "\n\\end{affiliation}")
        if rng.random() < 0.5:
            # \\ inside \email's group would end the tabular row: one \email a line
            emails = [_email(p, rng) for p in people]
            rows = [", ".join(emails[k:k + 2]) + ("," if k + 2 < len(emails) else "")
                    for k in range(0, len(emails), 2)]
            block += "".join("\\\\\n" + rf"\email{{{row}}}" for row in rows)
        blocks.append(block)
    paper.keywords = None  # the class has no keywords
    author = "\n\\and\n".join(blocks)
    return rf"""\documentclass[{opts}]{{IEEEconf}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\title{{{title_tex(paper)}}}
\author{{{author}}}
\begin{{document}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def aiaa(paper: Paper, rng: random.Random) -> str:
    mode = rng.choice(["", "handcarry", "submit"])
    # \thanks marks are \fnsymbol, which stops at 9
    thanks = len(paper.authors) <= 9 and rng.random() < 0.7
    groups = _first_only(paper)
    paper.layout = (f"aiaa-tc [{mode}], 1-col, affiliation line under each author group"
                    + (", job titles in \\thanks footnotes" if thanks else ""))
    parts = []
    for i, people in groups:
        names = [t(paper, p.name) + (rf"\thanks{{{rng.choice(JOB_TITLES)}.}}" if thanks else "")
                 for p in people]
        parts.append(_name_rows(names) + r"\\ {\normalsize\itshape "
                     + t(paper, paper.affiliations[i].line) + "}")
    extra = ""
    if mode == "handcarry":
        # the meeting line above the title and the copyright footnote print the year
        paper.year = rng.randint(2005, 2024)
        city, country, _ = rng.choice(CITIES)
        day, month = rng.randint(1, 24), MONTHS[rng.randrange(12)]
        copyright_ = rng.choice([rf"\AIAAcopyrightA{{{paper.year}}}",
                                 rf"\AIAAcopyrightD{{{paper.year}}}"])
        extra = "\n".join([
            rf"\AIAApapernumber{{{paper.year}-{rng.randint(1000, 9999)}}}",
            rf"\AIAAconference{{{rng.choice(AIAA_MEETINGS)}, {day}--{day + 4} {month} "
            rf"{paper.year}, {t(paper, city)}, {t(paper, country)}}}",
            rf"\AIAAcopyright{{{copyright_}}}"])
    elif mode == "submit":
        extra = r"\AIAAsubmitinfo{Submitted to the AIAA Journal}"
    paper.keywords = None  # the class has no keywords
    author = "\n\\and\n".join(parts)
    return rf"""\documentclass{"[" + mode + "]" if mode else ""}{{aiaa-tc}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
{extra}
\title{{{title_tex(paper)}}}
\author{{{author}}}
\begin{{document}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def spie(paper: Paper, rng: random.Random) -> str:
    opts = ",".join(o for o in (rng.choice(["10pt", "11pt", "12pt"]),
                                rng.choice(["", "a4paper"])) if o)
    label = _numbered(paper)
    single = len(label) == 1
    paper.layout = f"spie [{opts}], 1-col, " + (
        "one affiliation" if single else "lettered \\supit affiliations") + ", ABSTRACT heading"
    letters = _marks("lettered")
    names = [t(paper, a.name) + ("" if single else
                                 rf"\supit{{{','.join(letters[label[i] - 1] for i in m)}}}")
             for a, m in zip(paper.authors, paper.membership, strict=True)]
    affs = []
    for k, i in enumerate(label):
        mark = "" if single else rf"\supit{{{letters[k]}}}"
        affs.append(mark + t(paper, paper.affiliations[i].line)
                    + (";" if k < len(label) - 1 else ""))
    first = paper.authors[0]
    info = (rf"\authorinfo{{Further author information: (Send correspondence to "
            rf"{t(paper, first.short)})\\ E-mail: {_email(first, rng)}}}")
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    author = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    author += "\n\\skiplinehalf\n" + " \\\\\n".join(affs)
    # with Computer Modern spie.cls sets the title in a raw OT1 font that drops accents
    return rf"""\documentclass[{opts}]{{spie}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\title{{{title_tex(paper)}}}
\author{{{author}}}
{info}
\begin{{document}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def kluwer(paper: Paper, rng: random.Random) -> str:
    numbered = rng.random() < 0.5
    groups = _first_only(paper)
    paper.layout = ("kluwer [noid], 1-col, authors grouped above their institute"
                    + (", numbered references" if numbered else ""))
    # the footer's copyright line prints the year
    paper.year = rng.randint(1990, 2004)
    front = []
    for i, people in groups:
        for p in people:
            email = rf"\email{{{_email(p, rng)}}}" if rng.random() < 0.3 else ""
            front.append(rf"\author{{{t(paper, p.name)}{email}}}")
        front.append(rf"\institute{{{t(paper, paper.affiliations[i].line)}}}")
    date = ""
    if rng.random() < 0.5:
        received, accepted = _dates(rng, paper.year, 2)
        date = rf"\date{{Received: {received}; accepted: {accepted}}}"
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    # noid: the default footer line prints the file name and today's date
    return rf"""\documentclass[noid{",numreferences" if numbered else ""}]{{kluwer}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\pubyear{{{paper.year}}}
\begin{{document}}
\begin{{article}}
\begin{{opening}}
\title{{{title_tex(paper)}}}
{chr(10).join(front)}
\runningtitle{{{t(paper, " ".join(paper.title_words[:4]))}}}
\runningauthor{{{t(paper, _running_authors(paper))}}}
{date}
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
\end{{opening}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{article}}
\end{{document}}
"""


# --------------------------------------------------------------------------------------------
# Six more classes from texlive-publishers, with front matter unlike the ones above
# --------------------------------------------------------------------------------------------

APA_JOURNALS = ["Journal of Experimental Psychology: General", "Psychological Review",
                "Developmental Psychology", "Journal of Applied Psychology",
                "Psychological Methods", "Emotion", "Neuropsychology"]
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre"]
NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _fake_packages(packages: dict[str, str]) -> str:
    """Marks packages (name -> the options the class asks for) as loaded before
    \\documentclass: the fonts of Debian's texlive-fonts-extra (newtx, TeX Gyre) are
    not installed, and a class that only selects its fonts with them then sets Latin Modern
    instead of stopping."""
    lines = [r"\makeatletter"]
    lines += [rf"\@namedef{{ver@{name}.sty}}{{}}\@namedef{{opt@{name}.sty}}{{{options}}}"
              for name, options in packages.items()]
    return "\n".join([*lines, r"\makeatother"])


def _wrap_rows(items: list[tuple[str, str]], width: int, last: str = "") -> list[str]:
    """(plain, tex) items joined by ", " into rows of at most `width` plain characters, for
    centred tabulars, which do not wrap; `last` ("and ") goes before the final item. A row
    that continues ends with the comma."""
    rows: list[list[str]] = []
    length = 0
    for k, (plain, code) in enumerate(items):
        if k and k == len(items) - 1 and last:
            plain, code = last + plain, last + code
        if rows and length + 2 + len(plain) <= width:
            rows[-1].append(code)
            length += 2 + len(plain)
        else:
            rows.append([code])
            length = len(plain)
    return [", ".join(row) for row in rows]


def _part_items(paper: Paper, aff: Affiliation) -> list[tuple[str, str]]:
    return [(p, t(paper, p)) for p in aff.parts]


def jacow(paper: Paper, rng: random.Random) -> str:
    size = rng.choice(["a4paper", "letterpaper"])
    # authors and their institute on one line, as the JACoW templates (v2) ask; a second
    # affiliation goes into an "also at" footnote. \thanks marks are \fnsymbol: at most 9
    email = rng.random() < 0.6
    funding = rng.random() < 0.3
    notes = int(email) + int(funding)
    for k, member in enumerate(paper.membership):
        if len(member) > 1 and notes + len(member) - 1 <= 9:
            notes += len(member) - 1
        else:
            paper.membership[k] = member[:1]
    groups: list[tuple[int, list[int]]] = []
    for k, member in enumerate(paper.membership):
        if groups and groups[-1][0] == member[0]:
            groups[-1][1].append(k)
        else:
            groups.append((member[0], [k]))
    blocks = []
    for i, people in groups:
        items = []
        for k in people:
            person = paper.authors[k]
            code = t(paper, person.name)
            if email and k == 0:
                code += rf"\thanks{{{_email(person, rng)}}}"
            for j in paper.membership[k][1:]:
                code += rf"\thanks{{also at {t(paper, paper.affiliations[j].line)}}}"
            items.append((person.name, code))
        items += _part_items(paper, paper.affiliations[i])
        blocks.append(",\\\\\n".join(_wrap_rows(items, 72)))
    paper.layout = (f"jacow [{size}], 2-col, uppercase title, each author group followed by "
                    "its institute on the same line" + (", \"also at\" footnotes"
                                                        if notes > int(email) + int(funding)
                                                        else ""))
    paper.keywords = None  # the class has none
    thanks = (r"\thanks{\NoCaseChange{Work supported by the "
              + rng.choice(["European Research Council", "US Department of Energy",
                            "Swiss National Science Foundation", "DFG"]) + ".}}"
              if funding else "")
    fake = _fake_packages({"newtxtt": "zerostyle=d", "newtxmath": "", "tgtermes": ""})
    return rf"""{fake}
\documentclass[{size}]{{jacow}}
{encoding_tex(paper)}
\begin{{document}}
\title{{{title_tex(paper)}{thanks}}}
\author{{{(chr(92) * 2 + chr(10)).join(blocks)}}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def jpsj(paper: Paper, rng: random.Random) -> str:
    kind = rng.choice(["paper", "paper", "onecolumn", "letter", "shortnote"])
    opts = {"paper": "twocolumn", "onecolumn": "", "letter": "letter,twocolumn",
            "shortnote": "shortnote,twocolumn"}[kind]
    label = _numbered(paper)
    single = len(label) == 1
    corresp = rng.random() < 0.6
    names = []
    for k, (person, member) in enumerate(zip(paper.authors, paper.membership, strict=True)):
        mark = "" if single else f"$^{{{','.join(str(label[i]) for i in member)}}}$"
        thanks = rf"\thanks{{E-mail: {_email(person, rng)}}}" if corresp and k == 0 else ""
        names.append(t(paper, person.name) + mark + thanks)
    inst = "\\\\\n".join(("" if single else f"$^{{{n}}}$") + t(paper, paper.affiliations[i].line)
                          for i, n in label.items())
    date = ""
    if rng.random() < 0.6:
        paper.year = rng.randint(1995, 2024)
        date = rf"\recdate{{{MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, {paper.year}}}"
    abstract = rf"\abst{{{abstract_tex(paper)}}}"
    if kind == "shortnote":
        paper.abstract = []  # short notes print no abstract
        abstract = ""
    keywords = rf"\kword{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    paper.layout = (f"jpsj2 [{opts}], " + ("1-col" if kind == "onecolumn" else "2-col")
                    + ", numbered affiliations in italics, "
                    + ("no abstract" if kind == "shortnote" else "unheaded abstract")
                    + ", KEYWORDS line" + (", received date" if date else ""))
    # jpsj2.cls tests \if@twocolumn before \ProcessOptions, so its two-column measures are
    # never applied (the columns touch): set them as it means to
    measures = (r"\setlength{\textwidth}{504pt}\setlength{\textheight}{720pt}"
                r"\setlength{\columnsep}{14pt}\hoffset-23.5pt\setlength{\topmargin}{-1.2cm}"
                if "twocolumn" in opts else "")
    return rf"""\documentclass{"[" + opts + "]" if opts else ""}{{jpsj2}}
{measures}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\title{{{title_tex(paper)}}}
\author{{{and_list(names)}}}
\inst{{{inst}}}
{date}
{abstract}
{keywords}
\begin{{document}}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def apa7(paper: Paper, rng: random.Random) -> str:
    mode = rng.choice(["jou", "jou", "man", "doc"])
    label = _numbered(paper)
    single = len(label) == 1
    marks = "" if single else "[" + ",".join(
        "{" + ",".join(str(label[i]) for i in m) + "}" for m in paper.membership) + "]"
    names = ", ".join(t(paper, a.name) for a in paper.authors)
    affs = ", ".join("{" + t(paper, paper.affiliations[i].line) + "}" for i in label)
    journal = ""
    if mode != "man" and rng.random() < 0.7:
        # the journal header prints the year and the DOI
        paper.year = rng.randint(2010, 2024)
        code = f"{rng.choice(['xge', 'rev', 'dev', 'apl', 'met', 'emo', 'neu'])}" \
               f"{rng.randint(1000, 9999):07d}"
        paper.extra["doi"] = f"10.1037/{code}"
        first = rng.randint(1, 900)
        journal = "\n".join([
            rf"\journal{{{rng.choice(APA_JOURNALS)}}}",
            rf"\volume{{{paper.year}, Vol.~{rng.randint(1, 150)}, No.~{rng.randint(1, 12)}, "
            rf"{first}--{first + rng.randint(8, 30)}}}",
            rf"\ccoppy{{\textcopyright~{paper.year} American Psychological Association}}",
            rf"\copnum{{https://doi.org/{paper.extra['doi']}}}"])
    note = ""
    if rng.random() < 0.6:
        first = paper.authors[0]
        note = (rf"\authornote{{Correspondence concerning this article should be addressed to "
                rf"{t(paper, first.name)}. Email: {_email(first, rng)}}}")
    keywords = rf"\keywords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    paper.layout = (f"apa7 [{mode}], " + {"jou": "2-col journal", "man": "manuscript: title "
                                          "page, abstract on page 2", "doc": "1-col document"}[
        mode] + (", affiliation list" if single else ", numbered affiliation list")
        + (", journal header" if journal else "") + ", italic Keywords line")
    short = " ".join(paper.title_words[:4]).rstrip(":")
    return rf"""\documentclass[{mode}]{{apa7}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\title{{{title_tex(paper)}}}
\shorttitle{{{t(paper, short)}}}
\leftheader{{{t(paper, _running_authors(paper))}}}
\authorsnames{marks}{{{names}}}
\authorsaffiliations{{{affs}}}
{journal}
{note}
\abstract{{{abstract_tex(paper)}}}
{keywords}
\begin{{document}}
\maketitle
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def asce(paper: Paper, rng: random.Random) -> str:
    mode = rng.choice(["Journal", "NewProceedings", "Proceedings"])
    opts = mode + (",NoLists" if mode == "Journal" else "")
    label = _numbered(paper)
    names = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        suffix = ", " + rng.choice(["M.ASCE", "S.M.ASCE", "F.ASCE", "Ph.D.", "P.E."]) \
            if rng.random() < 0.25 else ""
        numbers = ",".join(str(label[i]) for i in member)
        names.append((person.name + suffix + numbers,
                      t(paper, person.name) + suffix + f"$^{{{numbers}}}$"))
    rows = _wrap_rows(names, 70, "and ") if len(names) > 2 else \
        [" and ".join(code for _, code in names)]
    lines = [",\\\\\n".join(rows), "~"]
    for i, number in label.items():
        aff_rows = _wrap_rows(_part_items(paper, paper.affiliations[i]), 68)
        lines.append(f"$^{{{number}}}$" + ",\\\\\n".join(aff_rows))
        people = [paper.authors[k] for k, m in enumerate(paper.membership) if m[0] == i]
        if people and rng.random() < 0.4:
            lines.append(f"Email: {_email(people[0], rng)}")
    keywords = rf"\KeyWords{{{t(paper, ', '.join(paper.keywords))}}}" if paper.keywords else ""
    tag = ""
    if mode != "Journal" and rng.random() < 0.3:
        tag = rf"\NameTag{{{t(paper, _running_authors(paper))}}}"
    paper.layout = (f"ascelike [{opts}], 1-col, "
                    + ("double-spaced with line numbers, " if mode == "Journal" else "")
                    + "membership suffixes after names, numbered affiliation lines, "
                      "ABSTRACT heading" + (", Keywords line" if keywords else ""))
    return rf"""\documentclass[{opts}]{{ascelike}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
{tag}
\title{{{title_tex(paper)}}}
\author{{{(chr(92) * 2 + chr(10)).join(lines)}}}
\begin{{document}}
\maketitle
\begin{{abstract}}
{abstract_tex(paper)}
\end{{abstract}}
{keywords}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def ejpecp(paper: Paper, rng: random.Random) -> str:
    journal = rng.choice(["EJP", "EJP", "ECP"])
    preprint = rng.random() < 0.3
    opts = ",".join([journal, *(["preprint"] if preprint else []), "nobera", "NODS"])
    # affiliations only in footnotes, marked with symbols; a shared one is marked again
    label = _numbered(paper)
    counts = {i: sum(i in m for m in paper.membership) for i in label}
    seen: set[int] = set()
    parts = []
    for person, member in zip(paper.authors, paper.membership, strict=True):
        code = "~".join(t(paper, word) for word in person.name.split(" "))
        for i in member:
            if i in seen:
                code += rf"\footnotemark[{label[i]}]"
                continue
            seen.add(i)
            email = rf" \EMAIL{{{_email(person, rng)}}}" if counts[i] == 1 and \
                rng.random() < 0.6 else ""
            code += rf"\footnote{{{t(paper, paper.affiliations[i].line)}.{email}}}"
        parts.append(code)
    if not paper.keywords:  # the class prints a Keywords line in any case
        paper.keywords = rng.sample(KEYWORDS, rng.randint(3, 6))
    year = rng.randint(2009, 2024)
    submitted = _dates(rng, year - 1)[0]
    accepted = _dates(rng, year)[0]
    number = rng.randint(1, 180)
    doi = f"10.1214/{year % 100:02d}-{journal}{rng.randint(100, 999)}"
    arxiv = ""
    if rng.random() < 0.4:
        yymm = f"{(year - 1) % 100:02d}{rng.randint(1, 12):02d}"
        # four-digit sequence numbers until 1412, five from 1501
        sequence = (f"{rng.randint(1, 9999):04d}" if yymm < "1501"
                    else f"{rng.randint(1, 24999):05d}")
        paper.extra["arxiv_id"] = f"{yymm}.{sequence}"
        arxiv = rf"\ARXIVID{{{paper.extra['arxiv_id']}}}"
    if not preprint:
        # the journal line prints the year and the DOI, the abstract block the dates
        paper.year = year
        paper.extra["doi"] = doi
    msc = [f"{rng.choice(['60', '62', '05', '82', '35'])}{rng.choice('ABCDFGHJK')}"
           f"{rng.randint(5, 99):02d}" for _ in range(2)]
    secondary = rf"\AMSSUBJSECONDARY{{{msc[1]}}}" if rng.random() < 0.5 else ""
    paper.layout = (f"ejpecp [{opts}], 1-col, affiliations only in symbol footnotes, "
                    "Keywords and MSC lines" + ("" if preprint else ", journal line with DOI")
                    + (", arXiv line" if arxiv else ""))
    return rf"""\documentclass[{opts}]{{ejpecp}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\TITLE{{{title_tex(paper)}}}
\SHORTTITLE{{{t(paper, " ".join(paper.title_words[:4]))}}}
\AUTHORS{{{(chr(10) + chr(92) + "and" + chr(10)).join(parts)}}}
\KEYWORDS{{{t(paper, "; ".join(paper.keywords))}}}
\AMSSUBJ{{{msc[0]}}}
{secondary}
\SUBMITTED{{{submitted}}}
\ACCEPTED{{{accepted}}}
\VOLUME{{{year - 1995}}}
\YEAR{{{year}}}
\PAPERNUM{{{number}}}
\DOI{{{doi}}}
{arxiv}
\ABSTRACT{{{abstract_tex(paper)}}}
\begin{{document}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\end{{document}}
"""


def cje(paper: Paper, rng: random.Random) -> str:
    review = rng.random() < 0.3
    groups = _first_only(paper)  # one institution under each author line
    if len(paper.authors) <= 10 and rng.random() < 0.5:
        groups = [(i, [p]) for i, people in groups for p in people]
    blocks = [rf"\author{NUMBER_WORDS[k]}{{{t(paper, and_list([p.name for p in people]))}}}"
              rf"{{{t(paper, paper.affiliations[i].line)}}}" for k, (i, people) in
              enumerate(groups)]
    paper.year = rng.randint(2000, 2024)
    month = rng.randrange(12)
    paper.keywords = None  # a JEL classification instead
    jel = ", ".join(sorted({f"{rng.choice('CDEFGHJLO')}{rng.randint(10, 99)}"
                            for _ in range(rng.randint(2, 4))}))
    thanks = ""
    if rng.random() < 0.5:
        first = paper.authors[0]
        thanks = (rf"\acknowledgements{{Corresponding author: {t(paper, first.name)}, "
                  rf"{_email(first, rng)}. We thank two anonymous referees for their comments.}}")
    paper.layout = ("cje" + (" [review], double-spaced with line numbers" if review else "")
                    + ", 1-col, italic institution under each author line, run-in Abstract, "
                      "French Résumé, JEL line, journal footer")
    return rf"""\documentclass{"[review]" if review else ""}{{cje}}
{encoding_tex(paper)}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\usepackage{{amsthm}}
\pubyear{{{paper.year}}}
\volume{{{paper.year - 1967}}}
\issueno{{{rng.randint(1, 4)}}}
\issn{{0008-4085}}
\monthyearen{{{MONTHS[month]} {paper.year}}}
\monthyearfr{{{t(paper, FR_MONTHS[month].capitalize())} {paper.year}}}
\title[{t(paper, " ".join(paper.title_words[:4]))}]{{{title_tex(paper)}}}
\shortauthor{{{t(paper, _running_authors(paper))}}}
{chr(10).join(blocks)}
\abstract{{{abstract_tex(paper)}}}
\resume{{{t(paper, _french_abstract(rng))}}}
\JEL{{{jel}}}
{thanks}
\begin{{document}}
\maketitle
\label{{firstpage}}
{body_tex(paper, rng)}
{bibliography_tex(paper)}
\label{{lastpage}}
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
    "oup": ("oup-authoring-template.cls", oup, {}),
    "nature": ("nature.cls", nature, {}),
    "pmlr": ("jmlr.cls", jmlr, {}),
    "cas": ("cas-dc.cls", cas, {}),
    "achemso": ("achemso.cls", achemso, {}),
    "quantum": ("quantumarticle.cls", quantum, {}),
    "smfart": ("smfart.cls", smfart, {"max_authors": 9}),
    "ieeeconf": ("IEEEconf.cls", ieeeconf, {"max_authors": 9, "max_affiliations": 4}),
    "aiaa": ("aiaa-tc.cls", aiaa, {"max_authors": 12}),
    "spie": ("spie.cls", spie, {}),
    "kluwer": ("kluwer.cls", kluwer, {}),
    "jacow": ("jacow.cls", jacow, {}),
    "jpsj": ("jpsj2.cls", jpsj, {}),
    "apa7": ("apa7.cls", apa7, {}),
    "asce": ("ascelike.cls", asce, {"max_authors": 12}),
    "ejpecp": ("ejpecp.cls", ejpecp, {}),
    "cje": ("cje.cls", cje, {}),
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
            "doi": paper.extra.get("doi"),
            "arxiv_id": paper.extra.get("arxiv_id"),
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
    for ext in (".aux", ".log", ".out", ".bbl", ".blg", ".spl", ".toc", ".abs"):  # .abs: cas
        tex_path.with_suffix(ext).unlink(missing_ok=True)
    tex_path.with_name(tex_path.stem + "Notes.bib").unlink(missing_ok=True)  # revtex
    tex_path.with_name(f"acs-{tex_path.stem}.bib").unlink(missing_ok=True)  # achemso
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
    write_ground_truth(gt_path, ground_truth(paper, paper_id), out / f"{paper_id}.pdf")
    return paper_id, None


def write_ground_truth(gt_path: Path, record: dict[str, Any], pdf_path: Path) -> None:
    """The record, with the size and digest of the PDF it describes, as `<id>.gt.json`."""
    pdf = pdf_path.read_bytes()
    record["bytes"] = len(pdf)
    record["sha256"] = hashlib.sha256(pdf).hexdigest()
    gt_path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def run_jobs(out: Path, names: Sequence[str], per_name: int,
             one: Callable[[str, int], tuple[str, str | None]],
             workers: int = 2) -> dict[str, str | None]:
    """`one(name, n)` for n = 1..per_name of every name, `workers` at a time: id -> error."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, n) for name in names for n in range(1, per_name + 1)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(lambda job: one(*job), jobs))


def generate(out: Path, templates: Sequence[str], per_template: int, seed: int,
             workers: int = 2) -> dict[str, str | None]:
    return run_jobs(out, templates, per_template,
                    lambda tpl, n: generate_one(out, tpl, seed, n), workers)


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
