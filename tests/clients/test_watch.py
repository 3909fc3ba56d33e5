"""Watch on kate-dev-apiserver, driven by the official Python client's `watch.Watch().stream` and by
`kubectl get -w --output-watch-events -o json`: event types and order, resume from a resourceVersion,
bookmarks, label-selector transitions, 410 Expired for a resourceVersion older than the history, chunked
transfer-encoding. Its own server (fast bookmarks, a short history), so compaction here touches no other test.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from conftest import DevAPIServer

NAMESPACE = "watching"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = DevAPIServer(tmp_path_factory.mktemp("watch-apiserver"),
                            extra_args=("--watch-bookmark-interval", "0.5", "--watch-history", "40"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def core(server):
    return client.CoreV1Api(config.new_client_from_config(config_file=str(server.kubeconfig)))


def pod(name: str, labels: dict | None = None) -> client.V1Pod:
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": "watched"}),
                        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.27")]))


def test_replay_from_a_resource_version_gives_added_modified_deleted_in_order(core):
    start = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    core.create_namespaced_pod(NAMESPACE, pod("replay"))
    core.patch_namespaced_pod("replay", NAMESPACE, {"metadata": {"labels": {"step": "2"}}})
    core.delete_namespaced_pod("replay", NAMESPACE)
    events = list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, resource_version=start, timeout_seconds=2))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "replay"), ("MODIFIED", "replay"), ("DELETED", "replay")]
    assert all(isinstance(e["object"], client.V1Pod) for e in events)
    assert events[1]["object"].metadata.labels["step"] == "2"
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and versions[0] > int(start)
    # The DELETED object carries the deletion's resourceVersion, newer than the last modification.
    assert versions[2] > versions[1]


def test_live_events_arrive_while_the_stream_is_open(core):
    start = core.list_namespaced_pod(NAMESPACE).metadata.resource_version

    def writer():
        time.sleep(0.5)
        core.create_namespaced_pod(NAMESPACE, pod("live"))
        core.delete_namespaced_pod("live", NAMESPACE)

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    w = watch.Watch()
    began = time.monotonic()
    for event in w.stream(core.list_namespaced_pod, NAMESPACE, resource_version=start, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "DELETED":
            w.stop()
    thread.join()
    assert seen == [("ADDED", "live"), ("DELETED", "live")]
    assert time.monotonic() - began < 5, "events must stream, not wait for the watch's timeout"


def test_no_resource_version_starts_with_the_current_objects_as_added(core):
    core.create_namespaced_pod(NAMESPACE, pod("present-1"))
    core.create_namespaced_pod(NAMESPACE, pod("present-2"))
    try:
        events = list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, timeout_seconds=1))
        assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "present-1"), ("ADDED", "present-2")]
    finally:
        core.delete_namespaced_pod("present-1", NAMESPACE)
        core.delete_namespaced_pod("present-2", NAMESPACE)


def test_bookmarks_carry_the_current_resource_version(core):
    start = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    w = watch.Watch()
    bookmarks = []
    for event in w.stream(core.list_namespaced_pod, NAMESPACE, resource_version=start, allow_watch_bookmarks=True, timeout_seconds=3):
        assert event["type"] == "BOOKMARK"
        bookmarks.append(event["raw_object"])
        if len(bookmarks) == 2:
            w.stop()
    assert len(bookmarks) == 2
    assert all(b["kind"] == "Pod" and b["apiVersion"] == "v1" and int(b["metadata"]["resourceVersion"]) >= int(start) for b in bookmarks)
    # The client keeps the bookmark's resourceVersion to resume from.
    assert w.resource_version == bookmarks[-1]["metadata"]["resourceVersion"]


def test_label_selector_transitions_are_added_and_deleted(core):
    core.create_namespaced_pod(NAMESPACE, pod("mover", labels={"app": "watched"}))
    start = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    core.patch_namespaced_pod("mover", NAMESPACE, {"metadata": {"labels": {"tier": "gold"}}})
    core.patch_namespaced_pod("mover", NAMESPACE, {"metadata": {"labels": {"note": "still-gold"}}})
    core.patch_namespaced_pod("mover", NAMESPACE, {"metadata": {"labels": {"tier": None}}})
    core.delete_namespaced_pod("mover", NAMESPACE)
    events = list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, label_selector="tier=gold", resource_version=start, timeout_seconds=2))
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert "tier" in events[0]["object"].metadata.labels and events[1]["object"].metadata.labels["note"] == "still-gold"


def test_a_resource_version_older_than_the_history_is_410_expired(core, server):
    old = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    # Forty-one changes push `old` out of the 40-change history.
    for index in range(21):
        core.create_namespaced_pod(NAMESPACE, pod(f"churn-{index}"))
    for index in range(21):
        core.delete_namespaced_pod(f"churn-{index}", NAMESPACE)
    with pytest.raises(ApiException) as expired:
        list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, resource_version=old, timeout_seconds=2))
    assert expired.value.status == 410
    assert "Expired" in expired.value.reason and f"too old resource version: {old}" in expired.value.reason
    # The raw stream: HTTP 200, chunked, one ERROR event holding a 410 Status (the watch cache's answer).
    response = core.list_namespaced_pod(NAMESPACE, watch=True, resource_version=old, timeout_seconds=2, _preload_content=False)
    assert response.status == 200 and response.headers.get("Transfer-Encoding") == "chunked"
    lines = [line for line in response.data.decode().splitlines() if line]
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert (event["object"]["kind"], event["object"]["code"], event["object"]["reason"]) == ("Status", 410, "Expired")
    # A fresh list gives a resourceVersion the watch accepts again.
    fresh = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    assert list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, resource_version=fresh, timeout_seconds=1)) == []


def test_a_compaction_expires_watches_from_before_it(core, server):
    old = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    core.create_namespaced_pod(NAMESPACE, pod("before-compaction"))
    core.delete_namespaced_pod("before-compaction", NAMESPACE)
    server.compact()
    with pytest.raises(ApiException) as expired:
        list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, resource_version=old, timeout_seconds=2))
    assert expired.value.status == 410


def test_kubectl_get_watch_prints_list_then_watch_events(core, server):
    core.create_namespaced_pod(NAMESPACE, pod("kubectl-seen"))
    watcher = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(server.kubeconfig), "--cache-dir", str(server.cache), "get", "pods", "-n", NAMESPACE,
         "-w", "--output-watch-events", "-o", "json", "--request-timeout", "20s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        core.create_namespaced_pod(NAMESPACE, pod("kubectl-new"))
        core.patch_namespaced_pod("kubectl-new", NAMESPACE, {"metadata": {"labels": {"seen": "yes"}}})
        core.delete_namespaced_pod("kubectl-new", NAMESPACE)
        time.sleep(2)
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=10)
        core.delete_namespaced_pod("kubectl-seen", NAMESPACE)
    decoder, events, text = json.JSONDecoder(), [], out.strip()
    while text:
        event, end = decoder.raw_decode(text)
        events.append((event["type"], event["object"]["metadata"]["name"]))
        text = text[end:].lstrip()
    assert events == [("ADDED", "kubectl-seen"), ("ADDED", "kubectl-new"), ("MODIFIED", "kubectl-new"), ("DELETED", "kubectl-new")], err
