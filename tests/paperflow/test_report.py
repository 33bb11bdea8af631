from paperflow.models import Author, Highlight, PaperMetadataExtraction, Reference
from paperflow.report import artifact_key, markdown_report, references_table, text_summary


def _result() -> PaperMetadataExtraction:
    return PaperMetadataExtraction(
        sha256="ab" * 32, size_bytes=2048, page_count=3, title="A | Title",
        authors=[Author(name="Ada Lovelace")], abstract="An abstract.",
        keywords=["x"], keywords_printed=True,
        references=[Reference(raw="r", title="Ref | One", authors=["A", "B", "C", "D", "E"],
                              year=2020)],
        highlights=[Highlight(quote="We show things.", annotation="Result", type="result",
                              page=2, verified=True)],
        warnings=["Page 3 has no text layer."],
    )


def test_artifact_keys_are_sanitised() -> None:
    assert artifact_key("Paper", "2304.02623v1_ABC") == "paper-2304-02623v1-abc"
    assert artifact_key("--") == "paper"
    assert len(artifact_key("x" * 300)) <= 100


def test_markdown_report_sections() -> None:
    text = markdown_report(_result())
    assert text.startswith("# A | Title")
    for section in ("**Authors:** Ada Lovelace", "## Abstract", "## Highlights",
                    "| references | 1 |", "## Warnings", "**Keywords:** x"):
        assert section in text, section


def test_references_table_escapes_and_truncates() -> None:
    row = references_table(_result())[0]
    assert row["title"] == "Ref \\| One" and row["authors"] == "A, B, C, D et al."
    assert row["year"] == "2020"


def test_text_summary() -> None:
    text = text_summary(_result())
    assert "Title:      A | Title" in text and "1 references" in text and "Warning:" in text
