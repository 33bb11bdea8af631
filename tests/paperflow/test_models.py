import json

import pytest
from pydantic import ValidationError

from paperflow.models import SCHEMA_VERSION, PaperMetadataExtraction, json_schema, json_schema_text


def test_schema_export_names_every_field() -> None:
    schema = json_schema()
    assert SCHEMA_VERSION in schema["$id"]
    for name in ("title", "authors", "summary_citations", "references", "highlights", "figures",
                 "preview", "provenance", "timings", "versions", "sha256", "page_count"):
        assert name in schema["properties"], name
    assert json.loads(json_schema_text()) == schema


def test_unknown_fields_and_bad_provenance_are_rejected() -> None:
    base = {"sha256": "0" * 64, "size_bytes": 1, "page_count": 1}
    PaperMetadataExtraction(**base, provenance={"title": "pdf"})
    with pytest.raises(ValidationError):
        PaperMetadataExtraction(**base, provenance={"title": "guess"})
    with pytest.raises(ValidationError):
        PaperMetadataExtraction(**base, unexpected=1)
