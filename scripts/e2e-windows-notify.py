#!/usr/bin/env python3
"""e2e-windows-notify.py — `kate sweep` maintenance windows and notifications, checked by things kate did not write.

The shipped `kate` binary sweeps the Kubernetes test API server (kate-dev-apiserver) against a real registry
(Debian's docker-registry on loopback, an image pushed with skopeo). Two bare pods run a stale digest of the tag:
one in namespace `shop` (the --window flags apply), one in namespace `frozen` (annotated kate.dev/window).

  1. Windows: for every (window, instant) case below — DST days in Europe/Berlin and America/New_York, windows
     crossing midnight, day ranges and lists — Python's zoneinfo decides whether the instant is inside the window and
     when it next opens; `kate sweep --dry-run --now INSTANT --window W --output json` must agree (the pod's ACTION is
     "would evict …" inside, "outside maintenance window (next: …)" outside) and exit 2 either way (dry run).
  2. The namespace annotation replaces the flag for its pods.
  3. Outside every window, a real sweep (no --dry-run) evicts nothing (kubectl still lists the pod) and exits 2.
  4. Notifications: `kate sweep --action notify --notify-url …` POSTs to a Python http.server receiver on loopback,
     whose first answer is 503 (kate must retry); the JSON bodies are validated field by field; nothing is written
     (kubectl: the pods are still there); exit 2. A Slack-format run is validated for `text` + `blocks`.
  5. Inside a window a real sweep evicts the `shop` pod (kubectl: gone) and holds the `frozen` one.

  scripts/e2e-windows-notify.py     (KATE_BIN / KATE_DEV_APISERVER_BIN override .build/debug/…)
Exit 0 when every check passed. Only loopback is used; every process started here is stopped by its pid.
"""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from e2e_shared import borrow_guards

ROOT = Path(__file__).resolve().parent.parent
# The registry, API server and image helpers of e2e-guards.py, not a copy of them.
guards = borrow_guards("e2e-windows-notify")
work = guards.work
KATE, APISERVER = guards.KATE, guards.APISERVER
expect, fail, start, wait_for, free_port = guards.expect, guards.fail, guards.start, guards.wait_for, guards.free_port

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def parse_window(text: str) -> tuple[set[int], int, int, ZoneInfo, str]:
    """The README's grammar: [DAYS] HH:MM-HH:MM [ZONE]; DAYS like Sat, Mon-Fri, Mon,Wed,Fri (ISO 1..7)."""
    words = text.split()
    days = set(range(1, 8))
    if words[0][0].isalpha():
        days = set()
        for item in words.pop(0).split(","):
            first, _, last = item.partition("-")
            a, b = DAYS.index(first.capitalize()) + 1, DAYS.index((last or first).capitalize()) + 1
            while True:
                days.add(a)
                if a == b:
                    break
                a = a % 7 + 1
    start_text, end_text = words.pop(0).split("-")
    minutes = lambda t: int(t[:2]) * 60 + int(t[3:])  # noqa: E731
    zone_name = words[0] if words else "UTC"
    return days, minutes(start_text), minutes(end_text), ZoneInfo(zone_name), zone_name


def local(day, minute: int, zone: ZoneInfo) -> datetime:
    """Wall time → aware datetime, fold=0 (the first of a repeated time; a skipped one read with the earlier offset)."""
    if minute == 24 * 60:
        day, minute = day + timedelta(days=1), 0
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)


def openings(window: str, around: datetime):
    days, start_minute, end_minute, zone, _ = parse_window(window)
    today = around.astimezone(zone).date()
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if day.isoweekday() not in days:
            continue
        opens = local(day, start_minute, zone)
        close_day = day if end_minute > start_minute else day + timedelta(days=1)
        closes = local(close_day, end_minute, zone)
        # Compared as UTC timestamps: aware datetimes of one zone compare by wall time in Python.
        yield opens.timestamp(), closes.timestamp(), opens


