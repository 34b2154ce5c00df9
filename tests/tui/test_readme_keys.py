"""The README's table of keys is true: every key the trainer screen binds is in it."""
from __future__ import annotations

from pathlib import Path

from tui.app import KEY_NAMES, KeplerApp, key_label

README = Path(__file__).resolve().parents[2] / "README.md"


def keys_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Keys")
    return text[start:text.index("\n#", start + 1)]


def test_every_binding_of_the_trainer_screen_is_in_the_readme():
    table = keys_section()
    for binding in KeplerApp.BINDINGS:
        for key in binding.key.split(","):
            assert f"`{KEY_NAMES.get(key, key)}`" in table, key
    assert "kepler --lesson" in README.read_text(encoding="utf-8")


def test_the_help_names_the_rewind_keys_as_typed():
    assert key_label("backspace,comma") == "backspace or ,"
    assert key_label("plus,equals_sign") == "+ or ="
