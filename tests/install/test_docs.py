"""Every value is documented: in values.yaml (a comment), in the schema, and in the chart README."""
from __future__ import annotations

import json
import re

import yaml

from conftest import ROOT

CHART = ROOT / "charts/kate"
OPAQUE = {"resources", "commonLabels"}  # maps passed through whole


def leaves(values: dict, prefix: str = ""):
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and key not in OPAQUE:
            yield from leaves(value, path)
        else:
            yield path


def schema_leaves(schema: dict, prefix: str = ""):
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if sub.get("properties") and key not in OPAQUE:
            yield from schema_leaves(sub, path)
        else:
            yield path


def documented_in_readme(path: str, readme: str) -> bool:
    parent, _, leaf = path.rpartition(".")
    return (f"`{path}`" in readme
            or f"`{parent}.*`" in readme
            or (f"`.{leaf}`" in readme and re.search(rf"`{re.escape(parent)}\.\w+`", readme) is not None))


def test_values_schema_and_readme_agree():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    readme = (CHART / "README.md").read_text()
    in_values = set(leaves(values))
    in_schema = set(schema_leaves(schema)) - {"global"}
    assert in_values == in_schema, f"only in values: {in_values - in_schema}; only in schema: {in_schema - in_values}"
    undocumented = sorted(p for p in in_values if not documented_in_readme(p, readme))
    assert not undocumented, f"values missing from charts/kate/README.md: {undocumented}"


def test_every_value_has_a_comment_in_values_yaml():
    """A key is documented by the comment right above it, or above one of its ancestors (a block)."""
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    undocumented = []
    previous = ""
    for line in (CHART / "values.yaml").read_text().splitlines():
        m = re.match(r"^(\s*)([A-Za-z][\w]*):", line)
        if m:
            indent = len(m[1])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            documented = previous.lstrip().startswith("#") or any(d for _, d in stack)
            if not documented and not line.rstrip().endswith(":"):  # a block: its keys carry the comments
                undocumented.append(m[2])
            stack.append((indent, previous.lstrip().startswith("#")))
        if line.strip():
            previous = line
    assert not undocumented, f"values.yaml keys without a comment: {undocumented}"


def test_rbac_rules_are_explained_in_the_readme():
    readme = (CHART / "README.md").read_text()
    for resource in ("pods", "replicasets", "jobs", "deployments", "pods/eviction", "events", "serviceaccounts",
                     "secrets"):
        assert f"`{resource}`" in readme
    assert "| `\"\"` | `pods` | delete | action = delete" in readme