def python_decision(window: str, instant: datetime) -> tuple[bool, str]:
    """(inside, 'Sat 02:00 Europe/Berlin' of the next opening) by zoneinfo."""
    t = instant.timestamp()
    inside = any(o <= t < c for o, c, _ in openings(window, instant))
    _, _, _, zone, zone_name = parse_window(window)
    nxt = min((opens for o, _, opens in openings(window, instant) if o > t), key=lambda d: d.timestamp())
    wall = datetime.fromtimestamp(nxt.timestamp(), tz=zone)
    return inside, f"{DAYS[wall.isoweekday() - 1]} {wall:%H:%M} {zone_name}"


# (window, instant UTC). Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
# America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
CASES = [
    ("Sat 02:00-04:00 Europe/Berlin", "2026-12-05T00:59:00Z"),
    ("Sat 02:00-04:00 Europe/Berlin", "2026-12-05T01:00:00Z"),
    ("Sat 02:00-04:00 Europe/Berlin", "2026-12-05T02:59:00Z"),
    ("Sat 02:00-04:00 Europe/Berlin", "2026-12-05T03:00:00Z"),
    ("Sat 02:00-04:00 Europe/Berlin", "2026-12-03T06:00:00Z"),
    ("Sun 02:30-04:00 Europe/Berlin", "2026-03-29T01:15:00Z"),
    ("Sun 02:30-04:00 Europe/Berlin", "2026-03-29T01:30:00Z"),
    ("Sun 02:30-04:00 Europe/Berlin", "2026-03-29T01:59:00Z"),
    ("Sun 02:30-04:00 Europe/Berlin", "2026-03-29T02:00:00Z"),
    ("Sun 01:00-04:00 Europe/Berlin", "2026-03-29T01:59:00Z"),
    ("Sun 01:00-04:00 Europe/Berlin", "2026-03-29T02:00:00Z"),
    ("Sun 02:00-03:00 Europe/Berlin", "2026-10-24T23:59:00Z"),
    ("Sun 02:00-03:00 Europe/Berlin", "2026-10-25T00:00:00Z"),
    ("Sun 02:00-03:00 Europe/Berlin", "2026-10-25T01:30:00Z"),
    ("Sun 02:00-03:00 Europe/Berlin", "2026-10-25T02:00:00Z"),
    ("Sun 01:00-03:00 America/New_York", "2026-03-08T06:30:00Z"),
    ("Sun 01:00-03:00 America/New_York", "2026-03-08T07:00:00Z"),
    ("Sun 01:00-03:00 America/New_York", "2026-03-08T06:59:00Z"),
    ("Sun 01:00-02:00 America/New_York", "2026-11-01T05:30:00Z"),
    ("Sun 01:00-02:00 America/New_York", "2026-11-01T06:30:00Z"),
    ("Sun 01:00-02:00 America/New_York", "2026-11-01T07:00:00Z"),
    ("Fri 22:00-02:00", "2026-12-04T23:00:00Z"),
    ("Fri 22:00-02:00", "2026-12-05T01:59:00Z"),
    ("Fri 22:00-02:00", "2026-12-05T02:00:00Z"),
    ("Fri 22:00-02:00", "2026-12-05T22:30:00Z"),
    ("Mon-Fri 23:00-01:00 Asia/Tokyo", "2026-12-05T15:30:00Z"),
    ("Mon-Fri 23:00-01:00 Asia/Tokyo", "2026-12-06T15:30:00Z"),
    ("Fri-Mon 12:00-13:00 Australia/Lord_Howe", "2026-10-04T01:15:00Z"),
    ("Mon,Wed,Fri 00:00-24:00 UTC", "2026-12-02T12:00:00Z"),
    ("Mon,Wed,Fri 00:00-24:00 UTC", "2026-12-03T12:00:00Z"),
    ("03:00-04:00 Europe/London", "2026-03-29T02:30:00Z"),
]


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[dict] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Receiver.lock:
            first = not Receiver.statuses
            status = 503 if first else 200
            Receiver.statuses.append(status)
            if status == 200:
                Receiver.bodies.append({"contentType": self.headers.get("Content-Type"), "json": json.loads(body)})
        self.send_response(status)
        if first:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    guards.require_tools("e2e-windows-notify")
    registry = guards.start_registry()
    guards.push_image(registry, "e2e/app", "1")
    repository, image = f"{registry}/e2e/app", f"{registry}/e2e/app:1"

    frozen_window = "Sun 03:00-04:00 America/New_York"
    seed = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "frozen", "annotations": {"kate.dev/window": frozen_window}}},
        guards.stale_pod("shop", "web-1", image, repository),
        guards.stale_pod("frozen", "ledger-1", image, repository),
    ]
    (work / "seed.json").write_text(json.dumps(seed))
    kubeconfig = work / "kubeconfig"
    start("apiserver", APISERVER, "--kubeconfig", str(kubeconfig), "--seed", str(work / "seed.json"), "--ready-file", str(work / "ready"))
    wait_for("kate-dev-apiserver ready", 15, lambda: (work / "ready").exists())
    (work / "registry-config.json").write_text(json.dumps({"registries": {registry: {"plainHTTP": True}}}))

    def sweep(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
        run = subprocess.run([KATE, "sweep", "--kubeconfig", str(kubeconfig), "--registry-config", str(work / "registry-config.json"),
                              "--exclude-namespace", "kube-system", "--output", "json", "--log-level", "error", *args],
                             capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
        try:
            return run.returncode, json.loads(run.stdout)
        except json.JSONDecodeError:
            fail(f"kate sweep {' '.join(args)}: no JSON report (exit {run.returncode}): {run.stderr.strip()[-400:]}")
            raise

    def action_of(document: dict, namespace: str) -> str:
        return next(row["action"] for row in document["rows"] if row["namespace"] == namespace)

    def kubectl(*args: str) -> str:
        return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(work / "kube-cache"), *args],
                              capture_output=True, text=True, check=True).stdout

    # 1. Every case: kate's decision = zoneinfo's.
    agreed = 0
    for window, instant_text in CASES:
        instant = datetime.fromisoformat(instant_text.replace("Z", "+00:00")).astimezone(timezone.utc)
        inside, next_opening = python_decision(window, instant)
        code, document = sweep("--dry-run", "--now", instant_text, "--window", window, "--namespace", "shop")
        action = action_of(document, "shop")
        expected = "would evict pod shop/web-1" if inside else f"outside maintenance window (next: {next_opening})"
        if action != expected or code != 2 or document["exitCode"] != 2:
            fail(f"window {window!r} at {instant_text}: zoneinfo says {'inside' if inside else 'outside'} ({expected!r}); "
                 f"kate said {action!r}, exit {code}")
        agreed += 1
        print(f"    {window:42} {instant_text}  {'inside ' if inside else 'outside'}  {action}")
    expect(f"{agreed} window decisions (DST days in Berlin and New York, midnight crossings, day ranges) equal zoneinfo's", agreed == len(CASES))

    # 2. The namespace annotation replaces --window.
    code, document = sweep("--dry-run", "--now", "2026-12-05T01:30:00Z", "--window", "Sat 02:00-04:00 Europe/Berlin")
    _, frozen_next = python_decision(frozen_window, datetime(2026, 12, 5, 1, 30, tzinfo=timezone.utc))
    expect("namespace frozen follows its kate.dev/window annotation, shop the flag",
           action_of(document, "shop") == "would evict pod shop/web-1"
           and action_of(document, "frozen") == f"outside maintenance window of namespace frozen (next: {frozen_next})")

    # 3. Outside every window a real sweep writes nothing.
    code, document = sweep("--now", "2026-12-03T06:00:00Z", "--window", "Sat 02:00-04:00 Europe/Berlin")
    pods = kubectl("get", "pods", "-A", "-o", "name").split()
    expect("outside every window: exit 2, no eviction (kubectl still lists both pods)",
           code == 2 and document["exitCode"] == 2 and sorted(pods) == ["pod/ledger-1", "pod/web-1"])

    # 4. Notifications to a Python receiver.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/kate?token=s3cret"
    try:
        code, document = sweep("--action", "notify", "--notify-url", url, "--now", "2026-12-05T01:30:00Z",
                               "--window", "Sat 02:00-04:00 Europe/Berlin")
        expect("--action notify: exit 2 (as report), nothing written (both pods still listed)",
               code == 2 and sorted(kubectl("get", "pods", "-A", "-o", "name").split()) == ["pod/ledger-1", "pod/web-1"])
        expect("the receiver's first answer (503) was retried: 3 POSTs, 2 delivered",
               Receiver.statuses == [503, 200, 200] and len(Receiver.bodies) == 2)
        by_namespace = {body["json"]["namespace"]: body["json"] for body in Receiver.bodies}
        digest = kubectl("get", "--raw", "/api/v1/namespaces/shop/pods/web-1")  # the pod as the API holds it
        running = json.loads(digest)["status"]["containerStatuses"][0]["imageID"].split("@")[1]
        current = guards.registry_digest(registry, "e2e/app", "1")
        shop, frozen = by_namespace.get("shop", {}), by_namespace.get("frozen", {})
        required = {"event", "guard", "namespace", "owner", "verdict", "action", "outcome", "reason", "tag", "oldDigest", "newDigest", "pods",
                    "images", "sweepTime"}
        expect("every body is application/json with exactly the documented fields",
               all(body["contentType"] == "application/json" and required == body["json"].keys() for body in Receiver.bodies)
               and shop.get("guard", "missing") is None)
        expect("shop: action evict, outcome planned, Pod/web-1, tag-moved, old → new digest (the registry's), sweep time",
               shop.get("event") == "action" and shop.get("action") == "evict" and shop.get("outcome") == "planned"
               and shop.get("owner") == "Pod/web-1" and shop.get("verdict") == "tag-moved" and shop.get("tag") == image
               and shop.get("oldDigest") == running and shop.get("newDigest") == current and shop.get("sweepTime") == "2026-12-05T01:30:00Z")
        expect("frozen: held by the outside-window guard, with the next opening",
               frozen.get("event") == "held" and frozen.get("guard") == "outside-window" and frozen.get("action") == "hold"
               and frozen.get("reason") == f"outside maintenance window of namespace frozen (next: {frozen_next})")

        Receiver.statuses.append(0)  # later POSTs are answered 200 at once
        Receiver.bodies.clear()
        # The chart's way: the URL from a Secret in KATE_NOTIFY_URL (a file's newline-terminated value).
        code, _ = sweep("--action", "notify", "--notify-format", "slack", "--namespace", "shop", env={"KATE_NOTIFY_URL": url + "\n"})
        slack = Receiver.bodies[0]["json"] if Receiver.bodies else {}
        expect("KATE_NOTIFY_URL + --notify-format slack: one body with text and blocks (section first), naming the digests",
               len(Receiver.bodies) == 1 and isinstance(slack.get("text"), str) and slack["blocks"][0]["type"] == "section"
               and current.split(":")[1][:12] in json.dumps(slack) and "Pod shop/web-1" in slack["text"])
    finally:
        server.shutdown()

    # 5. Inside the window a real sweep evicts shop's pod; frozen's annotation still holds its own.
    code, document = sweep("--now", "2026-12-05T01:30:00Z", "--window", "Sat 02:00-04:00 Europe/Berlin")
    pods = kubectl("get", "pods", "-A", "-o", "name").split()
    expect("inside the window: shop/web-1 evicted (gone), frozen/ledger-1 held; exit 2 for the held pod",
           action_of(document, "shop") == "evicted" and pods == ["pod/ledger-1"] and code == 2)
    print(f"e2e-windows-notify: {guards.checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    finally:
        guards.stop_and_clean("e2e-windows-notify")
