"""Hostile input: every crafted or damaged PDF ends in a clear, picklable paperflow error or a
degraded result, inside the sandbox's CPU, memory and wall-clock limits (a hang or a memory
blow-up becomes a `ResourceLimitError`, never a stuck test or a dead worker).
"""

from __future__ import annotations

import os
import pickle
import re
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from paperflow import sandbox
from paperflow.errors import (
    DamagedPdfError,
    EmptyInputError,
    EncryptedPdfError,
    InvalidPdfError,
    PaperflowError,
    PermanentError,
    ResourceLimitError,
)
from paperflow.pdf import ParsedDocument, mupdf_failure
from paperflow.settings import Settings
from tests import hostile
from tests.pdfs import make_paper

# Children fork from a server that has imported all of this once (milliseconds per case).
sandbox.preload("paperflow.pipeline", "paperflow.preview", "tests.hostile", __name__)

MB = 1024 * 1024
SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "webb2017-vespa-peerjcs.pdf"
LIMITS = {"cpu_seconds": 5.0, "memory_bytes": 1536 * MB, "wall_seconds": 60.0}
RAW_MARKERS = ("FzError", "code=", "Swig", "mupdf::", "pymupdf.")


@dataclass
class Failure:
    """An exception raised in the child, described there (its type may not even pickle)."""

    step: str
    type_name: str
    message: str
    is_paperflow: bool
    pickled: bytes | None


@dataclass
class Outcome:
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    page_count: int | None = None
    peak_rss_mb: float = 0.0


def _describe(step: str, exc: BaseException) -> Failure:
    try:
        pickled: bytes | None = pickle.dumps(exc)
    except Exception:
        pickled = None
    return Failure(step, f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc),
                   isinstance(exc, PaperflowError), pickled)


def process(data: bytes, max_pages: int = 1500, preview: bool = True) -> Outcome:
    """Runs in the sandboxed child: the whole extraction, then the first-page preview."""
    from paperflow.pipeline import extract_paper
    from paperflow.preview import render_preview

    outcome = Outcome()
    try:
        result = extract_paper(data, Settings(max_pages=max_pages))
        outcome.warnings, outcome.page_count = list(result.warnings), result.page_count
    except Exception as exc:
        outcome.failures.append(_describe("extract_paper", exc))
    if preview:
        try:
            render_preview(data, 600)
        except Exception as exc:
            outcome.failures.append(_describe("render_preview", exc))
    outcome.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return outcome


def process_case(name: str) -> Outcome:
    return process(hostile.CASES[name]())


def check(outcome: Outcome) -> None:
    """The rule for every hostile input."""
    for failure in outcome.failures:
        assert failure.is_paperflow, f"{failure.step} raised {failure.type_name}: {failure.message}"
        assert failure.pickled is not None, f"{failure.type_name} does not pickle"
        restored = pickle.loads(failure.pickled)
        assert isinstance(restored, PaperflowError) and str(restored) == failure.message
        assert len(failure.message) > 30, failure.message
        assert not any(marker in failure.message for marker in RAW_MARKERS), failure.message
    for warning in outcome.warnings:
        assert not any(marker in warning for marker in RAW_MARKERS), warning


def run_sandboxed(func: object, *args: object) -> Outcome:
    try:
        return sandbox.run_limited(func, *args, **LIMITS)  # type: ignore[arg-type]
    except ResourceLimitError as exc:  # a limit hit is a clear, permanent outcome too
        pickle.loads(pickle.dumps(exc))
        return Outcome([_describe("sandbox", exc)])


EXPECTED: dict[str, tuple[type[PaperflowError], str]] = {
    "empty": (EmptyInputError, "empty"),
    "html_page": (InvalidPdfError, "HTML page"),
    "png_renamed": (InvalidPdfError, "PNG image"),
    "header_only": (DamagedPdfError, "MuPDF could not open the PDF"),
    "cyclic_page_tree": (DamagedPdfError, r"read the page tree \(a cycle in the page tree\)"),
    "cyclic_page_tree_two_levels": (DamagedPdfError, "a cycle in the page tree"),
    "cyclic_parent_chain": (DamagedPdfError, "Parent chain"),
    "declared_100k_pages": (DamagedPdfError, "impossible number of pages"),
    "absurd_page_count": (DamagedPdfError, "impossible number of pages"),
    "deeply_nested_graphics_states": (DamagedPdfError, "too many nested graphics states"),
    "encrypted_user_password": (EncryptedPdfError, "password"),
    "encrypted_rc4_broken_dictionary": (DamagedPdfError, "encryption dictionary"),
    "truncated_at_10_percent": (InvalidPdfError, "truncated"),
    "truncated_at_50_percent": (InvalidPdfError, "truncated"),
    "truncated_at_90_percent": (InvalidPdfError, "truncated"),
    # 3,000 copies of one line in one block: the text heuristics need minutes of CPU for it.
    "many_contents": (ResourceLimitError, r"more than 5 s of CPU"),
}
READABLE = {"broken_xref", "xref_past_end", "no_xref_table", "xref_prev_loop",
            "cyclic_object_references", "javascript_open_action", "launch_action",
            "encrypted_owner_password_only", "truncated_before_eof", "decompression_bomb"}
