"""The connectors' exceptions: one tree, so a caller can catch everything a load can raise.

::

    ConnectorError            base: anything a connector refuses to do
     ├── MappingError         the mapping file is wrong (names the file and the key path)
     └── SourceError          the source cannot be read (missing file, bad encoding, DB down)

A bad *row* is never an exception: it is counted in the load's ``LoadReport`` and the load goes
on. Messages name files, key paths and column names, never a value read from a source.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConnectorError", "MappingError", "SourceError"]


class ConnectorError(Exception):
    """Base of every error a connector raises."""


class MappingError(ConnectorError):
    """A mapping file that cannot be used: ``key_path`` (e.g. ``identifiers[2].type``) says
    where in ``mapping_file`` the problem is, ``problem`` what is wrong and what is allowed."""

    def __init__(self, mapping_file: Path | str, key_path: str, problem: str) -> None:
        self.mapping_file = Path(mapping_file)
        self.key_path = key_path
        self.problem = problem
        where = f"{self.mapping_file}: {key_path}" if key_path else str(self.mapping_file)
        super().__init__(f"{where}: {problem}")


class SourceError(ConnectorError):
    """A source that cannot be read as a whole. ``source`` describes it (a file path, or a
    database URL with any password masked)."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")
