"""values.schema.json and the chart's own `fail`s reject what the Kubernetes schemas would let through."""
from __future__ import annotations

import base64
import subprocess

import pytest

from conftest import CHART_CHECK, ROOT


def chart_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", CHART_CHECK, "-q", str(ROOT / "charts/kate"), "-n", "kate-system", "-r", "kate",
                           *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("setting, complaint", [
    ("admission.mutating.failurePolicy=Sometimes", "/admission/mutating/failurePolicy': value must be one of"),
    ("admission.validating.failurePolicy=Always", "/admission/validating/failurePolicy': value must be one of"),
    ("admission.mutating.reinvocationPolicy=Twice", "/admission/mutating/reinvocationPolicy': value must be one of"),
    ("admission.mutating.timeoutSeconds=31", "/admission/mutating/timeoutSeconds'"),
    ("webhook.mode=block", "/webhook/mode': value must be one of"),
    ("webhook.failureMode=closed", "/webhook/failureMode': value must be one of"),
    ("webhook.pullSecrets=maybe", "/webhook/pullSecrets': value must be one of"),
    ("sweeper.action=nuke", "/sweeper/action': value must be one of"),
    ("sweeper.output=yaml", "/sweeper/output': value must be one of"),
    ("tls.mode=selfSigned", "/tls/mode': value must be one of"),
    ("webhook.replicaCount=3", "replicaCount"),          # a typo is an error, not a silent default
    ("webhook.extraArgs[0]=--nonsense value", "/webhook/extraArgs/0'"),
    ("registry.cacheTTL=five minutes", "/registry/cacheTTL'"),
])
def test_schema_rejects(setting, complaint):
    run = chart_check("--set", setting)
    assert run.returncode == 1, run.stdout
    assert "values don't meet the specifications of the schema" in run.stdout
    assert complaint in run.stdout, run.stdout


def test_existing_secret_without_ca_bundle_fails_with_the_fix():
    run = chart_check("--set", "tls.mode=existingSecret", "--set", "tls.existingSecret.name=mine")
    assert run.returncode == 1
    assert "tls.mode=existingSecret needs tls.existingSecret.caBundle" in run.stdout + run.stderr


def test_cert_manager_without_its_api_fails_with_the_fix():
    run = chart_check("--set", "tls.mode=certManager")
    assert run.returncode == 1
    assert "needs the cert-manager.io/v1 API" in run.stdout + run.stderr


def test_ca_bundle_may_be_given_as_pem(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    out = tmp_path / "r.yaml"
    run = chart_check("--set", "tls.mode=existingSecret", "--set", "tls.existingSecret.name=mine",
                      "--set", f"tls.existingSecret.caBundle={pem}", "-o", str(out))
    assert run.returncode == 0, run.stdout
    assert base64.b64encode(pem.encode()).decode() in out.read_text()


def test_single_replica_gets_no_pdb(tmp_path):
    out = tmp_path / "r.yaml"
    run = chart_check("--set", "webhook.replicas=1", "-o", str(out))
    assert run.returncode == 0, run.stdout
    assert "kind: PodDisruptionBudget" not in out.read_text()


@pytest.mark.parametrize("component", ["webhook", "sweeper"])
def test_unnamed_existing_service_account_is_refused(component):
    """create=false without a name must not bind kate's role to the namespace's `default` ServiceAccount."""
    run = chart_check("--set", f"{component}.serviceAccount.create=false")
    assert run.returncode == 1
    assert f"{component}.serviceAccount.create=false needs {component}.serviceAccount.name" in run.stdout + run.stderr
