#!/usr/bin/env python3
"""The chart's dashboard and alert rules against the metrics kate really exports (scripts/check-observability.sh).

    check_observability.py extract RENDER.yaml OUT_DIR
        From a `helm template` render: OUT_DIR/dashboard.json (the Grafana dashboard ConfigMap's JSON) and
        OUT_DIR/rules.yaml (the PrometheusRule's spec: the rule-file format promtool reads).
    check_observability.py running-pods KUBECONFIG NAMESPACE
        Print the images of the Running pods in NAMESPACE, one a line (the kubeconfig kate-dev-apiserver
        writes: a server URL, its CA and a bearer token), so the script can wait for the rollout.
    check_observability.py dashboard-as-rules DASHBOARD.json OUT.yaml
        Every dashboard query (Grafana variables replaced by sample values) as a recording rule, so that
        `promtool check rules OUT.yaml` parses each with Prometheus's own PromQL parser.
    check_observability.py check DASHBOARD.json RULES.yaml EXPOSITION.prom...
        Every metric name a dashboard query or an alert expression names must be a sample name in one of
        the expositions (Prometheus text as kate serves and writes it: `_bucket`/`_sum`/`_count` of
        histograms included), every label a selector or a `by`/`on` clause names must be one those
        metrics carry (or one Prometheus adds when it scrapes), and the dashboard must have its panels.
        Exit 1 naming each unknown metric or label; 0 when all are known.

Only the standard library: it runs with any python3.
"""
from __future__ import annotations

import json
import pathlib
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field

# Labels Prometheus (the operator's ServiceMonitor, node-exporter's textfile collector) adds to every series.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
# PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset",
            "bool", "inf", "nan", "atan2", "start", "end",
            # aggregation operators: `sum by (x) (...)` puts a keyword, not "(", after the name
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
            "quantile", "limitk", "limit_ratio"}
LABEL_LIST_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN = re.compile(r'''\s+|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`|[0-9][0-9.]*[a-zA-Z]*|[a-zA-Z_:][a-zA-Z0-9_:]*|=~|!~|!=|==|>=|<=|.''')
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$job": ".+"}
# The panels issue #18 asks for: each must be on the dashboard.
REQUIRED_PANELS = ["Admission reviews by outcome", "Admission latency p50 / p99", "Cache hit ratio",
                   "Registry requests by registry and status", "Circuit state by registry host",
                   "Docker Hub rate limit remaining", "Last sweep duration", "Pods by verdict (last sweep)",
                   "Actions taken (last sweep)", "Guards fired"]


# ---------------------------------------------------------------- PromQL

@dataclass
class Names:
    metrics: set[str] = field(default_factory=set)
    # metric -> label names its selector matches on
    selector_labels: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # label names of by/without/on/ignoring/group_* clauses
    grouping_labels: set[str] = field(default_factory=set)


def promql_names(expr: str) -> Names:
    """The metric and label names an expression uses. A small tokenizer, not a parser: what it must get
    right is which identifiers are metric names (not functions, keywords, labels, durations or strings)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    tokens = [t for t in TOKEN.findall(expr) if t.strip()]
    names = Names()
    i = 0
    last_metric = None
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token == "{":   # a selector: label names until the closing brace
            close = tokens.index("}", i)
            inner = tokens[i + 1:close]
            for j, word in enumerate(inner):
                if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", word) and j + 1 < len(inner) and inner[j + 1] in ("=", "!=", "=~", "!~"):
                    if word == "__name__":
                        raise ValueError(f"{expr!r}: a {{__name__=...}} selector cannot be checked; name the metric")
                    names.selector_labels[last_metric or "?"].add(word)
            i = close + 1
            last_metric = None
            continue
        if token == "[":   # a range or subquery: durations only
            i = tokens.index("]", i) + 1
            continue
        if token in LABEL_LIST_WORDS and following == "(":
            close = tokens.index(")", i)
            names.grouping_labels.update(w for w in tokens[i + 2:close] if w != ",")
            i = close + 1
            continue
        if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", token) and token not in KEYWORDS and following != "(":
            names.metrics.add(token)
            last_metric = token
        else:
            last_metric = None  # a selector's braces follow its metric name directly
        i += 1
    return names


# ---------------------------------------------------------------- expositions

def parse_exposition(text: str) -> dict[str, set[str]]:
    """Sample name -> label names seen on it, from Prometheus text format."""
    samples: dict[str, set[str]] = defaultdict(set)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        if not match:
            raise ValueError(f"not Prometheus text: {line!r}")
        samples[match[1]].update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match[3] or ""))
    return samples


# ---------------------------------------------------------------- dashboard and rules

def dashboard_queries(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, expr) of every target, rows' nested panels included, and of query variables."""
    queries = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    queries.append((panel.get("title", "?"), target["expr"]))
    walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query)
            match = re.fullmatch(r"label_values\((.+),\s*([a-zA-Z_]\w*)\)", text.strip())
            queries.append((f"variable {variable['name']}", match[1] if match else text))
    return queries


