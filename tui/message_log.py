"""Everything the app has said this session, in order: the one place messages go.

Messages never float over the panels (a toast would sit on the very plot a preset's story
introduces). The trainer screen's message line shows the newest one, in as many whole
words as fit; the message screen (`M`) lists them all in full. UI-free: the app appends,
widgets read.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGES = 500  # a long class: the oldest go first
SEVERITY_MARKS = {"information": "·", "warning": "⚠", "error": "✖"}


@dataclass(frozen=True)
class Said:
    """One message: its number in the session, what it says, under which title, how loud."""

    number: int
    text: str
    title: str = ""
    severity: str = "information"  # information | warning | error

    @property
    def mark(self) -> str:
        """Severity as a shape (colours vanish under NO_COLOR)."""
        return SEVERITY_MARKS.get(self.severity, "·")

    @property
    def heading(self) -> str:
        return f"{self.title}: " if self.title else ""


class MessageLog:
    def __init__(self, limit: int = MAX_MESSAGES) -> None:
        self.limit = limit
        self.messages: list[Said] = []
        self.count = 0  # messages ever said (numbers stay unique when old ones are dropped)

    def add(self, text: str, title: str = "", severity: str = "information") -> Said:
        self.count += 1
        said = Said(self.count, " ".join(str(text).split()), " ".join(str(title).split()), severity)
        self.messages.append(said)
        del self.messages[:-self.limit]
        return said

    @property
    def latest(self) -> Said | None:
        return self.messages[-1] if self.messages else None

    def since(self, number: int) -> list[Said]:
        """The messages said after message `number`."""
        return [m for m in self.messages if m.number > number]

    def __iter__(self):
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)


def fit_words(text: str, width: int, more: str = " …") -> str:
    """`text` if it fits in `width` cells, else as many whole words as fit followed by
    `more` (which says where the rest is): a shorter sentence, never a word cut in half."""
    if len(text) <= width:
        return text
    room = width - len(more)
    words, kept = text.split(" "), ""
    for word in words:
        candidate = f"{kept} {word}" if kept else word
        if len(candidate) > room:
            break
        kept = candidate
    return (kept.rstrip(" ,;:") + more) if kept else more.strip()[:width]
