"""Serving certificates: what the apiserver checks (chain to caBundle, serverAuth, SAN <svc>.<ns>.svc)."""
from __future__ import annotations

import pathlib
import re
import subprocess

import pytest

from conftest import ROOT
from manifests import (b64, cert_dns_names, cert_text, openssl, pod_spec, public_key,
                       verify_server_cert)


def dns_names(service: str, ns: str) -> set[str]:
    return {service, f"{service}.{ns}", f"{service}.{ns}.svc", f"{service}.{ns}.svc.cluster.local"}


def tls_secret_of(r) -> str:
    volumes = {v["name"]: v for v in pod_spec(r.one("Deployment"))["volumes"]}
    return volumes["tls"]["secret"]["secretName"]


def ca_bundle(r) -> bytes:
    return b64(r.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"])


@pytest.mark.parametrize("variant", ["default", "full", "validating", "kustomize"])
def test_secret_cert_verifies_against_ca_bundle_for_service_dns_name(render, variant):
    r = render(variant)
    service = r.one("Service")["metadata"]["name"]
    secret = r.one("Secret", tls_secret_of(r))
    assert secret["type"] == "kubernetes.io/tls"
    crt, key = b64(secret["data"]["tls.crt"]), b64(secret["data"]["tls.key"])
    bundle = ca_bundle(r)

    host = f"{service}.{r.namespace}.svc"
    ok = verify_server_cert(bundle, crt, host)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert cert_dns_names(crt) == dns_names(service, r.namespace)
    # The key in the Secret belongs to the certificate (a mismatch fails every handshake).
    assert public_key(key, private=True) == public_key(crt)
    text = cert_text(crt)
    assert "id-ecPublicKey" in text and ("P-256" in text or "prime256v1" in text)
    assert "TLS Web Server Authentication" in text

    # A name outside the SANs must not verify: the check above is not vacuous.
    wrong = verify_server_cert(bundle, crt, f"{service}.other-namespace.svc")
    assert wrong.returncode != 0


def test_generated_ca_secret_is_the_bundle_and_keeps_its_key(render):
    r = render("default")
    ca_secret = r.one("Secret", "kate-webhook-ca")
    ca_crt, ca_key = b64(ca_secret["data"]["tls.crt"]), b64(ca_secret["data"]["tls.key"])
    assert ca_crt == ca_bundle(r)
    assert public_key(ca_key, private=True) == public_key(ca_crt)
    assert "CA:TRUE" in cert_text(ca_crt)
    serving = r.one("Secret", "kate-webhook-tls")
    assert b64(serving["data"]["ca.crt"]) == ca_crt  # the ServiceMonitor verifies the scrape with it
    ann = serving["metadata"]["annotations"]
    assert set(ann["kate.dev/cert-dns-names"].split(",")) == dns_names("kate-webhook", "kate-system")
    assert int(ann["kate.dev/cert-not-after"]) > 0


def test_generated_cert_lifetimes(render):
    r = render("default")
    crt = b64(r.one("Secret", "kate-webhook-tls")["data"]["tls.crt"])
    # Valid for the configured 365 days: still valid in 364 days, expired in 366.
    assert openssl("x509", "-noout", "-checkend", str(364 * 86400), stdin=crt, check=False).returncode == 0
    assert openssl("x509", "-noout", "-checkend", str(366 * 86400), stdin=crt, check=False).returncode != 0


def test_existing_secret_mode_uses_the_given_bundle_and_secret(render, render_dir):
    r = render("existing-secret")
    given = (render_dir / "ca-bundle.b64").read_text().strip()
    assert r.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"] == given
    assert tls_secret_of(r) == "kate-webhook-tls"
    assert not r.all("Secret"), "existingSecret mode must not render a Secret of its own"


@pytest.mark.parametrize("variant", ["cert-manager", "cert-manager-issuer"])
def test_cert_manager_mode(render, variant):
    r = render(variant)
    ns = r.namespace
    service = r.one("Service")["metadata"]["name"]
    serving = r.one("Certificate", "kate-webhook")
    spec = serving["spec"]
    assert spec["secretName"] == tls_secret_of(r)
    assert set(spec["dnsNames"]) == dns_names(service, ns)
    assert "server auth" in spec["usages"]
    assert spec["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert set(spec) <= {"secretName", "commonName", "dnsNames", "duration", "renewBefore", "usages",
                         "privateKey", "issuerRef"}, "unknown cert-manager Certificate field"
    for kind in ("MutatingWebhookConfiguration",):
        config = r.one(kind)
        assert config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == f"{ns}/kate-webhook"
        assert "caBundle" not in config["webhooks"][0]["clientConfig"]  # cainjector owns it
    assert not r.all("Secret")

    issuer_ref = spec["issuerRef"]
    if variant == "cert-manager-issuer":
        assert issuer_ref == {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
        assert not r.all("Issuer")
        return
    # Self-signed -> CA Certificate -> CA Issuer -> serving Certificate.
    ca_issuer = r.one("Issuer", issuer_ref["name"])
    assert issuer_ref["kind"] == "Issuer"
    ca_cert = r.one("Certificate", "kate-webhook-ca")
    assert ca_cert["spec"]["isCA"] is True
    assert ca_issuer["spec"] == {"ca": {"secretName": ca_cert["spec"]["secretName"]}}
    assert r.one("Issuer", ca_cert["spec"]["issuerRef"]["name"])["spec"] == {"selfSigned": {}}


# ---------------------------------------------------------------- certs/make-certs.sh


def make_certs(out: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "certs/make-certs.sh"), "--out", str(out), "--no-kustomize", *args],
                          capture_output=True, text=True, check=False)


