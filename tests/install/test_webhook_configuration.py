"""The admission webhook configurations: the fields whose enums the Kubernetes schemas do not carry."""
from __future__ import annotations

import pytest

from conftest import KUBE_VERSIONS, chart_variants

VARIANTS = chart_variants()
ALL = VARIANTS + ["kustomize"]

EXPECTED_RULES = [
    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"],
     "scope": "Namespaced"},
    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["pods/ephemeralcontainers"],
     "scope": "Namespaced"},
]
# failurePolicy the ci values ask for (chart default: Ignore).
MUTATING_FAILURE_POLICY = {"full": "Fail"}


def webhooks(r, kind):
    config = r.maybe(kind)
    return config["webhooks"] if config else []


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", ALL)
def test_mutating_webhook_contract(render, variant, kube):
    r = render(variant, kube)
    [hook] = webhooks(r, "MutatingWebhookConfiguration")
    assert hook["name"] == "pin.kate.dev"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["sideEffects"] == "None"  # dry-run requests would be refused otherwise
    assert hook["failurePolicy"] == MUTATING_FAILURE_POLICY.get(variant, "Ignore")
    assert hook["reinvocationPolicy"] == "IfNeeded"  # sidecars injected after kate get pinned too
    assert hook["matchPolicy"] == "Equivalent"
    assert 1 <= hook["timeoutSeconds"] <= 30
    if variant != "full":
        assert hook["timeoutSeconds"] == 10
    assert hook["rules"] == EXPECTED_RULES


@pytest.mark.parametrize("variant", ALL)
def test_client_config_reaches_the_service(render, variant):
    r = render(variant)
    service = r.one("Service")
    deployment = r.one("Deployment")
    for kind, path in (("MutatingWebhookConfiguration", "/mutate"), ("ValidatingWebhookConfiguration", "/validate")):
        for hook in webhooks(r, kind):
            svc = hook["clientConfig"]["service"]
            assert svc["name"] == service["metadata"]["name"]
            assert svc["namespace"] == service["metadata"]["namespace"] == r.namespace
            assert svc["path"] == path
            [port] = [p for p in service["spec"]["ports"] if p["port"] == svc["port"]]
            # Service port -> the container's named port 8443.
            container_ports = {p["name"]: p["containerPort"] for p in
                               deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
            assert container_ports[port["targetPort"]] == 8443
            assert "url" not in hook["clientConfig"]
    # The Service selects exactly the webhook pods.
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


@pytest.mark.parametrize("variant", ALL)
def test_namespace_selector_excludes_system_own_and_opted_out(render, variant):
    r = render(variant)
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for hook in webhooks(r, kind):
            exprs = hook["namespaceSelector"]["matchExpressions"]
            by_key = {e["key"]: e for e in exprs}
            names = by_key["kubernetes.io/metadata.name"]
            assert names["operator"] == "NotIn"
            assert {"kube-system", r.namespace} <= set(names["values"])
            skip = by_key["kate.dev/skip"]
            assert (skip["operator"], skip["values"]) == ("NotIn", ["true"])
            assert "matchLabels" not in hook["namespaceSelector"]


def test_extra_namespace_exclusions_and_opt_in_expression(render):
    exprs = render("full").one("MutatingWebhookConfiguration")["webhooks"][0]["namespaceSelector"]["matchExpressions"]
    names = next(e for e in exprs if e["key"] == "kubernetes.io/metadata.name")
    assert set(names["values"]) == {"kube-system", "platform", "monitoring"}
    assert {"key": "kate.dev/enabled", "operator": "In", "values": ["true"]} in exprs


@pytest.mark.parametrize("variant", ALL)
def test_object_selector_opt_out_label(render, variant):
    r = render(variant)
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for hook in webhooks(r, kind):
            assert {"key": "kate.dev/skip", "operator": "NotIn", "values": ["true"]} in \
                hook["objectSelector"]["matchExpressions"]


@pytest.mark.parametrize("variant", ALL)
def test_validating_webhook_only_when_enabled(render, variant):
    r = render(variant)
    vwc = r.maybe("ValidatingWebhookConfiguration")
    if variant != "validating":
        assert vwc is None
        return
    [hook] = vwc["webhooks"]
    assert hook["name"] == "require-digest.kate.dev"
    assert hook["clientConfig"]["service"]["path"] == "/validate"
    assert (hook["failurePolicy"], hook["sideEffects"], hook["admissionReviewVersions"]) == ("Fail", "None", ["v1"])
    assert hook["rules"] == EXPECTED_RULES
    assert "reinvocationPolicy" not in hook  # not a field of validating webhooks
    mwc_hook = r.one("MutatingWebhookConfiguration")["webhooks"][0]
    assert hook["clientConfig"]["caBundle"] == mwc_hook["clientConfig"]["caBundle"]
    assert hook["namespaceSelector"] == mwc_hook["namespaceSelector"]
