"""Only the reader may import Textual: the CLI and the poller must start without it."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIBRARY_MODULES = [
    "carefeed", "carefeed.model", "carefeed.errors", "carefeed.paths", "carefeed.settings",
    "carefeed.text", "carefeed.urls", "carefeed.opml", "carefeed.fetch", "carefeed.discover",
    "carefeed.parse", "carefeed.decide", "carefeed.store", "carefeed.poller", "carefeed.api",
    "carefeed.cli",
]


@pytest.mark.parametrize("module", LIBRARY_MODULES)
def test_library_module_does_not_import_textual(module: str):
    code = f"import {module}, sys; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False"]
