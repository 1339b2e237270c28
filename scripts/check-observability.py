#!/usr/bin/env python3
"""Checks manifests/observability for promtool (scripts/test-observability runs it).

Writes into DIR: rules.yaml, the PrometheusRule's groups as Prometheus reads them (for
`promtool check rules` and the unit tests of alerts-test.yaml), and dashboard-rules.yaml,
every query of the Grafana dashboard as a recording rule, so `promtool check rules` parses
each one. Checks on the way that the dashboard has the shape Grafana imports (unique panel
ids, a grid position, a query per target) and that every gatewasm_* metric the alerts and
panels name is one the filter makes (filter/src/metrics.rs PROMETHEUS_NAMES).
"""
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
OBS = ROOT / "manifests" / "observability"
# Grafana's own variables, and the dashboard's, as a value PromQL can parse.
VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "1m"}


def known_names():
    """The filter's metric families and the labels its tag extractors make."""
    text = (ROOT / "filter" / "src" / "metrics.rs").read_text()
    block = re.search(r"PROMETHEUS_NAMES: \[&str; \d+\] = \[(.*?)\];", text, re.S)
    metrics = set(re.findall(r'"(gatewasm_\w+)"', block.group(1)))
    tags = re.search(r"TAGS: \[\(&str, &str\); \d+\] = \[(.*?)\n\];", text, re.S)
    labels = set(re.findall(r'"(gatewasm_\w+)"', tags.group(1)))
    return metrics, labels


def named_metrics(expr):
    return set(re.findall(r"\b(gatewasm_\w+)", expr))


def dashboard_queries(problems):
    dash = json.loads((OBS / "dashboard.json").read_text())
    for key in ("title", "uid", "panels", "schemaVersion"):
        if key not in dash:
            problems.append(f"dashboard.json: no {key}")
    ids = [p.get("id") for p in dash.get("panels", [])]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append(f"dashboard.json: panel ids must be present and unique: {ids}")
    variables = {f"${v['name']}": ".*" for v in dash.get("templating", {}).get("list", [])}
    queries = []
    for p in dash.get("panels", []):
        where = f"dashboard.json panel {p.get('id')} {p.get('title')!r}"
        if not {"x", "y", "w", "h"} <= set(p.get("gridPos", {})):
            problems.append(f"{where}: no gridPos")
        if not p.get("targets"):
            problems.append(f"{where}: no query")
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            if not expr or not t.get("refId"):
                problems.append(f"{where}: a target without expr or refId")
            for name, value in {**VARIABLES, **variables}.items():
                expr = expr.replace("${" + name[1:] + "}", value).replace(name, value)
            queries.append((where, expr))
    return queries


def main():
    out = pathlib.Path(sys.argv[1])
    problems = []
    rule = yaml.safe_load((OBS / "prometheusrule.yaml").read_text())
    (out / "rules.yaml").write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    queries = dashboard_queries(problems)
    recording = [{"record": f"dashboard:panel_{i}", "expr": e} for i, (_, e) in enumerate(queries)]
    doc = {"groups": [{"name": "dashboard", "rules": recording}]}
    (out / "dashboard-rules.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    metrics, labels = known_names()
    known = metrics | labels
    alerts = [(f"alert {r['alert']}", r["expr"]) for g in rule["spec"]["groups"] for r in g["rules"]]
    for where, expr in alerts + queries:
        for name in sorted(named_metrics(expr) - known):
            problems.append(f"{where}: {name} is not a metric or label the filter makes")
    print(
        f"{len(alerts)} alerts, {len(queries)} dashboard queries; "
        f"{len(metrics)} filter metrics, {len(labels)} labels"
    )
    for p in problems:
        print(f"FAIL {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
