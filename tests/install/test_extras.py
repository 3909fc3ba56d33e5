"""ServiceMonitor, NOTES, and the kustomize base staying in step with the chart."""
from __future__ import annotations

import copy
import subprocess

import pytest

from conftest import CHART_CHECK, ROOT
from manifests import b64, container, load_render, pod_spec


def test_service_monitor_scrapes_metrics_over_verified_tls(render):
    r = render("servicemonitor")
    sm = r.one("ServiceMonitor")
    service = r.one("Service")
    assert sm["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [r.namespace]}
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    [ep] = sm["spec"]["endpoints"]
    assert ep["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert (ep["path"], ep["scheme"]) == ("/metrics", "https")
    tls = ep["tlsConfig"]
    assert tls["serverName"] == f"{service['metadata']['name']}.{r.namespace}.svc"
    assert "insecureSkipVerify" not in tls
    secret = r.one("Secret", tls["ca"]["secret"]["name"])
    assert tls["ca"]["secret"]["key"] in secret["data"]
    assert set(sm["spec"]) == {"selector", "namespaceSelector", "endpoints"}
    assert set(ep) <= {"port", "path", "scheme", "interval", "scrapeTimeout", "tlsConfig"}


def test_no_service_monitor_by_default(render):
    assert not render("default").all("ServiceMonitor")


def rendered_notes(*sets: str) -> str:
    args = ["bash", CHART_CHECK, str(ROOT / "charts/kate"), "-n", "kate-system", "-r", "kate"]
    for s in sets:
        args += ["--set", s]
    run = subprocess.run(args, capture_output=True, text=True, check=True)
    return run.stdout.split("  NOTES:", 1)[1]


def test_notes_tell_how_to_see_kate_work():
    notes = rendered_notes()
    assert r"jsonpath='{.metadata.annotations.kate\.dev/original-images}" in notes
    assert "kubectl -n kate-system create job --from=cronjob/kate-sweeper kate-sweep-now" in notes
    assert "kubectl label namespace kate-demo kate.dev/skip=true" in notes
    assert "admitted UNPINNED" in notes
    off = rendered_notes("sweeper.enabled=false", "admission.mutating.failurePolicy=Fail")
    assert "--from=cronjob/" not in off and "sweeper is disabled" in off
    assert "UNPINNED" not in off


def normalized_rules(role):
    return sorted((tuple(sorted(r["apiGroups"])), tuple(sorted(r["resources"])), tuple(sorted(r["verbs"])))
                  for r in role["rules"])


@pytest.mark.parametrize("kind, name, part", [
    ("Deployment", "kate-webhook", "args"),
    ("CronJob", "kate-sweeper", "args"),
    ("Deployment", "kate-webhook", "securityContext"),
    ("CronJob", "kate-sweeper", "securityContext"),
    ("Deployment", "kate-webhook", "readinessProbe"),
    ("Deployment", "kate-webhook", "livenessProbe"),
    ("Deployment", "kate-webhook", "ports"),
    ("Deployment", "kate-webhook", "resources"),
])
def test_kustomize_containers_match_chart_defaults(render, kind, name, part):
    chart, kustomize = render("default").one(kind, name), render("kustomize").one(kind, name)
    assert pod_spec(kustomize)["containers"][0][part] == pod_spec(chart)["containers"][0][part]
    assert pod_spec(kustomize)["securityContext"] == pod_spec(chart)["securityContext"]


@pytest.mark.parametrize("name", ["kate-webhook", "kate-sweeper"])
def test_kustomize_rbac_matches_chart_defaults(render, name):
    chart, kustomize = render("default"), render("kustomize")
    assert normalized_rules(kustomize.one("ClusterRole", name)) == normalized_rules(chart.one("ClusterRole", name))


def test_kustomize_webhook_matches_chart_defaults(render):
    chart = copy.deepcopy(render("default").one("MutatingWebhookConfiguration")["webhooks"][0])
    kustomize = copy.deepcopy(render("kustomize").one("MutatingWebhookConfiguration")["webhooks"][0])
    for hook in (chart, kustomize):
        hook["clientConfig"].pop("caBundle")
    assert kustomize == chart


def test_kustomize_ca_bundle_comes_from_make_certs(render, render_dir):
    hook = render("kustomize").one("MutatingWebhookConfiguration")["webhooks"][0]
    assert b64(hook["clientConfig"]["caBundle"]) == (render_dir / "certs/ca.crt").read_bytes()


def test_kustomize_namespace_is_labelled_restricted_and_skipped(render):
    ns = render("kustomize").one("Namespace", "kate-system")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["metadata"]["labels"]["kate.dev/skip"] == "true"
    sweeper = container(render("kustomize").one("CronJob"), "sweeper")
    assert sweeper["image"] == "ghcr.io/kate-dev/kate:0.1.0"


def test_service_monitor_with_existing_secret_trusts_the_given_bundle(tmp_path, render_dir):
    """An existing Secret may have no ca.crt: the scrape then verifies with the caBundle value."""
    bundle = (render_dir / "ca-bundle.b64").read_text().strip()
    out = tmp_path / "r.yaml"
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(ROOT / "charts/kate"), "-r", "kate", "-n", "kate-system",
                          "--set", "tls.mode=existingSecret", "--set", "tls.existingSecret.name=mine",
                          "--set", f"tls.existingSecret.caBundle={bundle}", "--set", "serviceMonitor.enabled=true",
                          "--api-versions", "monitoring.coreos.com/v1", "--ignore-missing-schemas", "-o", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout
    r = load_render(out)
    ca = r.one("ServiceMonitor")["spec"]["endpoints"][0]["tlsConfig"]["ca"]
    assert ca == {"configMap": {"name": "kate-webhook-ca-bundle", "key": "ca.crt"}}
    assert r.one("ConfigMap", "kate-webhook-ca-bundle")["data"]["ca.crt"].encode() == b64(bundle)
