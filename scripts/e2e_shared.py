"""What the e2e scripts beside e2e-guards.py borrow from it (its file name has a hyphen, so it cannot be imported).

    from e2e_shared import borrow_guards
    guards = borrow_guards("e2e-cooldown")   # e2e-guards.py's helpers, with a scratch directory of this script's own
"""
from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def borrow_guards(script_name: str) -> ModuleType:
    """e2e-guards.py loaded as a module: its registry, API server, image and check helpers, reporting as `script_name`
    and working in a fresh kate-<script_name>.* directory (the one it made on import is removed)."""
    spec = importlib.util.spec_from_file_location("e2e_guards", ROOT / "scripts/e2e-guards.py")
    guards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guards)
    shutil.rmtree(guards.work, ignore_errors=True)
    guards.work = Path(tempfile.mkdtemp(prefix=f"kate-{script_name}."))
    guards.script_name = script_name
    return guards