"""Damaged or hostile, but MuPDF repairs or ignores the damage: the text must come out."""


def test_the_corpus_is_large_enough() -> None:
    assert len(hostile.CASES) >= 30
    assert all(hostile.CASES[name] for name in (*EXPECTED, *READABLE))


@pytest.mark.parametrize("name", sorted(hostile.CASES))
def test_hostile_pdf(name: str) -> None:
    outcome = run_sandboxed(process_case, name)
    check(outcome)
    assert outcome.peak_rss_mb < LIMITS["memory_bytes"] / MB or outcome.failures
    if name in EXPECTED:
        kind, pattern = EXPECTED[name]
        assert outcome.failures, f"{name} should fail with {kind.__name__}"
        first = pickle.loads(outcome.failures[0].pickled or b"")
        assert isinstance(first, kind), f"{name}: {type(first).__name__}: {first}"
        assert re.search(pattern, str(first)), str(first)
        assert "submit it again" in str(first) or not isinstance(first, DamagedPdfError)
    if name in READABLE:
        assert not outcome.failures, outcome.failures
        assert outcome.page_count and outcome.page_count >= 1


MUTATION = st.tuples(
    st.sampled_from(["flip", "delete", "duplicate", "zero"]),
    st.floats(min_value=0.0, max_value=1.0),
    st.integers(min_value=1, max_value=4096),
    st.integers(min_value=1, max_value=255),
)


def mutate(data: bytes, mutations: list[tuple[str, float, int, int]]) -> bytes:
    """Flip, delete, duplicate or zero byte ranges (positions as fractions of the length)."""
    out = bytearray(data)
    for op, where, length, value in mutations:
        start = min(int(where * len(out)), max(len(out) - 1, 0))
        end = min(start + length, len(out))
        if op == "flip":
            out[start:end] = bytes(b ^ value for b in out[start:end])
        elif op == "delete":
            del out[start:end]
        elif op == "duplicate":
            out[start:start] = out[start:end]
        else:
            out[start:end] = bytes(end - start)
    return bytes(out)


def process_mutant(mutations: list[tuple[str, float, int, int]]) -> Outcome:
    """Runs in the child: the sample paper, mutated (its first 3 pages, no preview)."""
    return process(mutate(SAMPLE_PDF.read_bytes(), mutations), max_pages=3, preview=False)


@hypothesis_settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_sample_fails_cleanly_or_degrades(
    mutations: list[tuple[str, float, int, int]],
) -> None:
    check(run_sandboxed(process_mutant, mutations))


def test_mutate_changes_the_bytes() -> None:
    data = bytes(range(200))
    assert mutate(data, [("delete", 0.5, 10, 1)]) == data[:100] + data[110:]
    assert mutate(data, [("duplicate", 0.0, 3, 1)]) == data[:3] + data
    assert mutate(data, [("zero", 0.0, 2, 1)])[:3] == b"\x00\x00\x02"
    assert mutate(data, [("flip", 0.0, 1, 255)])[0] == 255


# --- the sandbox itself ----------------------------------------------------------------------

def spin() -> None:
    while True:
        pass


def allocate(megabytes: int) -> int:
    blocks = [bytearray(MB) for _ in range(megabytes)]
    return len(blocks)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def fail_with(exc: BaseException) -> None:
    raise exc


class Unpicklable(Exception):
    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def raise_unpicklable() -> None:
    raise Unpicklable("x", "y")


def abort() -> None:
    os.abort()


def add(a: int, b: int) -> int:
    return a + b


def _cannot_rebuild() -> None:
    raise TypeError("this value cannot be rebuilt")


