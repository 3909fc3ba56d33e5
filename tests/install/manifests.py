"""Loading rendered manifests and the facts about kate that the tests check them against."""
from __future__ import annotations

import base64
import dataclasses
import pathlib
import re
import subprocess
import tempfile

import yaml

# Flags of the kate CLI, exactly as the team brief lists them (the chart must not invent any).
GLOBAL_FLAGS = {"--log-level", "--log-format"}
REGISTRY_FLAGS = {"--docker-config", "--registry-config", "--cache-ttl", "--negative-cache-ttl",
                  "--registry-concurrency", "--registry-timeout"}
KUBE_FLAGS = {"--kubeconfig", "--context"}
WEBHOOK_FLAGS = {"--listen", "--health-listen", "--tls-cert", "--tls-key", "--self-signed", "--dns-name", "--ca-out",
                 "--cert-reload-interval", "--max-header-bytes", "--max-body-bytes", "--handshake-timeout",
                 "--header-timeout", "--body-timeout", "--idle-timeout", "--max-connections",
                 "--handler-timeout", "--grace-period"}
# Push-triggered re-resolve and the digest ledger (EventsOptions.swift, a group of `kate webhook`).
EVENTS_FLAGS = {"--events-listen", "--events-token-file", "--events-hmac-secret-file", "--events-max-body-bytes",
                "--push-sweep"}
# LedgerOptions: shared by `kate webhook` and `kate sweep`.
LEDGER_FLAGS = {"--ledger", "--cooldown"}
ADMISSION_FLAGS = {"--mode", "--failure-mode", "--skip-namespace", "--own-namespace", "--include-image",
                   "--exclude-image", "--exclude-registry", "--default-timeout", "--timeout-margin",
                   "--stale-if-error", "--pull-secrets", "--pin-operator-owned", "--loop-breaker-creates",
                   "--loop-breaker-window", "--loop-breaker-cool-off", "--loop-breaker-owner-floor", "--loop-breaker-owner-factor"}
SWEEP_FLAGS = {"--namespace", "--selector", "--exclude-namespace", "--action", "--dry-run", "--max-actions",
               "--eviction-wait", "--output", "--metrics-file", "--window", "--notify-format", "--ledger-retention"}
ALLOWED_FLAGS = {
    "webhook": GLOBAL_FLAGS | WEBHOOK_FLAGS | EVENTS_FLAGS | LEDGER_FLAGS | ADMISSION_FLAGS | REGISTRY_FLAGS | KUBE_FLAGS,
    "sweep": GLOBAL_FLAGS | SWEEP_FLAGS | LEDGER_FLAGS | REGISTRY_FLAGS | KUBE_FLAGS,
}
INTEGER_FLAGS = {"--max-header-bytes", "--max-body-bytes", "--max-connections", "--registry-concurrency",
                 "--max-actions", "--loop-breaker-creates", "--events-max-body-bytes",
                 "--loop-breaker-owner-floor", "--loop-breaker-owner-factor"}
# Flags without a value (ArgumentParser's @Flag takes no `=true`).
BOOLEAN_FLAGS = {"--dry-run", "--ledger", "--push-sweep"}
ENUMS = {"--mode": {"pin", "warn"}, "--failure-mode": {"open", "deny"}, "--pull-secrets": {"auto", "on", "off"},
         "--action": {"rollout", "report", "notify", "delete"}, "--notify-format": {"auto", "json", "slack"}, "--output": {"table", "json"},
         "--log-format": {"text", "json"},
         "--log-level": {"trace", "debug", "info", "notice", "warning", "error", "critical"}}


class _Loader(yaml.SafeLoader):
    """YAML as the apiserver reads it (sigs.k8s.io/yaml): no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclasses.dataclass
class Render:
    path: pathlib.Path
    objects: list[dict]

    def all(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.path.name}: expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def maybe(self, kind: str) -> dict | None:
        found = self.all(kind)
        assert len(found) <= 1, f"{self.path.name}: more than one {kind}"
        return found[0] if found else None

    @property
    def namespace(self) -> str:
        return self.one("Deployment")["metadata"]["namespace"]


def load_render(path: pathlib.Path) -> Render:
    text = path.read_text()
    objects = [o for o in yaml.load_all(text, Loader=_Loader) if o]
    assert objects, f"{path} rendered no objects"
    return Render(path, objects)


def container(workload: dict, name: str) -> dict:
    spec = pod_spec(workload)
    return next(c for c in spec["containers"] if c["name"] == name)


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def flags(args: list[str]) -> list[tuple[str, str | None]]:
    """['webhook', '--mode=pin', '--dry-run'] -> [('--mode', 'pin'), ('--dry-run', None)]."""
    out = []
    for a in args[1:]:
        assert a.startswith("--"), f"positional argument {a!r}: every setting must be a --flag=value"
        name, sep, value = a.partition("=")
        out.append((name, value if sep else None))
    return out


def flag_values(args: list[str], name: str) -> list[str]:
    return [v for n, v in flags(args) if n == name]


def b64(data: str) -> bytes:
    # The apiserver (Go encoding/base64) ignores newlines inside base64; kustomize wraps lines.
    return base64.b64decode(re.sub(r"\s+", "", data))


def openssl(*args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=check)


def cert_text(pem: bytes) -> str:
    return openssl("x509", "-noout", "-text", stdin=pem).stdout.decode()


def cert_dns_names(pem: bytes) -> set[str]:
    out = openssl("x509", "-noout", "-ext", "subjectAltName", stdin=pem).stdout.decode()
    return set(re.findall(r"DNS:([^,\s]+)", out))


def verify_server_cert(ca_pem: bytes, cert_pem: bytes, hostname: str) -> subprocess.CompletedProcess:
    """What the apiserver does: chain to caBundle, serverAuth, hostname <svc>.<ns>.svc."""
    with tempfile.TemporaryDirectory() as d:
        ca, crt = pathlib.Path(d, "ca.pem"), pathlib.Path(d, "crt.pem")
        ca.write_bytes(ca_pem)
        crt.write_bytes(cert_pem)
        return openssl("verify", "-CAfile", str(ca), "-purpose", "sslserver", "-verify_hostname", hostname,
                       str(crt), check=False)


def public_key(pem: bytes, private: bool = False) -> bytes:
    if private:
        return openssl("pkey", "-pubout", stdin=pem).stdout
    return openssl("x509", "-noout", "-pubkey", stdin=pem).stdout
