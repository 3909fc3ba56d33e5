"""coordination.k8s.io/v1 Lease on kate-dev-apiserver through the official Python client and kubectl:
discovery, typed create/read, PUT with resourceVersion preconditions (409 Conflict on a stale one, as
leader election relies on), 404 for an update of a missing Lease, and a watch seeing a renewal.
(kate's own LeaderElector is read back by kubectl in Tests/KateKubeTests/LeaseKubectlTests.swift.)
"""
from __future__ import annotations

import datetime
import json
import subprocess
import time

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

NAMESPACE = "leases"


@pytest.fixture(scope="module")
def coordination(apiserver):
    return client.CoordinationV1Api(config.new_client_from_config(config_file=str(apiserver.kubeconfig)))


def lease(name: str, holder: str) -> client.V1Lease:
    now = datetime.datetime.now(datetime.timezone.utc)
    return client.V1Lease(metadata=client.V1ObjectMeta(name=name),
                          spec=client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=15, acquire_time=now,
                                                  renew_time=now, lease_transitions=0))


def test_discovery_lists_leases_with_update_and_watch(apiserver):
    out = apiserver.kubectl("api-resources", "--api-group=coordination.k8s.io", "-o", "wide").stdout
    row = next(line for line in out.splitlines() if line.startswith("leases"))
    assert "coordination.k8s.io/v1" in row and "Lease" in row
    assert all(verb in row for verb in ("create", "get", "list", "update", "watch"))


def test_create_read_and_optimistic_update(coordination, apiserver):
    created = coordination.create_namespaced_lease(NAMESPACE, lease("lock", "candidate-a"))
    assert isinstance(created, client.V1Lease) and created.metadata.resource_version
    read = coordination.read_namespaced_lease("lock", NAMESPACE)
    assert read.spec.holder_identity == "candidate-a" and isinstance(read.spec.renew_time, datetime.datetime)

    stale = coordination.read_namespaced_lease("lock", NAMESPACE)
    read.spec.holder_identity = "candidate-b"
    read.spec.lease_transitions = 1
    renewed = coordination.replace_namespaced_lease("lock", NAMESPACE, read)
    assert renewed.spec.holder_identity == "candidate-b"
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)

    stale.spec.holder_identity = "candidate-c"
    with pytest.raises(ApiException) as conflict:
        coordination.replace_namespaced_lease("lock", NAMESPACE, stale)
    assert conflict.value.status == 409
    status = json.loads(conflict.value.body)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Conflict", 409)
    assert status["message"] == ('Operation cannot be fulfilled on leases.coordination.k8s.io "lock": the object has been modified; '
                                 'please apply your changes to the latest version and try again')
    assert status["details"] == {"name": "lock", "group": "coordination.k8s.io", "kind": "leases"}

    shown = apiserver.kubectl_json("get", "lease", "lock", "-n", NAMESPACE)
    assert shown["spec"]["holderIdentity"] == "candidate-b" and shown["spec"]["leaseTransitions"] == 1


def test_creating_twice_is_409_already_exists_and_updating_a_missing_lease_is_404(coordination):
    coordination.create_namespaced_lease(NAMESPACE, lease("twice", "a"))
    with pytest.raises(ApiException) as exists:
        coordination.create_namespaced_lease(NAMESPACE, lease("twice", "b"))
    assert exists.value.status == 409 and json.loads(exists.value.body)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as missing:
        coordination.replace_namespaced_lease("absent", NAMESPACE, lease("absent", "a"))
    assert missing.value.status == 404


def test_kubectl_watch_sees_a_renewal(coordination, apiserver):
    coordination.create_namespaced_lease(NAMESPACE, lease("watched", "a"))
    watcher = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(apiserver.cache), "get", "lease", "watched", "-n", NAMESPACE,
         "-w", "--output-watch-events", "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        current = coordination.read_namespaced_lease("watched", NAMESPACE)
        current.spec.renew_time = datetime.datetime.now(datetime.timezone.utc)
        coordination.replace_namespaced_lease("watched", NAMESPACE, current)
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=10)
    decoder, events, text = json.JSONDecoder(), [], out.strip()
    while text:
        event, end = decoder.raw_decode(text)
        events.append(event["type"])
        text = text[end:].lstrip()
    assert events == ["ADDED", "MODIFIED"], err
