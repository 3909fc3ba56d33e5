# Shared by verify-receiver.sh and bench-push-restart.sh (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_notifying_registry WORK REGISTRY_PORT EVENTS_PORT TOKEN CA_FILE: Debian's docker-registry on
# 127.0.0.1:REGISTRY_PORT whose `notifications` endpoint POSTs to kate's events listener
# (https://localhost:EVENTS_PORT/registry-events, Authorization: Bearer TOKEN); Go's TLS trusts kate's CA
# through SSL_CERT_FILE. Appends the registry's pid to the caller's `pids` array and waits until /v2/ answers.
start_notifying_registry() {
  local work="$1" port="$2" events_port="$3" token="$4" ca="$5"
  cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: kate-events}
notifications:
  endpoints:
    - name: kate
      url: https://localhost:$events_port/registry-events
      headers: {Authorization: [Bearer $token]}
      timeout: 5s
      threshold: 3
      backoff: 1s
YAML
  SSL_CERT_FILE="$ca" /usr/bin/docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "docker-registry did not answer on 127.0.0.1:$port; its log:" >&2; cat "$work/registry.log" >&2; return 1
}
