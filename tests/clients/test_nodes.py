"""Nodes in kate-dev-apiserver (the platform-coverage gate lists them): real kubectl and the Python client."""
from __future__ import annotations

import json
import re

import pytest
from kubernetes import client, config

NODES = [("sentinel-amd", "amd64"), ("sentinel-arm", "arm64")]


def manifest(name: str, arch: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
                                               "node-role.kubernetes.io/worker": ""}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"operatingSystem": "linux", "architecture": arch, "kubeletVersion": "v1.31.0",
                                "kubeProxyVersion": "v1.31.0", "containerRuntimeVersion": "containerd://1.7.22",
                                "kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                "machineID": f"{name}-machine", "systemUUID": f"{name}-uuid", "bootID": f"{name}-boot"}},
    })


@pytest.fixture(scope="module")
def api(apiserver):
    return config.new_client_from_config(config_file=str(apiserver.kubeconfig))


def create_nodes(apiserver):
    for name, arch in NODES:
        if apiserver.kubectl("get", "node", name, check=False).returncode != 0:
            apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=manifest(name, arch))


def test_kubectl_get_nodes_json_lists_cluster_scoped_nodes(apiserver):
    create_nodes(apiserver)
    listed = apiserver.kubectl_json("get", "nodes")
    assert listed["kind"] == "List"
    by_name = {n["metadata"]["name"]: n for n in listed["items"]}
    for name, arch in NODES:
        node = by_name[name]
        assert node["kind"] == "Node" and node["apiVersion"] == "v1"
        assert "namespace" not in node["metadata"], "nodes are cluster-scoped"
        assert node["metadata"]["labels"]["kubernetes.io/arch"] == arch
        assert node["status"]["nodeInfo"]["architecture"] == arch
    # The short name and a label selector, as the scheduler's well-known labels are used.
    arm = apiserver.kubectl_json("get", "no", "-l", "kubernetes.io/arch=arm64")["items"]
    assert [n["metadata"]["name"] for n in arm if n["metadata"]["name"].startswith("sentinel-")] == ["sentinel-arm"]


def test_kubectl_get_nodes_prints_the_servers_table(apiserver):
    create_nodes(apiserver)
    out = apiserver.kubectl("get", "nodes").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["sentinel-arm"][1:3] == ["Ready", "worker"]
    assert rows["sentinel-arm"][-1] == "v1.31.0"


def test_python_client_list_node(apiserver, api):
    create_nodes(apiserver)
    nodes = client.CoreV1Api(api).list_node(label_selector="kubernetes.io/os=linux")
    assert isinstance(nodes, client.V1NodeList)
    archs = {n.metadata.name: n.status.node_info.architecture for n in nodes.items}
    assert archs["sentinel-amd"] == "amd64" and archs["sentinel-arm"] == "arm64"
