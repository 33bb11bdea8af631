from paperflow.evaluate import Counts, normalise, score_paper
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
