"""Push-triggered re-resolve in the chart (webhook.events, ledger.enabled): the events listener's args,
secret mounts, container and Service ports, and the ledger flag; off by default."""
from manifests import container, flag_values, pod_spec


def test_events_off_by_default(render):
    r = render("default")
    c = container(r.one("Deployment"), "webhook")
    assert not [a for a in c["args"] if a.startswith("--events-") or a == "--ledger"]
    assert [p["name"] for p in r.one("Service")["spec"]["ports"]] == ["https"]


def test_events_listener_secrets_and_ports(render):
    r = render("events")
    deployment = r.one("Deployment")
    c = container(deployment, "webhook")
    args = c["args"]
    assert flag_values(args, "--events-listen") == ["0.0.0.0:8444"]
    assert "--ledger" in args
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    assert flag_values(args, "--events-token-file") == [mounts["events-token"]["mountPath"] + "/token"]
    assert flag_values(args, "--events-hmac-secret-file") == [mounts["events-hmac"]["mountPath"] + "/hmac"]
    assert all(mounts[n]["readOnly"] for n in ("events-token", "events-hmac"))
    assert volumes["events-token"]["secret"]["secretName"] == "kate-registry-events"
    assert [i["key"] for i in volumes["events-hmac"]["secret"]["items"]] == ["hmac"]
    assert flag_values(args, "--events-max-body-bytes") == ["524288"]
    # The ledger needs the API even with pull secrets off.
    assert pod_spec(deployment)["automountServiceAccountToken"] is True
    ports = {p["name"]: p for p in r.one("Service")["spec"]["ports"]}
    assert ports["events"]["port"] == 8444 and ports["events"]["targetPort"] == "events"


def test_push_sweep_flag_and_cluster_role(render):
    r = render("events")
    args = container(r.one("Deployment"), "webhook")["args"]
    assert "--push-sweep" in args
    role = next(o for o in r.objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("-push-sweeper"))
    granted = {(tuple(rule["apiGroups"]), resource, verb) for rule in role["rules"] for resource in rule["resources"] for verb in rule["verbs"]}
    assert (("apps",), "deployments", "patch") in granted and (("",), "pods", "list") in granted
    assert not [g for g in granted if g[1] == "secrets"], "the push sweeper reads no secrets"
    binding = next(o for o in r.objects if o["kind"] == "ClusterRoleBinding" and o["metadata"]["name"].endswith("-push-sweeper"))
    assert binding["subjects"][0]["name"] == pod_spec(r.one("Deployment"))["serviceAccountName"]
    assert not [o for o in render("default").objects if o["metadata"]["name"].endswith("-push-sweeper")]
