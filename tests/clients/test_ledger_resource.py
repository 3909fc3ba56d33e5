"""kate's custom resource (kate.dev/v1alpha1 ImageTagHistory) on kate-dev-apiserver, through the Python
client's CustomObjectsApi and kubectl: discovery (short name ith), create/get/list, replace with a stale
resourceVersion answering 409 Conflict, and a watch seeing the update. kate's own DigestLedger writes are
read back by kubectl in Tests/KateKubeTests/LeaseKubectlTests.swift.
"""
from __future__ import annotations

import json

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL, NAMESPACE = "kate.dev", "v1alpha1", "imagetaghistories", "kate"


@pytest.fixture(scope="module")
def custom(apiserver):
    return client.CustomObjectsApi(config.new_client_from_config(config_file=str(apiserver.kubeconfig)))


def history(name: str, digest: str) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ImageTagHistory", "metadata": {"name": name},
            "spec": {"reference": "docker.io/library/redis:7",
                     "digests": [{"digest": digest, "firstSeen": "2026-12-01T00:00:00Z", "lastSeen": "2026-12-01T00:00:00Z"}]}}


def test_create_replace_conflict_and_watch(custom, apiserver):
    created = custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, history("tag-redis", "sha256:" + "1" * 64))
    start = created["metadata"]["resourceVersion"]
    current = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "tag-redis")
    current["spec"]["digests"].insert(0, {"digest": "sha256:" + "2" * 64, "firstSeen": "2026-12-02T00:00:00Z",
                                          "lastSeen": "2026-12-02T00:00:00Z", "flags": ["bad"]})
    replaced = custom.replace_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "tag-redis", current)
    assert int(replaced["metadata"]["resourceVersion"]) > int(start)
    with pytest.raises(ApiException) as conflict:
        custom.replace_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "tag-redis", created)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "Conflict"

    shown = apiserver.kubectl_json("get", "ith", "tag-redis", "-n", NAMESPACE)
    assert [d["digest"][-1] for d in shown["spec"]["digests"]] == ["2", "1"]
    events = list(watch.Watch().stream(custom.list_namespaced_custom_object, GROUP, VERSION, NAMESPACE, PLURAL,
                                       resource_version=start, timeout_seconds=1))
    assert [e["type"] for e in events] == ["MODIFIED"]
    assert events[0]["object"]["spec"]["digests"][0]["flags"] == ["bad"]