def dashboard_problems(dashboard: dict) -> list[str]:
    problems = []
    panels = [p for p in dashboard.get("panels", []) if p.get("type") != "row"]
    titles = {p.get("title") for p in panels}
    problems += [f"dashboard: no panel {t!r}" for t in REQUIRED_PANELS if t not in titles]
    ids = [p.get("id") for p in dashboard.get("panels", [])]
    if len(ids) != len(set(ids)):
        problems.append("dashboard: panel ids are not unique")
    for panel in panels:
        if not panel.get("targets"):
            problems.append(f"dashboard: panel {panel.get('title')!r} has no query")
        if (panel.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"dashboard: panel {panel.get('title')!r} does not use the $datasource variable")
    if not dashboard.get("uid"):
        problems.append("dashboard: no uid (Grafana would make a new dashboard on every load)")
    return problems


def rule_expressions(rules: dict) -> list[tuple[str, str]]:
    return [(rule.get("alert") or rule.get("record") or "?", rule["expr"])
            for group in rules.get("groups", []) for rule in group.get("rules", [])]


def check(dashboard_path: str, rules_path: str, expositions: list[str]) -> int:
    import yaml  # only this subcommand needs it (PyYAML, like tests/install)

    samples: dict[str, set[str]] = defaultdict(set)
    for path in expositions:
        for name, labels in parse_exposition(pathlib.Path(path).read_text()).items():
            samples[name] |= labels
    dashboard = json.loads(pathlib.Path(dashboard_path).read_text())
    rules = yaml.safe_load(pathlib.Path(rules_path).read_text())
    problems = dashboard_problems(dashboard)
    queries = [("panel " + t, e) for t, e in dashboard_queries(dashboard)] + [("alert " + a, e) for a, e in rule_expressions(rules)]
    used: set[str] = set()
    for where, expr in queries:
        names = promql_names(expr)
        if not names.metrics:
            problems.append(f"{where}: names no metric: {expr}")
        known_labels = set(TARGET_LABELS)
        for metric in names.metrics:
            used.add(metric)
            if metric not in samples:
                problems.append(f"{where}: {metric} is not a metric kate exports (expr: {expr})")
            known_labels |= samples.get(metric, set())
        for metric, labels in names.selector_labels.items():
            for label in sorted(labels - TARGET_LABELS - samples.get(metric, set())):
                problems.append(f"{where}: {metric} has no label {label!r} (it has {sorted(samples.get(metric, set()))})")
        for label in sorted(names.grouping_labels - known_labels):
            problems.append(f"{where}: no metric of the expression has the label {label!r} (expr: {expr})")
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"check-observability: {len(queries)} queries naming {len(used)} metrics against "
          f"{len(samples)} exported sample names: {len(problems)} problem(s)")
    return 1 if problems else 0


def extract(render_path: str, out_dir: str) -> int:
    import yaml

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    docs = [d for d in yaml.safe_load_all(pathlib.Path(render_path).read_text()) if d]
    dashboards = [d for d in docs if d.get("kind") == "ConfigMap"
                  and any(k.endswith(".json") for k in (d.get("data") or {}))]
    rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if len(dashboards) != 1 or len(rules) != 1:
        print(f"extract: want one dashboard ConfigMap and one PrometheusRule in {render_path}, "
              f"found {len(dashboards)} and {len(rules)}", file=sys.stderr)
        return 1
    [(_, text)] = [(k, v) for k, v in dashboards[0]["data"].items() if k.endswith(".json")]
    (out / "dashboard.json").write_text(text)
    json.loads(text)  # a parse error is a failure here, not in Grafana
    (out / "rules.yaml").write_text(yaml.safe_dump(rules[0]["spec"], sort_keys=False, width=1000))
    print(f"extract: {dashboards[0]['metadata']['name']} ({len(text)} bytes of JSON, labels "
          f"{dashboards[0]['metadata'].get('labels', {})}) and PrometheusRule {rules[0]['metadata']['name']} "
          f"({sum(len(g['rules']) for g in rules[0]['spec']['groups'])} rules) into {out}")
    return 0


def running_pods(kubeconfig_path: str, namespace: str) -> int:
    import base64
    import ssl
    import tempfile
    import urllib.request

    import yaml

    config = yaml.safe_load(pathlib.Path(kubeconfig_path).read_text())
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as ca:
        ca.write(base64.b64decode(cluster["certificate-authority-data"]))
        ca.flush()
        context = ssl.create_default_context(cafile=ca.name)
        request = urllib.request.Request(f"{cluster['server']}/api/v1/namespaces/{namespace}/pods",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, context=context, timeout=5) as answer:
            pods = json.load(answer)["items"]
    for pod in pods:
        if (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp"):
            print("\n".join(c["image"] for c in pod["spec"]["containers"]))
    return 0


def dashboard_as_rules(dashboard_path: str, out_path: str) -> int:
    import yaml

    dashboard = json.loads(pathlib.Path(dashboard_path).read_text())
    rules = []
    for index, (title, expr) in enumerate(dashboard_queries(dashboard)):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr, "labels": {"panel": title}})
    pathlib.Path(out_path).write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]},
                                                     sort_keys=False, width=1000))
    print(f"dashboard-as-rules: {len(rules)} queries into {out_path}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "dashboard-as-rules":
        return dashboard_as_rules(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "running-pods":
        return running_pods(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "extract":
        return extract(argv[1], argv[2])
    if len(argv) >= 4 and argv[0] == "check":
        return check(argv[1], argv[2], argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
