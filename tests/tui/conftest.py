"""The `app` fixture: the default lesson with an inline (step-by-step) trainer."""
from __future__ import annotations

import pytest

from pilot_helpers import make_app
from tui.app import KeplerApp


@pytest.fixture
def app() -> KeplerApp:
    return make_app()
