"""Least privilege: exactly the API calls kate makes, nothing with `*`, no built-in admin roles."""
from __future__ import annotations

import subprocess

import pytest

from conftest import CHART_CHECK, KUBE_VERSIONS, ROOT, chart_variants
from manifests import load_render, pod_spec

ALL = chart_variants() + ["kustomize"]
ROLE_KINDS = ("Role", "ClusterRole")


def grants(role: dict) -> set[tuple[str, str, str]]:
    """{(apiGroup, resource, verb)} a Role grants, one triple per combination."""
    out = set()
    for rule in role.get("rules", []):
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, f"unexpected rule fields {rule}"
        for g in rule["apiGroups"]:
            for res in rule["resources"]:
                for v in rule["verbs"]:
                    out.add((g, res, v))
    return out


NODES_LIST = ("", "nodes", "list")  # the platform-coverage gate (webhook.platformGate, sweeper.platformGate; on by default)
# The mutation-loop breaker's second signature: an owner's replica count (webhook.loopBreaker.ownerFloor > 0).
OWNER_REPLICAS = {("apps", "replicasets/scale", "get"), ("apps", "statefulsets/scale", "get"), ("apps", "daemonsets", "get"),
                  ("", "replicationcontrollers/scale", "get"), ("batch", "jobs", "get")}
WEBHOOK = {("", "serviceaccounts", "get"), ("", "secrets", "get"), ("", "namespaces", "get"),
           ("events.k8s.io", "events", "create"),  # the mutation-loop breaker's one Event per trip
           NODES_LIST} | OWNER_REPLICAS
SWEEP_READ = {("", "pods", "list"), ("apps", "replicasets", "get"), ("batch", "jobs", "get"),
              ("apps", "deployments", "get"), ("apps", "statefulsets", "get"), ("apps", "daemonsets", "get"),
              ("argoproj.io", "rollouts", "get")}
SWEEP_WRITE = {("apps", "deployments", "patch"), ("apps", "statefulsets", "patch"), ("apps", "daemonsets", "patch"),
               ("argoproj.io", "rollouts", "patch"), ("", "pods/eviction", "create"), ("events.k8s.io", "events", "create"),
               ("events.k8s.io", "events", "patch")}
PULL_SECRETS = {("", "serviceaccounts", "get"), ("", "secrets", "get")}
DELETE_PODS = ("", "pods", "delete")
# The namespace opt-out label is read with a cluster-wide list; a namespaced sweeper (a Role) cannot have it.
NAMESPACE_LIST = ("", "namespaces", "list")

# What each ci variant's sweeper may do.
# A namespaced sweeper ("full") cannot list nodes through its Role: it gets the -nodes ClusterRole instead.
SWEEPER = {
    "report-dry-run": SWEEP_READ | {NAMESPACE_LIST, NODES_LIST},
    "full": SWEEP_READ | SWEEP_WRITE | PULL_SECRETS | {DELETE_PODS},
}


def role_for(r, suffix: str) -> dict | None:
    # The webhook's push sweeper (webhook.events.sweep) has its own ClusterRole, <fullname>-push-sweeper.
    found = [o for o in r.objects if o["kind"] in ROLE_KINDS and o["metadata"]["name"].endswith(suffix)
             and not o["metadata"]["name"].endswith("-push" + suffix)]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", ALL)
def test_no_wildcards_and_no_builtin_roles(render, variant, kube):
    r = render(variant, kube)
    for role in (o for o in r.objects if o["kind"] in ROLE_KINDS):
        for rule in role.get("rules", []):
            for field in ("apiGroups", "resources", "verbs"):
                assert not any("*" in item for item in rule[field]), f"{role['metadata']['name']}: {rule}"
            assert "nonResourceURLs" not in rule and "resourceNames" not in rule
        assert "aggregationRule" not in role
    rendered_roles = {(o["kind"], o["metadata"]["name"]) for o in r.objects if o["kind"] in ROLE_KINDS}
    for binding in (o for o in r.objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        ref = binding["roleRef"]
        assert ref["name"] not in {"cluster-admin", "admin", "edit", "view"}
        assert (ref["kind"], ref["name"]) in rendered_roles, "binding to a role the chart does not own"
        service_accounts = {(o["metadata"]["name"], o["metadata"]["namespace"]) for o in r.all("ServiceAccount")}
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            assert (subject["name"], subject["namespace"]) in service_accounts


@pytest.mark.parametrize("variant", ALL)
def test_webhook_role(render, variant):
    r = render(variant)
    role = role_for(r, "-webhook")
    deployment = r.one("Deployment")
    if variant == "sweeper-off":  # --pull-secrets=off: no API access at all
        assert role is None
        assert pod_spec(deployment)["automountServiceAccountToken"] is False
        return
    assert role["kind"] == "ClusterRole"  # pods are created in every namespace
    assert grants(role) == WEBHOOK
    assert pod_spec(deployment)["automountServiceAccountToken"] is True


@pytest.mark.parametrize("variant", ALL)
def test_sweeper_role(render, variant):
    r = render(variant)
    role = role_for(r, "-sweeper")
    if variant == "sweeper-off":
        assert role is None and not r.all("CronJob")
        return
    expected = SWEEPER.get(variant, SWEEP_READ | SWEEP_WRITE | PULL_SECRETS | {NAMESPACE_LIST, NODES_LIST})
    assert grants(role) == expected
    # Deleting pods is the old tool's behaviour: granted only for --action=delete.
    args = pod_spec(r.one("CronJob"))["containers"][0]["args"]
    assert (DELETE_PODS in grants(role)) == ("--action=delete" in args and "--dry-run" not in args)


def test_namespaced_sweeper_gets_a_role_not_a_cluster_role(render):
    r = render("full")
    role = role_for(r, "-sweeper")
    assert (role["kind"], role["metadata"]["namespace"]) == ("Role", "shop")
    binding = r.one("RoleBinding")
    assert binding["metadata"]["namespace"] == "shop"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "shop-kate-sweeper", "namespace": "platform"}]
    # Nodes are cluster-scoped: the platform gate's list comes from a ClusterRole of its own, and nothing else does.
    [nodes] = [o for o in r.objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("-sweeper-nodes")]
    assert grants(nodes) == {NODES_LIST}
    [nodes_binding] = [o for o in r.objects if o["kind"] == "ClusterRoleBinding" and o["metadata"]["name"].endswith("-sweeper-nodes")]
    assert nodes_binding["roleRef"]["name"] == nodes["metadata"]["name"]
    assert nodes_binding["subjects"] == binding["subjects"]