def test_make_certs_output(tmp_path):
    run = make_certs(tmp_path, "--service", "pin", "--namespace", "team-a")
    assert run.returncode == 0, run.stderr
    bundle = run.stdout.strip()
    ca = (tmp_path / "ca.crt").read_bytes()
    crt = (tmp_path / "tls.crt").read_bytes()
    assert b64(bundle) == ca
    assert (tmp_path / "ca-bundle.b64").read_text().strip() == bundle
    assert cert_dns_names(crt) == dns_names("pin", "team-a")
    assert verify_server_cert(ca, crt, "pin.team-a.svc").returncode == 0
    assert verify_server_cert(ca, crt, "pin.team-b.svc").returncode != 0
    assert public_key((tmp_path / "tls.key").read_bytes(), private=True) == public_key(crt)
    assert (tmp_path / "tls.key").stat().st_mode & 0o077 == 0, "private key readable by others"
    ca_text = cert_text(ca)
    assert "CA:TRUE" in ca_text and "Certificate Sign" in ca_text
    # CA ~5 years, leaf ~1 year.
    assert openssl("x509", "-noout", "-checkend", str(1824 * 86400), stdin=ca, check=False).returncode == 0
    assert openssl("x509", "-noout", "-checkend", str(366 * 86400), stdin=crt, check=False).returncode != 0


def test_make_certs_rerun_keeps_the_ca_unless_forced(tmp_path):
    first = make_certs(tmp_path)
    crt1 = (tmp_path / "tls.crt").read_bytes()
    second = make_certs(tmp_path)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout, "a re-run must not change the caBundle"
    assert (tmp_path / "tls.crt").read_bytes() != crt1, "a re-run renews the serving cert"
    forced = make_certs(tmp_path, "--force")
    assert forced.returncode == 0 and forced.stdout != first.stdout


def test_make_certs_rejects_bad_names(tmp_path):
    run = make_certs(tmp_path, "--namespace", "Not_A_Label")
    assert run.returncode == 2
    assert "is not a DNS label" in run.stderr


def test_kustomize_secret_is_hashed_and_mounted(render):
    r = render("kustomize")
    name = tls_secret_of(r)
    assert re.fullmatch(r"kate-webhook-tls-[a-z0-9]{10}", name), name
    assert set(r.one("Secret", name)["data"]) == {"tls.crt", "tls.key", "ca.crt"}
