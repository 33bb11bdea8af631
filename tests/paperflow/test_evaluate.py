import json
from pathlib import Path

from paperflow.evaluate import (
    Counts,
    count_papers,
    evaluate,
    evaluate_many,
    normalise,
    score_paper,
)
from paperflow.models import Author, Figure, PaperMetadataExtraction, Reference

GT = {
    "title": "SPECTER: Document-level Representation Learning",
    "authors": ["Arman Cohan", "Sergey Feldman", "Iz Beltagy"],
    "affiliations": ["Allen Institute for AI"],
    "abstract": "Representation learning is critical.",
    "keywords": ["embeddings", "citations"],
    "n_references": 20,
    "figure_captions": [{"label": "Figure 1", "page": 2, "caption_start": "Overview of SPECTER."}],
    "doi": None,
    "arxiv_id": None,
    "year": 2020,
}


def _result(**fields: object) -> PaperMetadataExtraction:
    return PaperMetadataExtraction(sha256="0" * 64, size_bytes=1, page_count=1, **fields)


def test_normalise_folds_case_accents_punctuation() -> None:
    assert normalise("  Étude: the “Best”—Method! ") == "etude the best method"


def test_counts_f1() -> None:
    counts = Counts(correct=8, predicted=10, expected=16)
    assert counts.precision == 0.8 and counts.recall == 0.5
    assert round(counts.f1, 4) == round(2 * 0.8 * 0.5 / 1.3, 4)
    assert Counts().f1 == 0.0


def test_score_paper_exact_and_soft() -> None:
    result = _result(
        title="SPECTER: Document level representation learning",
        authors=[Author(name="Arman Cohan"), Author(name="Sergey Feldmann"),
                 Author(name="Someone Else")],
        abstract="Representation learning is critical!",
        keywords=["embeddings", "graphs"], keywords_printed=True,
        references=[Reference(raw=f"r{i}") for i in range(19)],
        figures=[Figure(label="Figure 1", page=2, bbox=(0, 0, 1, 1), kind="raster", width=1,
                        height=1, caption="Overview of SPECTER. More text", caption_source="pdf")],
        year=2020,
    )
    score = score_paper("p", result, GT, 0.1)
    exact, soft = score.fields["exact"], score.fields["soft"]
    assert exact["title"] == (1, 1, 1)
    assert exact["authors"] == (1, 3, 3) and soft["authors"] == (2, 3, 3)
    assert exact["abstract"] == (1, 1, 1)
    assert exact["keywords"] == (1, 2, 2)
    assert exact["references"] == (0, 1, 1) and soft["references"] == (1, 1, 1)
    assert exact["figure_captions"] == (1, 1, 1)
    assert exact["year"] == (1, 1, 1)
    assert exact["doi"] == (0, 0, 0)
    assert exact["affiliations"] == (0, 0, 1)


def test_printed_keywords_only() -> None:
    result = _result(keywords=["embeddings"], keywords_printed=False)
    assert score_paper("p", result, GT, 0.1).fields["exact"]["keywords"] == (0, 0, 2)


def _write_paper(folder: Path, paper_id: str, content: bytes, template: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{paper_id}.pdf").write_bytes(content)
    record: dict[str, object] = {"id": paper_id, "file": f"{paper_id}.pdf", "gt": GT}
    if template:
        record["template"] = template
    (folder / f"{paper_id}.gt.json").write_text(json.dumps(record))


def _fake_extract(pdf: bytes) -> PaperMetadataExtraction:
    """b"good": title and authors right; b"bad": wrong title, no authors; else an error."""
    if pdf == b"good":
        return _result(title=GT["title"], authors=[Author(name="Arman Cohan"),
                                                   Author(name="Sergey Feldman")])
    if pdf == b"bad":
        return _result(title="Something else entirely")
    raise ValueError("not a PDF")


def test_report_groups_by_template_else_folder(tmp_path: Path) -> None:
    corpus, eval_dir = tmp_path / "corpus", tmp_path / "eval"
    _write_paper(corpus, "ieeetran_1", b"good", "ieeetran")
    _write_paper(corpus, "ieeetran_2", b"bad", "ieeetran")
    _write_paper(corpus, "llncs_1", b"good", "llncs")
    _write_paper(eval_dir, "V01", b"bad", None)
    _write_paper(eval_dir, "V02", b"broken", None)

    assert count_papers([corpus, eval_dir]) == 5
    assert count_papers([corpus, eval_dir], only=["ieeetran", "V02"]) == 3
    seen: list[str] = []
    report = evaluate_many([corpus, eval_dir], _fake_extract, progress=seen.append)
    assert seen == ["ieeetran_1", "ieeetran_2", "llncs_1", "V01", "V02"]

    groups = report.groups()
    assert list(groups) == ["ieeetran", "llncs", "eval"]
    assert [p.paper_id for p in groups["ieeetran"]] == ["ieeetran_1", "ieeetran_2"]
    assert [p.paper_id for p in groups["eval"]] == ["V01", "V02"]
    assert groups["eval"][1].error == "not a PDF"

    title = {name: report.totals("soft", name)["title"] for name in groups}
    assert (title["ieeetran"].correct, title["ieeetran"].predicted,
            title["ieeetran"].expected) == (1, 2, 2)
    assert title["llncs"].f1 == 1.0
    assert title["eval"].f1 == 0.0
    total = report.totals("soft")["title"]
    assert (total.correct, total.predicted, total.expected) == (2, 4, 4)
    authors = report.totals("soft", "llncs")["authors"]
    assert (authors.correct, authors.predicted, authors.expected) == (2, 2, 3)

    table = report.group_table().splitlines()
    assert table[0].startswith("| template | papers | errors | title | authors |")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    assert list(rows) == ["ieeetran", "llncs", "eval", "**total**"]
    assert rows["ieeetran"].startswith("| ieeetran | 2 | 0 | 50.0 | ")
    assert rows["llncs"].startswith("| llncs | 1 | 0 | 100.0 | 80.0 | ")
    assert rows["eval"].startswith("| eval | 2 | 1 | 0.0 | 0.0 | ")
    assert rows["**total**"].startswith("| **total** | 5 | 1 | 50.0 | ")
    assert " - |" in rows["llncs"]  # doi: neither expected nor predicted

    data = report.to_dict()
    assert set(data["templates"]) == {"ieeetran", "llncs", "eval"}
    assert data["templates"]["ieeetran"]["papers"] == 2
    assert data["templates"]["eval"]["errors"] == 1
    assert data["templates"]["ieeetran"]["soft"]["title"]["f1"] == 0.5
    assert data["templates"]["llncs"]["exact"]["title"]["f1"] == 1.0
    assert data["soft"]["title"]["f1"] == 0.5
    assert [(p["id"], p["template"]) for p in data["papers"]] == [
        ("ieeetran_1", "ieeetran"), ("ieeetran_2", "ieeetran"), ("llncs_1", "llncs"),
        ("V01", "eval"), ("V02", "eval")]


def test_single_folder_is_one_group_named_after_it(tmp_path: Path) -> None:
    folder = tmp_path / "shared" / "eval"
    _write_paper(folder, "V01", b"good", None)
    report = evaluate(folder, _fake_extract, only=["V01"])
    assert list(report.groups()) == ["eval"]
    assert report.totals("exact", "eval")["title"].f1 == 1.0
    assert report.totals("exact", "other")["title"].expected == 0
