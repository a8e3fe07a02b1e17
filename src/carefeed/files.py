"""Files carefeed writes for the user (briefings, OPML exports), written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from carefeed.errors import CarefeedError


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename, so a
    reader of ``path`` never sees half a file; a missing folder is an error, not created."""
    folder = path.parent
    if path.is_dir():
        raise CarefeedError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise CarefeedError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=folder, prefix=f".{path.name}.", delete=False
        ) as handle:
            temp = Path(handle.name)
            try:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                handle.close()
                temp.unlink(missing_ok=True)
                raise
        try:
            temp.chmod(mode)
            temp.replace(path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CarefeedError(f"cannot write {path}: {exc.strerror or exc}") from None
