#!/usr/bin/env python3
"""Pushes a tiny image (one gzip layer, a config with a fresh nonce: every push is a new
digest) to a registry over plain HTTP with Docker's push protocol, and prints the manifest digest.

usage: push-image.py HOST:PORT REPOSITORY TAG
Only loopback registries: the scripts that use it start docker-registry on 127.0.0.1.
"""
import gzip
import hashlib
import http.client
import io
import json
import sys
import tarfile
import uuid


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, dict(response.getheaders()), data


def upload_blob(conn, repository, blob):
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    status, headers, _ = request(conn, "POST", f"/v2/{repository}/blobs/uploads/")
    if status != 202:
        sys.exit(f"blob upload start answered {status}")
    location = headers.get("Location") or headers.get("location")
    if location.startswith("http"):
        location = "/" + location.split("/", 3)[3]
    separator = "&" if "?" in location else "?"
    status, _, body = request(conn, "PUT", f"{location}{separator}digest={digest}", blob,
                              {"Content-Type": "application/octet-stream", "Content-Length": str(len(blob))})
    if status != 201:
        sys.exit(f"blob PUT answered {status}: {body[:200]!r}")
    return digest


def push(host, repository, tag):
    """Pushes one fresh image as REPOSITORY:TAG; returns its digest once the manifest PUT is answered."""
    if not (host.startswith("127.") or host.startswith("localhost") or host.startswith("[::1]")):
        sys.exit("push-image.py pushes only to a loopback registry")
    conn = http.client.HTTPConnection(host, timeout=10)

    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        content = f"kate push {uuid.uuid4()}\n".encode()
        info = tarfile.TarInfo("kate.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    raw = layer_tar.getvalue()
    layer = gzip.compress(raw, mtime=0)
    layer_digest = upload_blob(conn, repository, layer)

    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"dev.kate.nonce": str(uuid.uuid4())}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
    }, sort_keys=True).encode()
    config_digest = upload_blob(conn, repository, config)

    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": layer_digest}],
    }, sort_keys=True).encode()
    status, headers, body = request(conn, "PUT", f"/v2/{repository}/manifests/{tag}", manifest,
                                    {"Content-Type": media_type, "Content-Length": str(len(manifest))})
    if status != 201:
        sys.exit(f"manifest PUT answered {status}: {body[:200]!r}")
    conn.close()
    return headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(manifest).hexdigest()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: push-image.py HOST:PORT REPOSITORY TAG")
    print(push(*sys.argv[1:]))


if __name__ == "__main__":
    main()
