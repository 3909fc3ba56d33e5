#!/usr/bin/env python3
"""Writes charts/kate/dashboards/kate-overview.json, kate's Grafana dashboard (the chart's dashboards.enabled).

    make_dashboard.py [OUT.json]        default: charts/kate/dashboards/kate-overview.json

Edit the panels here, not in the JSON: scripts/check-observability.sh fails when the committed JSON is not
what this writes, and checks every query against the metrics a running kate exports. Panels are laid out
left to right, 24 grid columns a line, a row header before each group.
"""
import json
import pathlib
import sys

# Webhook series are filtered by the dashboard's $job variable; the sweeper's come from its metrics file.
W = 'job=~"$job"'
R = "$__rate_interval"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


class Layout:
    """Grafana's grid: 24 columns; a panel that does not fit on the current line starts the next one."""

    def __init__(self) -> None:
        self.panels: list[dict] = []
        self.x = self.y = self.line_height = 0

    def next_id(self) -> int:
        return len(self.panels) + 1

    def row(self, title: str) -> None:
        if self.x:
            self.y += self.line_height
        self.x = self.line_height = 0
        self.panels.append({"type": "row", "title": title, "id": self.next_id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def panel(self, kind, title, description, targets, w=8, h=8, unit=None, extra=None) -> None:
        if self.x + w > 24:
            self.x, self.y, self.line_height = 0, self.y + self.line_height, 0
        panel = {"type": kind, "title": title, "description": description, "id": self.next_id(),
                 "datasource": DATASOURCE, "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
                 "targets": [{"refId": chr(65 + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
                             for i, (expr, legend) in enumerate(targets)],
                 "fieldConfig": {"defaults": {}, "overrides": []}, "options": {}}
        if unit:
            panel["fieldConfig"]["defaults"]["unit"] = unit
        if extra:
            extra(panel)
        self.panels.append(panel)
        self.x += w
        self.line_height = max(self.line_height, h)


layout = Layout()
panel = layout.panel
newrow = layout.row
panels = layout.panels


def quantiles(histogram: str) -> list[tuple[str, str]]:
    """p50 and p99 of a webhook histogram, summed over replicas."""
    return [(f'histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{W}}}[{R}])))', name)
            for q, name in ((0.5, "p50"), (0.99, "p99"))]


def thresholds(steps):
    def f(p):
        p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}
        p["fieldConfig"]["defaults"]["color"] = {"mode": "thresholds"}
    return f

newrow("Admission (webhook /metrics)")
panel("timeseries", "Admission reviews by outcome",
      "Pod reviews per second by result: pinned, unchanged (nothing to pin), skipped (excluded by policy or opt-out), failed_open (admitted unpinned), denied (--failure-mode deny).",
      [(f'sum by (result) (rate(kate_admission_reviews_total{{{W}}}[{R}]))', "{{result}}")], unit="reqps")
panel("stat", "Fail-open ratio",
      "Share of reviews admitted with at least one image left unpinned because its tag could not be resolved.",
      [(f'sum(rate(kate_admission_reviews_total{{{W},result="failed_open"}}[{R}])) / sum(rate(kate_admission_reviews_total{{{W}}}[{R}]))', "failed open")],
      w=4, unit="percentunit", extra=thresholds([(None, "green"), (0.01, "orange"), (0.05, "red")]))
panel("stat", "Images pinned",
      "Images patched to a digest per second.",
      [(f'sum(rate(kate_admission_images_pinned_total{{{W}}}[{R}]))', "images/s")], w=4, unit="reqps")
panel("timeseries", "Admission latency p50 / p99",
      "Time from a review's arrival to its answer, from kate_admission_duration_seconds (histogram, 1 ms to 30 s buckets).",
      quantiles("kate_admission_duration_seconds"), unit="s")
panel("timeseries", "Images not pinned, by class",
      "Resolution failures behind fail-open warnings, by failure class (auth, authz, absent, unavailable, ratelimited, bad-reference, timeout).",
      [(f'sum by (class) (rate(kate_admission_resolve_failures_total{{{W}}}[{R}]))', "{{class}}")], unit="reqps")
panel("timeseries", "Webhook HTTP requests by path and status",
      "Every request the webhook's HTTPS listener answered, and its invalid AdmissionReviews (HTTP 400).",
      [(f'sum by (path, code) (rate(kate_http_requests_total{{{W}}}[{R}]))', "{{path}} {{code}}"),
       (f'sum(rate(kate_admission_invalid_reviews_total{{{W}}}[{R}]))', "invalid reviews")], unit="reqps")
panel("timeseries", "Webhook connections",
      "Open connections per replica, connections refused past --max-connections, failed TLS handshakes by reason.",
      [(f'sum by (pod) (kate_http_open_connections{{{W}}})', "open {{pod}}"),
       (f'sum(rate(kate_http_rejected_connections_total{{{W}}}[{R}]))', "rejected/s"),
       (f'sum by (reason) (rate(kate_tls_handshake_failures_total{{{W}}}[{R}]))', "TLS failed: {{reason}}/s")])

newrow("Registry (webhook /metrics)")
panel("stat", "Cache hit ratio",
      "Share of tag lookups answered from the resolve cache (hit) and from the last known digest during an outage (stale-if-error).",
      [(f'sum(rate(kate_registry_cache_total{{{W},result="hit"}}[{R}])) / sum(rate(kate_registry_cache_total{{{W}}}[{R}]))', "hit"),
       (f'sum(rate(kate_registry_cache_total{{{W},result="stale"}}[{R}])) / sum(rate(kate_registry_cache_total{{{W}}}[{R}]))', "stale")],
      w=4, unit="percentunit")
panel("timeseries", "Registry requests by registry and status",
      "Requests sent to each registry by HTTP status; error is a transport failure (refused, reset, TLS, DNS, timeout).",
      [(f'sum by (registry, code) (rate(kate_registry_requests_total{{{W}}}[{R}]))', "{{registry}} {{code}}")], w=12, unit="reqps")
panel("timeseries", "Registry resolve latency p50 / p99",
      "Time to resolve one tag (cache misses and hits alike), from kate_registry_resolve_duration_seconds.",
      quantiles("kate_registry_resolve_duration_seconds"), unit="s")
def circuit(p):
    p["fieldConfig"]["defaults"]["mappings"] = [{"type": "value", "options": {
        "0": {"text": "closed", "color": "green", "index": 0},
        "1": {"text": "half-open", "color": "orange", "index": 1},
        "2": {"text": "open", "color": "red", "index": 2}}}]
    p["fieldConfig"]["defaults"]["color"] = {"mode": "thresholds"}
    p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1}, {"color": "red", "value": 2}]}
