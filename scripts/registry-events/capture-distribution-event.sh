#!/usr/bin/env bash
# Captures the real Debian docker-registry's own push notification: starts the registry on a
# loopback port with `notifications.endpoints` pointing at a loopback listener, pushes one image
# with push-image.py, and writes the first push event's request (headers + body) to the fixture.
#
# usage: scripts/registry-events/capture-distribution-event.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../Tests/Fixtures/registry-events}"
work="$(mktemp -d)"
cleanup() { [[ -n "${registry_pid:-}" ]] && kill "$registry_pid" 2>/dev/null; [[ -n "${listener_pid:-}" ]] && kill "$listener_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
listen_port="$(free_port)"; registry_port="$(free_port)"

# The listener: answers 200 to every POST and keeps each request as NNN.json / NNN.headers.
python3 - "$listen_port" "$work" <<'PY' &
import http.server, sys, os
port, directory = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    count = 0
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Handler.count += 1
        base = os.path.join(directory, f"{Handler.count:03d}")
        with open(base + ".json", "wb") as f: f.write(body)
        with open(base + ".headers", "w") as f: f.write(str(self.headers))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
listener_pid=$!

cat > "$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$registry_port
  secret: capture
notifications:
  endpoints:
    - name: capture
      url: http://127.0.0.1:$listen_port/registry-events
      headers:
        Authorization: [Bearer capture-token]
      timeout: 2s
      threshold: 3
      backoff: 1s
YAML
/usr/bin/docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

digest="$(python3 "$here/push-image.py" "127.0.0.1:$registry_port" kate/demo v1)"
echo "pushed kate/demo:v1 -> $digest" >&2
# The registry batches and sends events asynchronously: wait for the manifest push to arrive.
for _ in $(seq 100); do
  found="$(grep -l '"mediaType": *"application/vnd.docker.distribution.manifest.v2+json"' "$work"/*.json 2>/dev/null | head -1 || true)"
  [[ -n "$found" ]] && grep -q '"tag"' "$found" && break
  sleep 0.1
done
[[ -n "${found:-}" ]] || { echo "no manifest push notification arrived; registry log:" >&2; cat "$work/registry.log" >&2; exit 1; }
mkdir -p "$out"
python3 -m json.tool "$found" > "$out/distribution-push.json"
sed 's/\r$//' "${found%.json}.headers" > "$out/distribution-push.headers"
echo "wrote $out/distribution-push.json ($(/usr/bin/docker-registry --version 2>/dev/null | head -1))" >&2
