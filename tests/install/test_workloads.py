"""Pods: Pod Security "restricted", probes, the flags passed to kate, and the sweeper's CronJob."""
from __future__ import annotations

import pytest

from conftest import KUBE_VERSIONS, chart_variants
from manifests import ALLOWED_FLAGS, BOOLEAN_FLAGS, ENUMS, INTEGER_FLAGS, container, flag_values, flags, pod_spec

ALL = chart_variants() + ["kustomize"]
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret"}


def workloads(r):
    return [w for w in r.objects if w["kind"] in ("Deployment", "CronJob")]


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", ALL)
def test_pod_security_restricted(render, variant, kube):
    r = render(variant, kube)
    assert workloads(r)
    for w in workloads(r):
        spec = pod_spec(w)
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 65532
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
        for v in spec.get("volumes", []):
            assert set(v) - {"name"} <= RESTRICTED_VOLUME_TYPES, f"volume {v} not allowed by restricted"
            source = v.get("secret") or v.get("configMap")
            if source and source.get("defaultMode", 0o644) & 0o004 == 0:
                # Not world-readable: the non-root user reads it through the group fsGroup sets.
                assert psc.get("fsGroup") == psc["runAsGroup"], f"{v['name']} unreadable by uid 65532"
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert sc.get("privileged", False) is False
            assert "hostPort" not in str(c.get("ports", []))
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
            env = {e["name"]: e for e in c.get("env", [])}
            assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


@pytest.mark.parametrize("variant", ALL)
def test_args_use_only_known_flags_with_valid_values(render, variant):
    r = render(variant)
    for w in workloads(r):
        c = pod_spec(w)["containers"][0]
        args = c["args"]
        command = args[0]
        assert command in ALLOWED_FLAGS, f"unknown subcommand {command}"
        assert "command" not in c, "the image's ENTRYPOINT is kate"
        for name, value in flags(args):
            assert name in ALLOWED_FLAGS[command], f"`kate {command}` has no flag {name}"
            if name in ENUMS:
                assert value in ENUMS[name], f"{name}={value}"
            if name in INTEGER_FLAGS:  # Helm reads YAML numbers as float64: 8388608 prints as 8.388608e+06
                assert value.isdigit(), f"{name}={value} is not an integer"
            if name in BOOLEAN_FLAGS:
                assert value is None
            else:
                assert value, f"{name} without a value"
        singles = [n for n, _ in flags(args) if n not in
                   {"--skip-namespace", "--include-image", "--exclude-image", "--exclude-registry", "--pin-operator-owned",
                    "--exclude-namespace", "--dns-name", "--window"}]
        assert len(singles) == len(set(singles)), f"a flag given twice: {singles}"


