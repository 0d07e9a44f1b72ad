"""The ``haybale`` console-script entry point."""

from __future__ import annotations

import gc
import sys

import pytest

from haybale.cli.main import main


def test_main_freezes_the_heap_when_the_command_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shutdown collections then skip every object alive at the end (torch's and transformers' included)."""
    gc.unfreeze()
    monkeypatch.setattr(sys, "argv", ["haybale", "--version"])
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code in (0, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
