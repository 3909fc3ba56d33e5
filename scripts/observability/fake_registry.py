#!/usr/bin/env python3
"""A loopback stand-in for Docker Hub's manifest endpoint, for scripts/check-observability.sh.

    fake_registry.py PORT_FILE

Serves HEAD/GET /v2/<repo>/manifests/<tag> for any repository and tag with a real Docker v2 manifest
(Docker-Content-Digest is the sha256 of the bytes served) and Docker Hub's rate-limit headers
(`ratelimit-limit: 100;w=21600`, `ratelimit-remaining`, counting down one per GET, as Docker Hub counts
pulls). The debian docker-registry sends no rate-limit headers, so kate's rate-limit gauges would
never appear against it. POST /move makes every tag point at a new manifest (a pushed tag moving); the
old manifests stay reachable by digest, as in a registry, until POST /delete-old removes them (a
retention policy deleting what pods are pinned to). An unknown digest is 404 MANIFEST_UNKNOWN.
Binds 127.0.0.1 on an ephemeral port, writes the port to PORT_FILE; stops on SIGTERM.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import pathlib
import signal
import sys
import threading

LIMIT = 100


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 1
        self.oldest = 1
        self.remaining = LIMIT

    def by_digest(self, digest: str) -> bytes | None:
        with self.lock:
            generations = range(self.oldest, self.generation + 1)
        for generation in generations:
            body = self.manifest(generation)
            if "sha256:" + hashlib.sha256(body).hexdigest() == digest:
                return body
        return None

    def manifest(self, generation: int | None = None) -> bytes:
        if generation is None:
            with self.lock:
                generation = self.generation
        config = hashlib.sha256(f"config {generation}".encode()).hexdigest()
        layer = hashlib.sha256(f"layer {generation}".encode()).hexdigest()
        return json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100, "digest": f"sha256:{config}"},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 200, "digest": f"sha256:{layer}"}],
        }, separators=(",", ":")).encode()


STATE = State()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the script reads kate's metrics, not this log
        pass

    def answer(self, with_body: bool) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if self.path.rstrip("/") == "/v2":
            self.send(200, b"{}", {"Content-Type": "application/json"}, with_body)
            return
        if len(parts) < 4 or parts[0] != "v2" or parts[-2] != "manifests":
            self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}', {"Content-Type": "application/json"}, with_body)
            return
        reference = parts[-1]
        body = STATE.by_digest(reference) if reference.startswith("sha256:") else STATE.manifest()
        if body is None:
            self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', {"Content-Type": "application/json"}, with_body)
            return
        with STATE.lock:
            if with_body:
                STATE.remaining = max(0, STATE.remaining - 1)
            remaining = STATE.remaining
        self.send(200, body, {
            "Content-Type": "application/vnd.docker.distribution.manifest.v2+json",
            "Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest(),
            "ratelimit-limit": f"{LIMIT};w=21600",
            "ratelimit-remaining": f"{remaining};w=21600",
        }, with_body)

    def send(self, status: int, body: bytes, headers: dict[str, str], with_body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.answer(with_body=False)

    def do_GET(self) -> None:
        self.answer(with_body=True)

    def do_POST(self) -> None:
        if self.path == "/move":
            with STATE.lock:
                STATE.generation += 1
            self.send(200, b"moved\n", {"Content-Type": "text/plain"}, True)
        elif self.path == "/delete-old":
            with STATE.lock:
                STATE.oldest = STATE.generation
            self.send(200, b"deleted\n", {"Content-Type": "text/plain"}, True)
        else:
            self.send(404, b"", {}, True)


def main() -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    pathlib.Path(sys.argv[1]).write_text(str(server.server_address[1]))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
