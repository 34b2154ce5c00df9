"""The dataset picker with its suggested setups, and the table of pinned runs, frozen at
80x24 and 120x40 (see test_snapshots.py for updating them)."""
from __future__ import annotations

from pilot_helpers import make_app


def test_dataset_picker_with_the_overfit_suggestion_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(80, 24), press=["d", "up"])


def test_dataset_picker_with_the_overfit_suggestion_at_120x40(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(120, 40), press=["d", "up"])
