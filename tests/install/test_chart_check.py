"""scripts/chart-check/chart-check.sh itself: it must FAIL what is wrong, and pass what is right.

Each failing case has a passing twin, so neither "always fails" nor "always passes" gets through.
"""
from __future__ import annotations

import subprocess

import pytest

from conftest import CHART_CHECK, ROOT

CHART = str(ROOT / "charts/kate")
GOOD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: nginx:1.27
      {field}: IfNotPresent
"""


def chart_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", CHART_CHECK, "-q", CHART, "-r", "kate", "-n", "kate-system", *args],
                          capture_output=True, text=True, check=False)


def test_default_values_pass_at_both_versions():
    for kube in ("1.29", "1.32"):
        run = chart_check(str(ROOT / "charts/kate/ci/default-values.yaml"), "-k", kube, "--lint-strict")
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout == ""


def test_a_bad_values_file_fails(tmp_path):
    bad = tmp_path / "bad-values.yaml"
    bad.write_text("webhook:\n  replicas: two\n")
    run = chart_check(str(bad))
    assert run.returncode == 1, run.stdout
    assert "FAIL template" in run.stdout and "/webhook/replicas': got string, want integer" in run.stdout
    assert f"chart-check: FAIL {CHART} {bad}" in run.stdout


def test_values_files_merge_left_to_right(tmp_path):
    bad, fixed = tmp_path / "bad.yaml", tmp_path / "fixed.yaml"
    bad.write_text("webhook:\n  replicas: two\n  mode: pin\n")
    fixed.write_text("webhook:\n  replicas: 3\n")
    assert chart_check(str(bad), str(fixed)).returncode == 0
    assert chart_check(str(fixed), str(bad)).returncode == 1


@pytest.mark.parametrize("field, strict, code", [
    ("imagePullPolicy", True, 0), ("imagePullPolcy", True, 1), ("imagePullPolcy", False, 0)])
def test_unknown_fields_fail_only_in_strict_mode(tmp_path, field, strict, code):
    pod = tmp_path / "pod.yaml"
    pod.write_text(GOOD_POD.format(field=field))
    run = chart_check("--extra", str(pod), *([] if strict else ["--no-strict"]))
    assert run.returncode == code, run.stdout
    if code:
        assert "INVALID Pod/web" in run.stdout and "'imagePullPolcy' was unexpected" in run.stdout


def test_every_schema_error_of_an_object_is_reported(tmp_path):
    pod = tmp_path / "pod.yaml"
    pod.write_text(GOOD_POD.format(field="imagePullPolicy").replace("name: web\n      image", "name: 7\n      image")
                   + "  restartPolicy: [Always]\n")
    run = chart_check("--extra", str(pod))
    assert run.returncode == 1
    assert "spec.containers.0.name: 7 is not of type 'string'" in run.stdout
    assert "spec.restartPolicy: ['Always'] is not of type 'string'" in run.stdout


def test_a_removed_api_has_no_schema_and_fails(tmp_path):
    cron = tmp_path / "cron.yaml"
    cron.write_text("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: old}\nspec: {}\n")
    run = chart_check("--extra", str(cron), "-k", "1.29")
    assert run.returncode == 1 and "no Kubernetes 1.29.0 schema for batch/v1beta1 CronJob" in run.stdout
    assert chart_check("--extra", str(cron), "--ignore-missing-schemas").returncode == 0


def test_nameless_and_duplicate_objects_fail(tmp_path):
    pods = tmp_path / "pods.yaml"
    pods.write_text(GOOD_POD.format(field="imagePullPolicy") + "---\n" + GOOD_POD.format(field="imagePullPolicy"))
    run = chart_check("--extra", str(pods))
    assert run.returncode == 1 and "INVALID Pod/web" in run.stdout and "duplicate of the object" in run.stdout
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text(GOOD_POD.format(field="imagePullPolicy").replace("  name: web\n", "", 1))
    run = chart_check("--extra", str(nameless))
    assert run.returncode == 1 and "metadata.name is missing" in run.stdout


def test_a_kustomize_overlay_is_built_with_kubectl_and_checked(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "pod.yaml").write_text(GOOD_POD.format(field="imagePullPolicy").replace("kind: Pod", "kind: Pod", 1))
    (base / "kustomization.yaml").write_text("resources: [pod.yaml]\nnamespace: web-shop\n")
    assert chart_check("--extra", str(base)).returncode == 0
    (base / "kustomization.yaml").write_text(
        "resources: [pod.yaml]\npatches:\n  - target: {kind: Pod, name: web}\n"
        "    patch: '[{\"op\": \"add\", \"path\": \"/spec/priority\", \"value\": \"five\"}]'\n")
    run = chart_check("--extra", str(base))
    assert run.returncode == 1 and "spec.priority: 'five' is not of type 'integer'" in run.stdout


def test_a_template_error_fails_lint_and_template(tmp_path):
    chart = tmp_path / "broken"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates/cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.x }\n")
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(chart)], capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert "FAIL lint" in run.stdout and "FAIL template" in run.stdout


def test_usage_errors_exit_2(tmp_path):
    run = chart_check(str(tmp_path / "missing-values.yaml"))
    assert run.returncode == 2 and "does not exist" in run.stderr
    run = subprocess.run(["bash", CHART_CHECK, str(tmp_path)], capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "not a chart directory" in run.stderr


HOOK_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox:1.36
          {{ .Values.field }}: IfNotPresent
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object}
"""


def hook_chart(tmp_path, crd: str = CRD):
    chart = tmp_path / "hooked"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hooked\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("field: imagePullPolicy\n")
    (chart / "templates/job.yaml").write_text(HOOK_JOB)
    (chart / "crds/widgets.yaml").write_text(crd)
    return chart


def test_hook_documents_are_rendered_and_validated(tmp_path):
    chart, out = hook_chart(tmp_path), tmp_path / "out.yaml"
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(chart), "-r", "rel", "-o", str(out)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "name: rel-migrate" in out.read_text() and "helm.sh/hook: pre-install" in out.read_text()
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(chart), "-r", "rel", "--set", "field=imagePullPolcy"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "INVALID Job/rel-migrate" in run.stdout and "'imagePullPolcy' was unexpected" in run.stdout


def test_crds_are_validated(tmp_path):
    chart = hook_chart(tmp_path, CRD.replace("scope: Namespaced", "scope: Namespaced\n  scpoe: typo"))
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(chart), "-r", "rel"], capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "INVALID CustomResourceDefinition/widgets.example.com" in run.stdout and "'scpoe' was unexpected" in run.stdout