@pytest.mark.parametrize("component", ["webhook", "sweeper"])
def test_platform_gate_off_grants_no_nodes(tmp_path, component):
    """{component}.platformGate=false: the flag --no-platform-gate, and no nodes: list anywhere for that component."""
    out = tmp_path / "r.yaml"
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(ROOT / "charts/kate"), "-n", "kate-system", "-r", "kate",
                          "--set", f"{component}.platformGate=false", "-o", str(out)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    r = load_render(out)
    roles = [o for o in r.objects if o["kind"] in ROLE_KINDS and f"-{component}" in o["metadata"]["name"]]
    assert roles, "no role for the component rendered"
    for role in roles:
        assert NODES_LIST not in grants(role), role["metadata"]["name"]
    workload = r.one("Deployment") if component == "webhook" else r.one("CronJob")
    assert "--no-platform-gate" in pod_spec(workload)["containers"][0]["args"]


def render_with(tmp_path, *sets: str):
    out = tmp_path / "r.yaml"
    args = [a for s in sets for a in ("--set", s)]
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(ROOT / "charts/kate"), "-n", "kate-system", "-r", "kate", *args, "-o", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return load_render(out)


def test_loop_breaker_scale_resources_grant_exactly_their_scale(tmp_path):
    """webhook.loopBreaker.scaleResources: get on RESOURCE/scale in GROUP for each, nothing more; the flags are passed."""
    r = render_with(tmp_path, "webhook.loopBreaker.scaleResources={clusters.postgresql.cnpg.io,rollouts.argoproj.io}",
                    "webhook.loopBreaker.ownerFloor=20", "webhook.loopBreaker.ownerFactor=3")
    assert grants(role_for(r, "-webhook")) == WEBHOOK | {("postgresql.cnpg.io", "clusters/scale", "get"), ("argoproj.io", "rollouts/scale", "get")}
    args = pod_spec(r.one("Deployment"))["containers"][0]["args"]
    assert "--loop-breaker-owner-floor=20" in args and "--loop-breaker-owner-factor=3" in args


@pytest.mark.parametrize("setting", ["webhook.loopBreaker.ownerFloor=0", "webhook.loopBreaker.creates=0"])
def test_owner_rate_off_grants_no_replica_reads(tmp_path, setting):
    """The second signature off (or the whole breaker): no scale, daemonsets or jobs rule, even with scaleResources."""
    r = render_with(tmp_path, setting, "webhook.loopBreaker.scaleResources={clusters.postgresql.cnpg.io}")
    granted = grants(role_for(r, "-webhook"))
    assert not granted & OWNER_REPLICAS
    assert not any(res.endswith("/scale") for _, res, _ in granted)


def test_scale_resources_must_be_resource_dot_group(tmp_path):
    out = tmp_path / "r.yaml"
    run = subprocess.run(["bash", CHART_CHECK, "-q", str(ROOT / "charts/kate"), "-n", "kate-system", "-r", "kate",
                          "--set", "webhook.loopBreaker.scaleResources={clusters}", "-o", str(out)], capture_output=True, text=True, check=False)
    assert run.returncode != 0
    assert "scaleResources" in run.stdout + run.stderr


@pytest.mark.parametrize("variant", [v for v in ALL if v != "sweeper-off"])
def test_one_service_account_each(render, variant):
    r = render(variant)
    webhook_sa = pod_spec(r.one("Deployment"))["serviceAccountName"]
    sweeper_sa = pod_spec(r.one("CronJob"))["serviceAccountName"]
    assert webhook_sa != sweeper_sa
    for sa in r.all("ServiceAccount"):
        # Tokens are mounted per pod, only where the API is used.
        assert sa["automountServiceAccountToken"] is False
