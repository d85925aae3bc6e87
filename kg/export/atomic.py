"""Atomic file writes: an interrupted build never leaves a half-written output behind."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def _shareable(path: Path | str) -> None:
    """mkstemp creates 0600 files; an output should get the mode any new file gets (umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write(path: Path | str, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _shareable(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextmanager
def atomic_outputs(out_dir: Path | str) -> Iterator[Callable[[str], Path]]:
    """Stage several files in `out_dir`; they replace their targets only if the block succeeds.

    The block gets `stage(name) -> Path`, a temporary path to write `name` to. On any error
    every staged file is removed and the previous outputs stay as they were, so a build never
    leaves a new kg.ttl next to an old kg.jsonld.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []

    def stage(name: str) -> Path:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".staged", dir=out)
        os.close(fd)
        staged.append((Path(tmp), out / name))
        return Path(tmp)

    try:
        yield stage
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        _shareable(tmp)  # writers that bring their own temporary file leave it 0600
        os.replace(tmp, target)
