"""One error family, translated into a single `Error: …` line by the CLI.

Every error knows where it happened (file, line, column) so a user can jump there;
library code raises, only `kg.cli` prints and exits.
"""
from __future__ import annotations

from pathlib import Path


class KGError(Exception):
    """Base error: a message plus the place it refers to and an optional hint."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.hint = hint

    def where(self) -> str:
        parts = [p for p in (self.path, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class IngestError(KGError):
    """A document cannot be read: missing, empty, binary or undecodable."""


class CurationError(KGError):
    """A hand decision is malformed, unknown or in conflict with another."""


class QueryError(KGError):
    """A SPARQL query cannot be parsed or run."""


class ConfigError(KGError):
    """A data file (lexicon, patterns, gold) is malformed."""
