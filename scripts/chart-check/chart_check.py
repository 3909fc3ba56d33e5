#!/usr/bin/env python3
"""kate's offline chart checker: `helm lint` + `helm template` with the real Helm v4 engine, then strict
Kubernetes JSON-schema validation of every rendered object (and of extra manifests / kustomize dirs).

Run it through chart-check.sh, which creates the pinned venv (requirements.txt) first.

    chart-check.sh [-q] [--lint-strict] [-k 1.32] [-r RELEASE] [-n NAMESPACE] [--set k=v ...]
                   [--api-versions a/v1,b/v1] [--ignore-missing-schemas] [--no-strict]
                   [--extra PATH ...] [-o OUT.yaml] CHART [VALUES.yaml ...]

Exit 0: every check passed. 1: a check failed (each failure is one line on stdout starting with FAIL or
INVALID, followed by the engine's message). 2: usage or setup error.

What each part is:
- lint: helm's own lint rules (`helm lint --kube-version K [--strict]`): errors fail; warnings fail with
  --lint-strict, as `helm lint --strict` does. Lint takes no --api-versions, so a chart `fail` that asks for
  an API is only logged by the engine (it renders lint's templates with `lookup`-free, capability-poor values).
- template: a client-only dry-run install (what `helm template` runs): values coalescing, values.schema.json,
  `required`/`fail`, `.Capabilities.KubeVersion`/`.APIVersions` from -k/--api-versions. Hook documents are
  not in an install's manifest, so they are taken from the engine's plain render and appended, as
  `helm template` prints them; CRDs from crds/ are validated too.
- schemas: the Kubernetes 1.x schemas kubernetes-validate ships (openapi2jsonschema form, as kubeconform
  uses), Draft 2020-12, every error of every object reported; strict (unknown fields fail) unless
  --no-strict. An apiVersion/kind with no schema (a removed API, a CRD) fails unless
  --ignore-missing-schemas. Objects without metadata.name, and duplicates, fail.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

try:
    import helm_python as helm
    import jsonschema
    import kubernetes_validate
    import referencing
    from helm_python import _native
except ImportError as missing:  # the venv was not made by chart-check.sh
    print(f"chart-check: {missing}; run scripts/chart-check/chart-check.sh, which installs the pinned venv",
          file=sys.stderr)
    sys.exit(2)

SCHEMA_ROOT = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
HOOK_ANNOTATION = "helm.sh/hook"


class UsageError(Exception):
    """A wrong argument or missing file: exit 2, not a failed check."""


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.failures.append(line)


# ---------------------------------------------------------------- values

def merge_values(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`-f a -f b` / `--set` merging: maps merge key by key, anything else in the overlay replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def user_values(files: list[str], sets: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in files:
        path = pathlib.Path(name)
        if not path.is_file():
            raise UsageError(f"values file {name} does not exist")
        values = merge_values(values, helm.values_from_yaml(path.read_text()) or {})
    for expression in sets:
        values = merge_values(values, helm.parse_set_string(expression))
    return values


# ---------------------------------------------------------------- helm engine

def run_lint(chart: str, values: dict[str, Any], kube: str, namespace: str, strict: bool, out: Outcome,
             quiet: bool) -> None:
    report = helm.lint(chart, values, kube_version=kube, namespace=namespace, strict=strict)
    # helm's support.Severity: 1 info, 2 warning, 3 error.
    labels = {1: "INFO", 2: "WARNING", 3: "ERROR"}
    failing = 2 if strict else 3
    for message in report.get("messages", []):
        severity = int(message.get("severity", 3))
        line = f"[{labels.get(severity, 'ERROR')}] {message.get('path', '')}: {message.get('error', '').strip()}"
        if severity >= failing:
            out.fail(f"FAIL lint {line}")
        elif not quiet:
            print(f"  lint {line}")
    if not any(f.startswith("FAIL lint") for f in out.failures) and report.get("errors"):
        for error in report["errors"]:
            out.fail(f"FAIL lint {error.strip()}")


def run_template(chart: str, values: dict[str, Any], kube: str, release: str, namespace: str,
                 api_versions: list[str], out: Outcome) -> str | None:
    """The manifest `helm template` prints (hooks included), or None when rendering failed."""
    config = helm.Config(storage_driver="memory", namespace=namespace)
    handle, reference = config._chart_args(chart)
    # The wrapper's Config.install has no kube_version/api_versions; the native install options do
    # (InstallOptions.renderTweaks), verified with helm-python-sdk 0.2.2, which requirements.txt pins.
    options = {"namespace": namespace, "dry_run": "client", "kube_version": kube, "api_versions": api_versions}
    try:
        payload = _native.call_string("helm_install", config._raw(), config._context_arg(None), handle, reference,
                                      release, json.dumps(values), json.dumps(options))
    except helm.HelmError as error:
        out.fail(f"FAIL template: {error}")
        return None
    finally:
        config.close()
    installed = json.loads(payload)
    manifest = installed.get("manifest", "")
    if installed.get("notes"):
        out.notes.append(installed["notes"])
    hooks = hook_documents(chart, values, release, namespace)
    return manifest + "".join(f"\n---\n# Source: {path}\n{doc}" for path, doc in hooks)


def hook_documents(chart: str, values: dict[str, Any], release: str, namespace: str) -> list[tuple[str, str]]:
    """Hook documents from the engine's plain render. That render knows no -k/--api-versions, so it runs
    only for a chart that has hooks at all (kate's has none)."""
    loaded = helm.Chart.load(chart)
    try:
        if not any(HOOK_ANNOTATION in t.get("data", "") for t in loaded.templates):
            return []
        rendered = loaded.render(values, name=release, namespace=namespace, is_install=True)
    finally:
        loaded.close()
    hooks = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in text.split("\n---"):
            parsed = yaml.safe_load(doc) if doc.strip() else None
            if isinstance(parsed, dict) and HOOK_ANNOTATION in ((parsed.get("metadata") or {}).get("annotations") or {}):
                hooks.append((path, doc.strip("\n")))
    return hooks


def chart_crds(chart: str) -> list[tuple[str, dict[str, Any]]]:
    loaded = helm.Chart.load(chart)
    try:
        files = loaded.crds
    finally:
        loaded.close()
    return [(f"{chart}/{crd.get('name', 'crds')}", doc) for crd in files
            for doc in yaml.safe_load_all(crd.get("data", "")) if isinstance(doc, dict)]


# ---------------------------------------------------------------- manifests

def documents(text: str, source: str) -> Iterator[tuple[str, dict[str, Any]]]:
    current = source
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"{source}: a YAML document that is not an object: {str(doc)[:80]}")
        if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                yield current, item
        else:
            yield current, doc