panel("state-timeline", "Circuit state by registry host",
      "Each registry host's circuit breaker, worst replica: closed, half-open (one probe in flight) or open (lookups fail at once).",
      [(f'max by (registry) (kate_registry_circuit_state{{{W}}})', "{{registry}}")], w=12, extra=circuit)
panel("timeseries", "Docker Hub rate limit remaining",
      "Pulls left in the registry's window, from its ratelimit-remaining header (Docker Hub sends it; HEAD requests do not count against it).",
      [(f'min by (registry) (kate_registry_ratelimit_remaining{{{W}}})', "{{registry}} remaining"),
       (f'max by (registry) (kate_registry_ratelimit_limit{{{W}}})', "{{registry}} limit")], w=6)
panel("gauge", "Docker Hub rate limit remaining %",
      "Remaining pulls as a share of the window's limit (ratelimit-limit); the alert KateRegistryRateLimitLow fires below 10 %.",
      [(f'min by (registry) (kate_registry_ratelimit_remaining{{{W}}}) / max by (registry) (kate_registry_ratelimit_limit{{{W}}})', "{{registry}}")],
      w=6, unit="percentunit", extra=thresholds([(None, "red"), (0.1, "orange"), (0.25, "green")]))

newrow("Sweeper (--metrics-file, via node-exporter's textfile collector)")
panel("stat", "Since the last successful sweep",
      "Age of kate_sweep_last_success_timestamp_seconds: a sweep that stops on an error writes no metrics file, so this grows while the sweeper fails or does not run.",
      [('time() - max(kate_sweep_last_success_timestamp_seconds)', "age")], w=4, unit="s")