class Unrebuildable:
    """Pickles, but unpickling it fails."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _cannot_rebuild, ()


def return_unrebuildable() -> Unrebuildable:
    return Unrebuildable()


def test_sandbox_returns_the_result() -> None:
    assert sandbox.run_limited(add, 2, 3, cpu_seconds=5, memory_bytes=1024 * MB,
                               wall_seconds=30) == 5


def test_sandbox_result_that_cannot_be_rebuilt_is_a_clear_error() -> None:
    """The child checks only exceptions by rebuilding them; a result that pickles but cannot be
    rebuilt is caught where it is read back."""
    with pytest.raises(PermanentError, match=r"cannot be read back.*cannot be rebuilt"):
        sandbox.run_limited(return_unrebuildable, cpu_seconds=5, memory_bytes=1024 * MB,
                            wall_seconds=30)


def test_sandbox_stops_a_cpu_loop() -> None:
    with pytest.raises(ResourceLimitError, match=r"more than 1 s of CPU") as error:
        sandbox.run_limited(spin, cpu_seconds=1, memory_bytes=1024 * MB, wall_seconds=60)
    assert "PAPERFLOW_PARSE_CPU_SECONDS" in str(error.value)
    pickle.loads(pickle.dumps(error.value))


def test_sandbox_stops_a_memory_blow_up() -> None:
    with pytest.raises(ResourceLimitError, match=r"more than 1024 MB of memory"):
        sandbox.run_limited(allocate, 4096, cpu_seconds=30, memory_bytes=1024 * MB,
                            wall_seconds=60)


def test_sandbox_stops_a_hang_by_the_wall_clock() -> None:
    with pytest.raises(ResourceLimitError, match=r"more than 1 s of wall-clock time"):
        sandbox.run_limited(sleep, 120, cpu_seconds=30, memory_bytes=1024 * MB,
                            wall_seconds=1)


def test_sandbox_reraises_the_childs_exception() -> None:
    with pytest.raises(EncryptedPdfError, match="needs a password"):
        sandbox.run_limited(fail_with, EncryptedPdfError("needs a password"), cpu_seconds=5,
                            memory_bytes=1024 * MB, wall_seconds=30)
    with pytest.raises(ValueError, match="plain"):
        sandbox.run_limited(fail_with, ValueError("plain"), cpu_seconds=5,
                            memory_bytes=1024 * MB, wall_seconds=30)
    with pytest.raises(PermanentError, match=r"Unpicklable: x/y"):
        sandbox.run_limited(raise_unpicklable, cpu_seconds=5, memory_bytes=1024 * MB,
                            wall_seconds=30)


def test_sandbox_reports_a_crash() -> None:
    with pytest.raises(ResourceLimitError, match=r"crashed \(SIGABRT\)"):
        sandbox.run_limited(abort, cpu_seconds=5, memory_bytes=1024 * MB, wall_seconds=30)


def test_parse_layout_limited_reads_a_paper_and_refuses_a_bomb() -> None:
    settings = Settings(parse_cpu_seconds=30, parse_memory_mb=1024, parse_wall_seconds=60)
    doc = sandbox.parse_layout_limited(make_paper(title="Sandboxed Parsing"), 10, settings)
    assert isinstance(doc, ParsedDocument) and "Sandboxed Parsing" in doc.text
    assert doc.front is None
    # The flow's parse: analysed in the same child, and under the same limits.
    analysed = sandbox.parse_layout_limited(make_paper(title="Sandboxed Parsing"), 10, settings,
                                            defer_ocr=True, analyse=True)
    assert analysed.front is not None and analysed.front.title == "Sandboxed Parsing"
    with pytest.raises(DamagedPdfError, match="a cycle in the page tree"):
        sandbox.parse_layout_limited(hostile.cyclic_page_tree(), 10, settings)
    with pytest.raises(DamagedPdfError, match="a cycle in the page tree"):
        sandbox.parse_layout_limited(hostile.cyclic_page_tree(), 10, settings, analyse=True)


def test_mupdf_failures_read_as_words() -> None:
    import pymupdf

    error = mupdf_failure(RuntimeError("code=7: Invalid number of pages"))
    assert "impossible number of pages" in str(error) and "qpdf --recover" in str(error)
    try:
        pymupdf.open(stream=hostile.header_only(), filetype="pdf")
    except Exception as exc:
        wrapped = mupdf_failure(exc, "open the PDF")
        assert isinstance(pickle.loads(pickle.dumps(wrapped)), DamagedPdfError)
        assert not any(marker in str(wrapped) for marker in RAW_MARKERS)
    else:
        pytest.fail("PyMuPDF opened a file with no objects")
