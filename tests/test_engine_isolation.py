"""The engine and the datasets never import the UI: they run headless, in scripts and in the
trainer's thread, and `import engine as torch` stays as light as numpy.

Checked in a fresh interpreter, since this test process may already have imported the UI.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
UI_MODULES = ("textual", "rich", "plotext")

PROBE = f"""
import json, sys
import engine, engine.nn, engine.optim, data
loaded = sorted({{name.split('.')[0] for name in sys.modules}} & set({list(UI_MODULES)!r}))
print(json.dumps(loaded))
"""


def test_engine_and_data_import_without_the_ui():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing engine/data pulled in UI libraries: {loaded}"