panel("stat", "Last sweep duration",
      "Wall time of the last sweep (kate_sweep_duration_seconds; one observation per run).",
      [('max(kate_sweep_duration_seconds_sum / kate_sweep_duration_seconds_count)', "duration")], w=4, unit="s")
panel("timeseries", "Pods by verdict (last sweep)",
      "Pods by their worst container verdict: current, tag-moved, node-mismatch, split, dangling, restart-reverted, platform-gap, unknown; and the pods with at least one stale container.",
      [('sum by (verdict) (kate_sweep_pods)', "{{verdict}}"), ('sum(kate_sweep_stale_pods)', "stale pods")], w=6)
panel("timeseries", "Actions taken (last sweep)",
      "Restarts, evictions and deletions the last sweep wrote, by outcome (ok, blocked, gone, failed); and the tags it could not resolve.",
      [('sum by (action, outcome) (kate_sweep_actions_total)', "{{action}} {{outcome}}"),
       ('sum(kate_sweep_resolve_errors_total)', "tags not resolved")], w=6)
panel("timeseries", "Dangling digests (last sweep)",
      "Digests an owner's pods pin or run that the registry answered 404 for (kate_dangling_digests, per owner); the alert KateDanglingDigests fires while any is listed.",
      [('sum by (namespace, owner) (kate_dangling_digests)', "{{namespace}} {{owner}}")], w=4)

newrow("Guards")
panel("timeseries", "Guards fired",
      "Times a safety guard stopped kate: an eviction refused by a PodDisruptionBudget and pods held by the platform-coverage gate in the last sweep, a pod denied by /validate (image not pinned), a review denied by --failure-mode deny, the mutation-loop breaker tripping, pods left unpinned because an operator owns them.",
      [('sum(kate_sweep_actions_total{outcome="blocked"})', "sweep: blocked by PodDisruptionBudget (last sweep)"),
       ('sum(kate_sweep_pods{verdict="platform-gap"})', "sweep: held by the platform gate (last sweep)"),
       (f'sum(rate(kate_mutation_loop_breaker_total{{{W}}}[{R}]))', "mutation-loop breaker trips/s"),
       (f'sum by (reason) (rate(kate_admission_skipped_total{{{W}}}[{R}]))', "skipped ({{reason}})/s"),
       (f'sum(rate(kate_admission_validations_total{{{W},result="denied"}}[{R}]))', "/validate denied/s"),
       (f'sum(rate(kate_admission_reviews_total{{{W},result="denied"}}[{R}]))', "review denied/s")], w=24)

dashboard = {
    "uid": "kate-overview", "title": "kate", "tags": ["kate"], "editable": True, "schemaVersion": 39,
    "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "graphTooltip": 1,
    "description": "kate: admission (pinning), registry resolution and the sweeper. Shipped with the kate Helm chart (dashboards.enabled).",
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0},
        {"name": "job", "label": "Webhook job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(kate_admission_reviews_total, job)", "refId": "job"},
         "definition": "label_values(kate_admission_reviews_total, job)", "refresh": 2, "includeAll": True, "multi": True,
         "allValue": ".+", "current": {}, "hide": 0, "sort": 1},
    ]},
    "annotations": {"list": []},
    "panels": panels,
}
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2] / "charts/kate/dashboards/kate-overview.json")
out.write_text(json.dumps(dashboard, indent=2) + "\n")
print(f"make_dashboard: {len(panels)} panels into {out}")