@pytest.mark.parametrize("variant", ALL)
def test_webhook_pod(render, variant):
    r = render(variant)
    deployment = r.one("Deployment")
    spec = pod_spec(deployment)
    c = container(deployment, "webhook")
    args = c["args"]
    assert flag_values(args, "--listen")[0].endswith(":8443")
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    tls_dir = mounts["tls"]["mountPath"]
    assert mounts["tls"]["readOnly"] is True and "subPath" not in mounts["tls"]  # subPath never sees rotation
    assert flag_values(args, "--tls-cert") == [f"{tls_dir}/tls.crt"]
    assert flag_values(args, "--tls-key") == [f"{tls_dir}/tls.key"]
    assert {i["path"] for i in volumes["tls"]["secret"]["items"]} == {"tls.crt", "tls.key"}
    skipped = set(flag_values(args, "--skip-namespace"))
    assert {"kube-system", r.namespace} <= skipped
    # kate's own check and the apiserver-side selector exclude the same namespaces.
    selector = r.one("MutatingWebhookConfiguration")["webhooks"][0]["namespaceSelector"]["matchExpressions"]
    assert skipped == set(next(e for e in selector if e["key"] == "kubernetes.io/metadata.name")["values"])
    if variant == "full":
        assert skipped == {"kube-system", "platform", "monitoring"}
    assert flag_values(args, "--pull-secrets") == (["off"] if variant == "sweeper-off" else ["auto"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    health_port = 9091 if variant == "full" else 8081
    events = {"events": 8444} if variant == "events" else {}
    assert ports == {"https": 8443, "health": health_port, **events}
    # The probe listener: plain HTTP, same host as --listen, on the port the container declares as "health".
    [listen] = flag_values(args, "--listen")
    [health] = flag_values(args, "--health-listen")
    host, _, port = health.rpartition(":")
    assert host == listen.rpartition(":")[0] and int(port) == health_port
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path
        # Not the TLS port the apiserver uses: there the probes compete for --max-connections and
        # fail under a connection storm (RELIABILITY.md bug 9). The kubelet resolves a named port.
        target = ports.get(get["port"], get["port"])
        assert target == int(port) and target != 8443, f"{probe} goes to port {get['port']} ({target})"
        assert get["scheme"] == "HTTP", f"{probe}: the probe listener speaks plain HTTP"
    grace = int(flag_values(args, "--grace-period")[0].removesuffix("s"))
    assert spec["terminationGracePeriodSeconds"] > grace
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    if variant != "full":
        assert deployment["spec"]["replicas"] == 2


@pytest.mark.parametrize("variant", ALL)
def test_disruption_budget_and_spread_select_the_webhook_pods(render, variant):
    r = render(variant)
    deployment = r.one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    pdb = r.one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    spread = pod_spec(deployment)["topologySpreadConstraints"]
    keys = {t["topologyKey"] for t in spread}
    assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys
    for t in spread:
        assert t["labelSelector"]["matchLabels"].items() <= pod_labels.items()


def test_docker_config_and_registry_config_are_mounted_where_the_flags_point(render):
    r = render("full")
    for w in workloads(r):
        c = pod_spec(w)["containers"][0]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod_spec(w)["volumes"]}
        [docker] = flag_values(c["args"], "--docker-config")
        assert docker == f"{mounts['docker-config']}/config.json"
        assert volumes["docker-config"]["secret"]["items"] == [{"key": ".dockerconfigjson", "path": "config.json"}]
        [registry] = flag_values(c["args"], "--registry-config")
        assert registry.startswith(mounts["registry-config"] + "/")
        assert registry.rsplit("/", 1)[1] in r.one("ConfigMap", "shop-kate-registry")["data"]


@pytest.mark.parametrize("variant", [v for v in ALL if v != "sweeper-off"])
def test_sweeper_cronjob(render, variant):
    r = render(variant)
    cron = r.one("CronJob")
    spec = cron["spec"]
    assert spec["schedule"] == "@hourly"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
    assert pod_spec(cron)["restartPolicy"] == "Never"  # podFailurePolicy requires it
    [rule] = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [2]
    assert rule["onExitCodes"]["containerName"] == pod_spec(cron)["containers"][0]["name"]
    args = container(cron, "sweeper")["args"]
    assert args[0] == "sweep"
    expected_action = {"full": "delete", "report-dry-run": "report"}.get(variant, "rollout")
    assert flag_values(args, "--action") == [expected_action]
    assert ("--dry-run" in args) == (variant == "report-dry-run")
    assert "kube-system" in flag_values(args, "--exclude-namespace")


def test_sweeper_optional_flags(render):
    args = container(render("full").one("CronJob"), "sweeper")["args"]
    assert flag_values(args, "--selector") == ["app.kubernetes.io/part-of=shop"]
    assert flag_values(args, "--namespace") == ["shop"]
    assert flag_values(args, "--max-actions") == ["5"]
    assert flag_values(args, "--output") == ["json"]
    [metrics] = flag_values(args, "--metrics-file")
    mounts = [m["mountPath"] for m in container(render("full").one("CronJob"), "sweeper")["volumeMounts"]]
    assert any(metrics.startswith(m + "/") for m in mounts), "metrics file on the read-only root filesystem"
    default_args = container(render("default").one("CronJob"), "sweeper")["args"]
    assert not flag_values(default_args, "--selector") and not flag_values(default_args, "--metrics-file")


def test_image_reference(render):
    assert container(render("default").one("Deployment"), "webhook")["image"] == "ghcr.io/kate-dev/kate:0.1.0"
    digest = "sha256:" + "0123456789abcdef" * 4
    for w in workloads(render("full")):
        assert pod_spec(w)["containers"][0]["image"] == f"ghcr.io/kate-dev/kate:0.1.0@{digest}"
    assert container(render("kustomize").one("Deployment"), "webhook")["image"] == "ghcr.io/kate-dev/kate:0.1.0"
