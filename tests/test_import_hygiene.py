"""Only the reader may import Textual: the CLI and the poller must start without it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import carefeed

# Every module outside the reader, found rather than listed (inside packages such as
# carefeed.store and carefeed.cli too), so a new one is checked too.
_NOT_LIBRARY = ("carefeed.tui", "carefeed.demo", "carefeed.__main__")
LIBRARY_MODULES = [
    "carefeed",
    *sorted(
        m.name
        for m in pkgutil.walk_packages(carefeed.__path__, "carefeed.")
        if not any(m.name == p or m.name.startswith(p + ".") for p in _NOT_LIBRARY)
    ),
]


def test_the_module_list_is_found():
    assert {"carefeed.store", "carefeed.topics", "carefeed.query", "carefeed.cli"} <= set(
        LIBRARY_MODULES
    )


@pytest.mark.parametrize("module", LIBRARY_MODULES)
def test_library_module_does_not_import_textual(module: str):
    code = f"import {module}, sys; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False"]