def extra_manifests(path_name: str) -> list[tuple[str, dict[str, Any]]]:
    path = pathlib.Path(path_name)
    if path.is_dir() and any((path / k).is_file() for k in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
        built = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=False)
        if built.returncode != 0:
            raise ValueError(f"kubectl kustomize {path}: {built.stderr.strip()}")
        return list(documents(built.stdout, f"kustomize {path}"))
    if path.is_dir():
        return [d for f in sorted(path.rglob("*.y*ml")) for d in documents(f.read_text(), str(f))]
    if path.is_file():
        return list(documents(path.read_text(), str(path)))
    raise UsageError(f"--extra {path_name} does not exist")


# ---------------------------------------------------------------- schemas

class SchemaSet:
    """The schemas of one Kubernetes minor version, strict or not, as one referencing registry."""

    def __init__(self, kube: str, strict: bool):
        minor = ".".join(kube.split(".")[:2])
        available = sorted(p.name.split("-")[0][1:] for p in SCHEMA_ROOT.glob("v*-local"))
        candidates = [v for v in available if version_key(v) <= version_key(minor + ".0")]
        if not candidates:
            raise UsageError(f"no Kubernetes schemas for {kube} (have {available[0]} to {available[-1]})")
        if version_key(minor + ".0") > version_key(available[-1]):
            print(f"chart-check: warning: no schemas for {minor}; using {available[-1]}", file=sys.stderr)
        self.version = candidates[-1]
        self.directory = SCHEMA_ROOT / f"v{self.version}-local{'-strict' if strict else ''}"
        definitions = referencing.Resource.from_contents(json.loads((self.directory / "_definitions.json").read_text()))
        self.registry = definitions @ referencing.Registry()

    def errors(self, obj: dict[str, Any]) -> list[str] | None:
        """Every schema error of obj, or None when there is no schema for its apiVersion/kind."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        group_version = api_version.split("/")
        short = api_version if len(group_version) == 1 else f"{group_version[0].split('.')[0]}-{group_version[1]}"
        schema_file = self.directory / f"{kind.lower()}-{short}.json"
        if not kind or not schema_file.is_file():
            return None
        schema = json.loads(schema_file.read_text())
        registry = referencing.Resource.from_contents(schema) @ self.registry
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def validate_objects(objects: list[tuple[str, dict[str, Any]]], schemas: SchemaSet, ignore_missing: bool,
                     default_namespace: str, out: Outcome) -> int:
    seen: dict[tuple[str, str, str, str], str] = {}
    valid = 0
    for source, obj in objects:
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        label = f"{obj.get('kind', '?')}/{name or '?'} ({source})"
        if not name:
            out.fail(f"INVALID {label}: metadata.name is missing")
            continue
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        key = (group, str(obj.get("kind")), str(meta.get("namespace", default_namespace)), str(name))
        if key in seen:
            out.fail(f"INVALID {label}: duplicate of the object from {seen[key]}")
            continue
        seen[key] = source
        errors = schemas.errors(obj)
        if errors is None:
            if not ignore_missing:
                out.fail(f"INVALID {label}: no Kubernetes {schemas.version} schema for "
                         f"{obj.get('apiVersion')} {obj.get('kind')} (removed API or a CRD; --ignore-missing-schemas)")
            continue
        if errors:
            out.fail(f"INVALID {label} against the {schemas.version} schema:\n" +
                     "\n".join(f"    - {e}" for e in errors))
            continue
        valid += 1
    return valid


# ---------------------------------------------------------------- main

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chart-check.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("chart")
    parser.add_argument("values", nargs="*")
    parser.add_argument("-k", "--kube-version", default="1.32")
    parser.add_argument("-r", "--release", default="release-name")
    parser.add_argument("-n", "--namespace", default="default")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    parser.add_argument("--api-versions", action="append", default=[])
    parser.add_argument("--ignore-missing-schemas", action="store_true")
    parser.add_argument("--no-strict", action="store_true", help="allow unknown fields")
    parser.add_argument("--lint-strict", action="store_true", help="lint warnings fail too")
    parser.add_argument("--extra", action="append", default=[], help="manifest file, directory or kustomize dir")
    parser.add_argument("-o", "--output", help="write the rendered chart (helm template's output) here")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    return parser.parse_intermixed_args(argv)


def check(args: argparse.Namespace) -> Outcome:
    out = Outcome()
    if not (pathlib.Path(args.chart) / "Chart.yaml").is_file():
        raise UsageError(f"{args.chart} is not a chart directory (no Chart.yaml)")
    kube = args.kube_version.lstrip("v")
    kube_full = kube if kube.count(".") == 2 else kube + ".0"
    api_versions = [a for given in args.api_versions for a in given.split(",") if a]
    values = user_values(args.values, args.sets)
    schemas = SchemaSet(kube_full, strict=not args.no_strict)

    run_lint(args.chart, values, kube_full, args.namespace, args.lint_strict, out, args.quiet)
    manifest = run_template(args.chart, values, kube_full, args.release, args.namespace, api_versions, out)
    objects: list[tuple[str, dict[str, Any]]] = []
    if manifest is not None:
        if args.output:
            pathlib.Path(args.output).write_text(manifest.rstrip("\n") + "\n")
        objects += documents(manifest, f"chart {args.chart}")
        objects += chart_crds(args.chart)
    for extra in args.extra:
        objects += extra_manifests(extra)
    valid = validate_objects(objects, schemas, args.ignore_missing_schemas, args.namespace, out)
    if not args.quiet:
        print(f"  template: {'rendered' if manifest is not None else 'FAILED'}; "
              f"schemas k8s {schemas.version}{'' if args.no_strict else ' strict'}: {valid} of {len(objects)} objects valid")
        for notes in out.notes:
            print("  NOTES:")
            print("\n".join("    " + line for line in notes.rstrip("\n").split("\n")))
    return out


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        out = check(args)
    except UsageError as error:
        print(f"chart-check: {error}", file=sys.stderr)
        return 2
    except (ValueError, yaml.YAMLError) as error:
        print(f"FAIL {error}")
        return 1
    for failure in out.failures:
        print(failure)
    name = f"{args.chart} {' '.join(args.values)} k8s {args.kube_version}".strip()
    if out.failures or not args.quiet:
        print(f"chart-check: {'FAIL' if out.failures else 'PASS'} {name}")
    return 1 if out.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
