"""Errors that say what happened and what to do next.

`PermanentError` subclasses are never retried: the same input fails the same way again.
Anything else (network hiccups, a store that is down) may be retried by the orchestration layer.
"""

from __future__ import annotations


class PaperflowError(Exception):
    """Base class of every error paperflow raises on purpose."""


class PermanentError(PaperflowError):
    """Retrying cannot help: the input or the configuration is wrong."""


class InvalidPdfError(PermanentError):
    """The bytes are not a PDF paperflow can read."""


class EmptyInputError(InvalidPdfError):
    """Zero bytes were given."""


class EncryptedPdfError(InvalidPdfError):
    """The PDF needs a password."""


class DamagedPdfError(InvalidPdfError):
    """MuPDF failed on the file: a broken or crafted structure (cycles, bad xref, nesting)."""


class ResourceLimitError(PermanentError):
    """Parsing went past a CPU, memory or wall-clock limit of the sandbox (`paperflow.sandbox`)."""


class SourceError(PaperflowError):
    """A source could not be fetched; may be transient (HTTP 5xx, timeouts)."""


class SourceNotFoundError(SourceError, PermanentError):
    """The source does not exist (missing file, HTTP 404, unknown arXiv id)."""


class InvalidSourceError(SourceError, PermanentError):
    """The source string is not something paperflow can resolve."""


class StorageError(PaperflowError):
    """Writing or reading stored assets failed."""
