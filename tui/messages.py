"""Messages the app passes around, named as the events they report."""
from __future__ import annotations

from textual.message import Message

from engine.training.trainer import Snapshot


class SnapshotReady(Message):
    """The trainer published a new snapshot (posted from the worker thread)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        # Only the newest state matters: a backlog of snapshots collapses to the last one.
        return isinstance(message, SnapshotReady)


class SettingChosen(Message):
    """The user picked a setting in the hyperparameter panel to type a value for."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class MessageSaid(Message):
    """Something was said from another thread (`App.notify` is thread-safe): log it on the UI thread."""

    def __init__(self, text: str, title: str, severity: str) -> None:
        super().__init__()
        self.text = text
        self.title = title
        self.severity = severity
