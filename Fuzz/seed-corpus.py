#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/corpus/<target>/ from the project's own fixtures
(examples/, KubeTestServer fixtures) and the shapes the unit tests use. Re-run after fixtures
change; the files are small and checked in, so fuzz.sh works without this script."""
import base64, json, os, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "Fuzz" / "corpus"
fixtures = root / "Sources" / "KubeTestServer" / "Fixtures"
examples = root / "examples"

def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

review = (examples / "admission-review.json").read_bytes()

# HTTP requests as kube-apiserver, kubelet probes and curl send them. First byte: split size.
requests = {
    "mutate": b"POST /mutate?timeout=10s HTTP/1.1\r\nHost: kate.kate.svc:443\r\nContent-Type: application/json\r\n"
              b"Accept: application/json, */*\r\nContent-Length: %d\r\n\r\n" % len(review) + review,
    "healthz": b"GET /healthz HTTP/1.1\r\nHost: 10.0.0.7:8443\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n",
    "pipelined": b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /readyz HTTP/1.1\r\nHost: a\r\n\r\nPOST /validate HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
    "chunked": b"POST /mutate HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n{\"a\":\r\n3\r\n\"b\"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n",
    "http10": b"GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "expect": b"POST /mutate HTTP/1.1\r\nHost: k\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nnull",
    "lf-only": b"\r\nGET /readyz HTTP/1.1\nHost: x\n\n",
    "smuggle": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}
for i, (name, data) in enumerate(requests.items()):
    write("fuzz-http-request", name, bytes([i * 3 + 1]) + data)

chunks = {
    "simple": b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "ext-trailers": b"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\nGET /next HTTP/1.1\r\n",
    "lf-only": b"3\nabc\n0\n\n",
    "upper-hex": b"A\r\n0123456789\r\n0\r\n\r\n",
    "too-big": b"FFFFFFFFFFFF\r\n",
}
for i, (name, data) in enumerate(chunks.items()):
    write("fuzz-chunked", name, bytes([i]) + data)

for f in ["admission-review.json", "pinned-already-review.json"]:
    write("fuzz-admission", f, (examples / f).read_bytes())
# The ephemeral-containers review is 23 KB; keep it, libFuzzer's -max_len bounds mutations anyway.
write("fuzz-admission", "ephemeral-containers-update-review.json", (examples / "ephemeral-containers-update-review.json").read_bytes())
# The example pod with an image volume (volumes[].image.reference), which admission pins too.
with_volume = json.loads(review)
with_volume["request"]["object"]["spec"].setdefault("volumes", []).append(
    {"name": "models", "image": {"reference": "ghcr.io/acme/models:2026-11", "pullPolicy": "IfNotPresent"}})
write("fuzz-admission", "image-volume-review.json", json.dumps(with_volume, separators=(",", ":")))
minimal = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "namespace": "shop",
    "object": {"metadata": {"name": "p", "annotations": {"kate.dev/original-images": "{\"x\":\"y\"}"}},
               "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "ghcr.io/o/app:failing"}],
                        "initContainers": [{"name": "i", "image": "localhost:5000/x/y"}]}}}}
write("fuzz-admission", "minimal", json.dumps(minimal, separators=(",", ":")))

d64 = "sha256:" + "0123456789abcdef" * 4
refs = ["nginx", "nginx:1.27", "library/nginx:latest", "docker.io/library/busybox:latest@" + d64, "index.docker.io/bitnami/redis:7",
        "ghcr.io/org/app:v1", "127.0.0.1:5000/app", "localhost:5000/a/b:v", "[::1]:5000/app:v2", "[fe80::1:2]:443/a/b@" + d64,
        "Registry.Example.com:5000/a/b:v", "example.com/a_b/c__d/e-f/g---h/i.j", "gcr.io/project/image@" + d64,
        "bitnami/nginx:1.25.3-debian-12-r0", "nginx@" + d64, "registry.k8s.io/etcd:3.5.15-0"]
for i, r in enumerate(refs):
    write("fuzz-image-reference", "ref%02d" % i, r)

headers = ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
           'Newauth realm="apps", type=1, title="Login to \\"apps\\", please", Basic realm="simple", Bearer realm="https://r/t",error="insufficient_scope"',
           'Basic realm="a"\nBearer realm="https://b/token", service="s"',
           'Negotiate abc+/def==, Basic\nBearer',
           'Bearer realm = "x" , service= y', 'Bearer realm="unterminated', 'BASIC Realm="Registry Realm"']
for i, h in enumerate(headers):
    write("fuzz-www-authenticate", "header%02d" % i, h)

def b64(s): return base64.b64encode(s.encode()).decode()
configs = {
    "auths": {"auths": {"https://index.docker.io/v1/": {"auth": b64("hubuser:pa:ss:word"), "email": "x@y"},
                        "ghcr.io": {"username": "gh", "password": "tok"}, "registry.corp": {"identitytoken": "refresh-me"},
                        "empty.example": {}}, "credsStore": "desktop"},
    "legacy": {"old.example:5000": {"auth": b64("u:p"), "email": "e"}, "*.corp.example": {"registrytoken": "t"}},
    "paths": {"auths": {"ghcr.io/team": {"auth": b64("a:b")}, "[::1]:5000": {"username": "v6", "password": "x"}}},
}
for name, c in configs.items():
    write("fuzz-docker-config", name, json.dumps(c))
secret = json.loads((fixtures / "secret-regcred.json").read_text())
write("fuzz-docker-config", "secret-regcred", base64.b64decode(secret["data"][".dockerconfigjson"]))

ids = set()
for f in fixtures.glob("pod-*.json"):
    for status in json.loads(f.read_text()).get("status", {}).get("containerStatuses", []):
        if status.get("imageID"): ids.add(status["imageID"])
ids |= {"docker://sha256:" + "ab" * 32, "", "nginx@sha256:abc", "docker-pullable://localhost:5000/app@" + d64}
for i, v in enumerate(sorted(ids)):
    write("fuzz-image-id", "id%02d" % i, v)
