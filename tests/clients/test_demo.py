"""scripts/demo.sh as a test: green when kate works, red (naming the step) when it does not, and it
leaves no process behind either way."""
from __future__ import annotations

import os
import subprocess

from conftest import ROOT


def run_demo(**env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, **env)
    return subprocess.run(["bash", str(ROOT / "scripts/demo.sh")], capture_output=True, text=True, env=environment, timeout=120)


def leftovers() -> str:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return "\n".join(line for line in ps.splitlines() if "kate-demo." in line)


def test_the_demo_passes_every_expectation():
    run = run_demo()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "demo: all 11 expectations met" in run.stdout
    assert run.stdout.count("tag-moved  would restart Deployment/web") == 2
    assert "StaleImageRestarted" in run.stdout and "2 current" in run.stdout
    assert leftovers() == ""


def test_the_demo_fails_when_the_webhook_does_not_pin():
    # KATE_MODE=warn: the webhook resolves and warns but never patches.
    run = run_demo(KATE_MODE="warn")
    assert run.returncode == 1, run.stdout[-2000:]
    assert "demo: FAILED: the answer pins the container to sha256:" in run.stderr
    assert leftovers() == ""
