#!/usr/bin/env python3
"""Reduces a CRD (YAML on stdin, possibly a multi-document bundle) to what validation needs:
the CustomResourceDefinitions whose kind is named on the command line (all if none), their
served versions only, without `description` texts. Everything else is kept verbatim.

    git show v1.6.1:config/crd/standard/gateway.networking.k8s.io_httproutes.yaml \
      | python3 strip.py > gateway-api-v1.6.1/httproutes.yaml
"""
import sys

import yaml


def strip(node):
    if isinstance(node, dict):
        # A property may itself be called `description` (it is then a schema, not a text).
        return {k: strip(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip(x) for x in node]
    return node


kinds = set(sys.argv[1:])
out = []
for doc in yaml.safe_load_all(sys.stdin):
    if not doc or doc.get("kind") != "CustomResourceDefinition":
        continue
    if kinds and doc["spec"]["names"]["kind"] not in kinds:
        continue
    doc["spec"]["versions"] = [v for v in doc["spec"]["versions"] if v.get("served")]
    out.append(strip(doc))
yaml.safe_dump_all(out, sys.stdout, sort_keys=False, width=100)
