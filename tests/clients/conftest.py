"""One kate-dev-apiserver for the whole client-fidelity session, seeded from seed.yaml + pods.json.

KATE_DEV_APISERVER_BIN names the binary (scripts/test-clients.sh sets it; default .build/debug).
Every test reaches it only through a client kate did not write: the real kubectl, or the official
Python client.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class DevAPIServer:
    def __init__(self, directory: pathlib.Path, extra_args: tuple[str, ...] = ()):
        binary = os.environ.get("KATE_DEV_APISERVER_BIN", str(ROOT / ".build/debug/kate-dev-apiserver"))
        self.kubeconfig = directory / "kubeconfig"
        self.ready = directory / "ready"
        self.log = open(directory / "apiserver.log", "w")
        self.cache = directory / "kube-cache"
        self.process = subprocess.Popen(
            [binary, "--kubeconfig", str(self.kubeconfig), "--seed", str(HERE / "seed.yaml"), "--seed", str(HERE / "pods.json"),
             "--controllers", "--ready-file", str(self.ready), *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kate-dev-apiserver did not start: {(directory / 'apiserver.log').read_text()[-2000:]}")
            time.sleep(0.05)
        self.url = self.ready.read_text().strip()

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        run = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args],
                             capture_output=True, text=True, input=stdin, timeout=30)
        if check and run.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({run.returncode}): {run.stderr}")
        return run

    def kubectl_json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def compact(self) -> None:
        """Every continue token issued so far answers 410 from now on (SIGUSR1)."""
        self.process.send_signal(signal.SIGUSR1)
        time.sleep(0.3)

    def wait_until(self, what: str, predicate, seconds: float = 10):
        deadline = time.monotonic() + seconds
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("kate-dev-apiserver ignored SIGTERM")
        finally:
            self.log.close()


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory):
    server = DevAPIServer(tmp_path_factory.mktemp("dev-apiserver"))
    try:
        server.wait_until("the controllers' pods", lambda: len(server.kubectl_json("get", "pods", "-n", "shop", "-l", "app in (web,api)")["items"]) == 3)
        yield server
    finally:
        server.stop()
