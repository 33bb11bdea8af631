"""Typed JSON for task results: what goes in comes back equal, and foreign types are refused."""

from __future__ import annotations

import datetime as dt
import enum
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from paperflow import codec, layout
from paperflow.errors import DamagedPdfError, PermanentError
from paperflow.models import Author, Figure
from paperflow.pdf import parse_layout
from paperflow.pipeline import FieldGroup, PaperKey, run_groups
from paperflow.settings import get_settings
from tasks.policy import Timed
from tests.conftest import SAMPLE_PDF


def test_a_parsed_and_analysed_paper_and_its_groups_come_back_equal() -> None:
    data = SAMPLE_PDF.read_bytes()
    doc = layout.analyse_layout(parse_layout(data))
    groups = run_groups(doc, get_settings())
    value = Timed([PaperKey.of(data), doc, groups], started_at=1.5, seconds=0.25)

    blob = codec.dumps(value)
    back = codec.loads(blob)

    assert back == value
    assert back.value[1].front.title == doc.front.title and back.value[1].front.title
    # Types survive, not just values: spans stay hashable tuples-of-floats, authors stay models.
    span = back.value[1].pages[0].blocks[0].lines[0].spans[0]
    assert isinstance(span.bbox, tuple) and hash(span) == hash(doc.pages[0].blocks[0].lines[0]
                                                               .spans[0])
    authors = next(g.fields["authors"] for g in back.value[2] if "authors" in g.fields)
    assert authors and all(isinstance(a, Author) for a in authors)
    assert blob.startswith(b"{") and b"cloudpickle" not in blob


def test_plain_values_of_every_kind_round_trip() -> None:
    value = {
        "tuple": (1, 2.5, "x"), "set": {3, 4}, "bytes": b"\x00\xff", "date": dt.date(2017, 6, 5),
        "when": dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC), "none": None,
        "int keys": {1: "a", (2, 3): "b"}, "$looks like a tag": {"$dc": "not a tag"},
        "figure": Figure(page=1, bbox=(1.0, 2.0, 3.0, 4.0), kind="raster", width=10, height=20,
                         caption="Fig. 1. A plot."),
        "group": FieldGroup("g", {"title": "T", "authors": [Author(name="A B")]}),
    }
    back = codec.loads(codec.dumps(value))
    assert back == value
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    restored = codec.loads(codec.dumps({"a": array, "scalar": np.float32(0.5)}))
    assert restored["a"].dtype == np.float32 and (restored["a"] == array).all()
    assert restored["scalar"] == 0.5


def test_exceptions_come_back_as_their_class_with_their_message() -> None:
    back = codec.loads(codec.dumps([DamagedPdfError("cycle in page tree"), ValueError("v")]))
    assert isinstance(back[0], DamagedPdfError) and isinstance(back[0], PermanentError)
    assert str(back[0]) == "cycle in page tree"
    assert type(back[1]) is ValueError and str(back[1]) == "v"
    foreign = {"$exc": ["somewhere.else:Boom", "it broke"]}
    restored = codec.loads(json.dumps(foreign))
    assert isinstance(restored, codec.RestoredError) and "Boom: it broke" in str(restored)


@pytest.mark.parametrize("payload", [
    {"$dc": ["os:system", ["touch /tmp/x"], []]},
    {"$dc": ["subprocess:Popen", [["touch", "/tmp/x"]], []]},
    {"$model": ["builtins:eval", "1+1"]},
    {"$enum": ["pathlib:Path", "/"]},
    [{"ok": 1}, {"$dc": ["shutil:rmtree", ["/"], []]}],
    {"$what": 1},
])
def test_types_from_outside_the_project_are_refused(payload: object) -> None:
    with pytest.raises(codec.UntrustedPayloadError):
        codec.loads(json.dumps(payload))


def test_a_pickle_is_not_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    blob = pickle.dumps(Planted())
    with pytest.raises(codec.UntrustedPayloadError, match="not JSON"):
        codec.loads(blob)
    assert not marker.exists()


def test_a_project_class_that_is_not_a_dataclass_is_refused() -> None:
    with pytest.raises(codec.UntrustedPayloadError, match="not a dataclass"):
        codec.loads(json.dumps({"$dc": ["paperflow.settings:Settings", [], []]}))


def test_what_it_cannot_carry_is_named() -> None:
    with pytest.raises(TypeError, match="cannot store a pathlib"):
        codec.dumps(Path("/tmp"))


STORED_BLOCK = (
    '{"block":{"$dc":["paperflow.pdf:Block",[[{"$dc":["paperflow.pdf:Line",[[{"$dc":['
    '"paperflow.pdf:Span",["Hi",{"$tuple":[1.0,2.0,3.0,4.0]},10.0,"Times",0],[]]}],{"$tuple":'
    '[1.0,2.0,3.0,4.0]}],[]]}],{"$tuple":[1.0,2.0,3.0,4.0]},0,"title",""],[]]},'
    '"n":{"$tuple":[1,null]}}')
"""A record as the codec has always written it (results already in stores must keep loading)."""


def test_records_already_stored_load_and_encode_to_the_same_bytes() -> None:
    value = codec.loads(STORED_BLOCK)
    span = value["block"].lines[0].spans[0]
    assert (span.text, span.bbox, span.size, span.font) == ("Hi", (1.0, 2.0, 3.0, 4.0), 10.0,
                                                            "Times")
    assert value["block"].role == "title" and value["n"] == (1, None)
    assert codec.dumps(value).decode() == STORED_BLOCK


class Colour(enum.StrEnum):
    RED = "red"


def test_a_str_enum_is_tagged_not_written_as_its_string() -> None:
    # An enum that is also a str must not take the plain-string path, in a list or alone.
    name = f"{__name__}:Colour"
    assert codec.encode([Colour.RED, "red"]) == [{"$enum": [name, "red"]}, "red"]
    assert codec.encode({"c": Colour.RED}) == {"c": {"$enum": [name, "red"]}}


def test_a_record_with_other_fields_than_the_class_is_refused() -> None:
    short = STORED_BLOCK.replace(',"Times",0]', ',"Times"]')
    with pytest.raises(codec.UntrustedPayloadError, match=r"paperflow\.pdf:Span.*4 \+ 0 fields"):
        codec.loads(short)
