"""tls.mode=generate across `helm upgrade`: the chart's reuse/renew decision fed real earlier Secrets.

`lookup` is always empty under `helm template`, so the decision lives in "kate.tls.generated",
which takes the looked-up Secrets as input. A throwaway parent chart (kate as its subchart)
calls it with Secrets from a previous render and a chosen clock; the real Helm engine renders it.
"""
from __future__ import annotations

import copy
import shutil
import subprocess

import pytest
import yaml

from conftest import CHART_CHECK, ROOT
from manifests import b64, load_render, verify_server_cert

PROBE = """\
{{- $kate := dict "Values" .Values.kate "Release" .Release "Chart" (dict "Name" "kate") -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: tls-probe
data:
  material: |
    {{- include "kate.tls.generated" (dict "ctx" $kate "now" (int64 .Values.now)
          "caSecret" .Values.caSecret "servingSecret" .Values.servingSecret) | nindent 4 }}
"""
DAY = 86400
NOW = 1_900_000_000


@pytest.fixture(scope="module")
def probe_chart(tmp_path_factory):
    chart = tmp_path_factory.mktemp("tls-probe")
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: tls-probe\nversion: 0.1.0\n"
        "dependencies:\n  - name: kate\n    version: 0.1.0\n")
    (chart / "templates").mkdir()
    (chart / "templates/probe.yaml").write_text(PROBE)
    shutil.copytree(ROOT / "charts/kate", chart / "charts/kate")
    return chart


def material(probe_chart, tmp_path, ca_secret=None, serving_secret=None, now=NOW):
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"now": now, "caSecret": ca_secret or {}, "servingSecret": serving_secret or {}}))
    out = tmp_path / "out.yaml"
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(probe_chart), str(values), "-r", "kate", "-n", "kate-system",
                          "-o", str(out)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return yaml.safe_load(load_render(out).one("ConfigMap", "tls-probe")["data"]["material"])


def as_secrets(m):
    """The two Secrets exactly as webhook-configurations.yaml writes them from a material."""
    ca = {"metadata": {"name": "kate-webhook-ca"}, "data": {"tls.crt": m["ca"]["crt"], "tls.key": m["ca"]["key"]}}
    serving = {"metadata": {"name": "kate-webhook-tls", "annotations": {
        "kate.dev/cert-not-after": m["serving"]["notAfter"], "kate.dev/cert-dns-names": m["serving"]["dnsNames"]}},
        "data": {"tls.crt": m["serving"]["crt"], "tls.key": m["serving"]["key"], "ca.crt": m["ca"]["crt"]}}
    return ca, serving


@pytest.fixture(scope="module")
def first(probe_chart, tmp_path_factory):
    return material(probe_chart, tmp_path_factory.mktemp("first"))


def test_first_install_makes_a_ca_and_a_serving_cert(first):
    assert first["reused"] is False
    assert int(first["serving"]["notAfter"]) == NOW + 365 * DAY
    ok = verify_server_cert(b64(first["caBundle"]), b64(first["serving"]["crt"]), "kate-webhook.kate-system.svc")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_upgrade_reuses_everything(probe_chart, tmp_path, first):
    ca, serving = as_secrets(first)
    again = material(probe_chart, tmp_path, ca, serving, now=NOW + 100 * DAY)
    assert again["reused"] is True
    assert again["caBundle"] == first["caBundle"]
    assert again["serving"] == first["serving"]


def test_upgrade_near_expiry_renews_the_cert_from_the_same_ca(probe_chart, tmp_path, first):
    ca, serving = as_secrets(first)
    renewed = material(probe_chart, tmp_path, ca, serving, now=NOW + 340 * DAY)  # < 30 days left
    assert renewed["reused"] is False
    assert renewed["caBundle"] == first["caBundle"], "caBundle must survive a renewal"
    assert renewed["serving"]["crt"] != first["serving"]["crt"]
    assert int(renewed["serving"]["notAfter"]) == NOW + 340 * DAY + 365 * DAY
    ok = verify_server_cert(b64(first["caBundle"]), b64(renewed["serving"]["crt"]), "kate-webhook.kate-system.svc")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_changed_dns_names_reissue_the_cert(probe_chart, tmp_path, first):
    ca, serving = as_secrets(first)
    serving = copy.deepcopy(serving)
    serving["metadata"]["annotations"]["kate.dev/cert-dns-names"] = "old-name.kate-system.svc"
    again = material(probe_chart, tmp_path, ca, serving)
    assert again["reused"] is False and again["caBundle"] == first["caBundle"]


def test_lost_ca_secret_starts_over(probe_chart, tmp_path, first):
    _, serving = as_secrets(first)
    again = material(probe_chart, tmp_path, None, serving)
    assert again["reused"] is False, "a cert from an unknown CA must not be kept"
    assert again["caBundle"] != first["caBundle"]
