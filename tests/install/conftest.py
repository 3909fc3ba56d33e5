"""Fixtures over the manifests scripts/check-install.sh renders (real Helm engine, kubectl kustomize).

KATE_RENDER_DIR points at a finished render (check-install.sh sets it). Run alone,
`python3 -m pytest tests/install` renders into a temporary directory first, by calling
`scripts/check-install.sh --render-only`, so the tests never run against stale or missing YAML.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from manifests import Render, load_render  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
KUBE_VERSIONS = ("1.29", "1.32")
# kate's offline Helm checker (real Helm v4 engine + Kubernetes schemas), in the repository.
CHART_CHECK = str(ROOT / "scripts/chart-check/chart-check.sh")


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory) -> pathlib.Path:
    given = os.environ.get("KATE_RENDER_DIR")
    if given:
        return pathlib.Path(given)
    out = tmp_path_factory.mktemp("kate-render")
    subprocess.run(["bash", str(ROOT / "scripts/check-install.sh"), "--render-only", str(out)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


@pytest.fixture(scope="session")
def render(render_dir):
    """render("default") -> Render of charts/kate/ci/default-values.yaml at Kubernetes 1.32."""
    cache: dict[tuple[str, str], Render] = {}

    def get(variant: str, kube: str = "1.32") -> Render:
        key = (variant, kube)
        if key not in cache:
            name = "kustomize.yaml" if variant == "kustomize" else f"{variant}-{kube}.yaml"
            cache[key] = load_render(render_dir / "render" / name)
        return cache[key]

    return get


def chart_variants() -> list[str]:
    """Every charts/kate/ci/*-values.yaml, as the variant names check-install.sh renders."""
    return sorted(p.name.removesuffix(".yaml").removesuffix("-values")
                  for p in (ROOT / "charts/kate/ci").glob("*.yaml"))
