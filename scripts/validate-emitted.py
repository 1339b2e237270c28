#!/usr/bin/env python3
"""Checks documents `gatewasm compile --emit` writes against what will consume them.

* Envoy documents (the bootstrap; the ECDS and SDS files inside the routes ConfigMap) are
  parsed into Envoy's own protobuf types (xds-protos) with `json_format.ParseDict`, which
  rejects unknown fields, wrong types and unknown enum values, including inside every
  `typed_config` Any.
* `--emit envoy-routes` (a list of RouteConfiguration, one per Gateway port) is parsed the
  same way, each route table into `envoy.config.route.v3.RouteConfiguration`.
* Kubernetes objects are checked against the official CRD `openAPIV3Schema`s kept in
  manifests/schemas (see its README for versions), made strict the way `kubectl apply
  --validate=strict` is: unknown fields are errors unless the schema preserves them.
* The filter's JSON plugin configuration (ECDS StringValue, EnvoyExtensionPolicy `config`,
  WasmPlugin `pluginConfig`) must hold only the keys gatewasm_filter::config accepts and a
  base64 blob that starts with the gatewasm magic.

    validate-emitted.py FILE...              validate; exit 1 on any problem
    validate-emitted.py --self-test FILE...  also prove a misspelt field in each is rejected

Kinds without a schema here (Service, Certificate, ...) are listed as skipped, not failed.
"""
import argparse
import base64
import copy
import json
import pathlib
import sys

import jsonschema
import yaml
from google.protobuf import json_format

# Importing the modules registers every type an Any in our documents may name.
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2
from envoy.config.core.v3 import extension_pb2
from envoy.extensions.access_loggers.stream.v3 import stream_pb2  # noqa: F401
from envoy.extensions.filters.http.router.v3 import router_pb2  # noqa: F401
from envoy.extensions.http.early_header_mutation.header_mutation.v3 import (  # noqa: F401
    header_mutation_pb2,
)
from envoy.extensions.filters.http.wasm.v3 import wasm_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2  # noqa: F401
from envoy.extensions.filters.network.http_connection_manager.v3 import (  # noqa: F401
    http_connection_manager_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2, tls_pb2  # noqa: F401
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2  # noqa: F401
from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import wrappers_pb2

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "manifests" / "schemas"
# The keys filter/src/config.rs `JsonConfig` accepts in a release build (it denies unknown ones at
# configure time; `engine` exists only in benchmark builds).
PLUGIN_CONFIG_KEYS = {"blob", "clusterHeader", "failOpen", "listenPorts", "rateLimit"}
BLOB_MAGIC = b"GWSM"
WASM_MAGIC = b"\0asm"
CONFIGMAP_LIMIT = 1 << 20
TEC_TYPE = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"
SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ROUTE_TABLE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"

# ObjectMeta as the API server accepts it; CRD schemas leave `metadata` untyped.
OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "generateName": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array"},
    },
}


class Problem(Exception):
    pass


def strict(schema):
    """An OpenAPI v3 structural schema as JSON Schema, with Kubernetes' extensions applied:
    unknown fields rejected unless preserved, int-or-string, nullable."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def load_schemas():
    """(group, version, kind) -> JSON Schema, from every file under manifests/schemas."""
    schemas = {}
    for path in sorted(SCHEMAS.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc.get("kind") == "CoreSchema":
                versions = [(doc["group"], doc["version"], doc["names"]["kind"], doc["openAPIV3Schema"])]
            else:
                spec = doc["spec"]
                versions = [
                    (spec["group"], v["name"], spec["names"]["kind"], v["schema"]["openAPIV3Schema"])
                    for v in spec["versions"]
                ]
            for group, version, kind, schema in versions:
                schema = strict(schema)
                # The API server owns these three whatever the CRD writes (Istio's omit them).
                schema["properties"]["metadata"] = OBJECT_META
                schema["properties"]["apiVersion"] = {"type": "string"}
                schema["properties"]["kind"] = {"type": "string"}
                schemas[(group, version, kind)] = (schema, path.relative_to(SCHEMAS))
    return schemas


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("byte", raises=ValueError)
def is_base64(value):
    base64.b64decode(value, validate=True)
    return True


def parse_proto(doc, message, what):
    try:
        return json_format.ParseDict(doc, message)
    except json_format.ParseError as e:
        raise Problem(f"{what}: {e}") from None


def check_plugin_config(cfg, what):
    if isinstance(cfg, str):
        try:
            cfg = json.loads(cfg)
        except json.JSONDecodeError as e:
            raise Problem(f"{what}: not JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise Problem(f"{what}: expected a JSON object")
    unknown = set(cfg) - PLUGIN_CONFIG_KEYS
    if unknown:
        raise Problem(f"{what}: unknown keys {sorted(unknown)}; the filter accepts {sorted(PLUGIN_CONFIG_KEYS)}")
    try:
        blob = base64.b64decode(cfg.get("blob", ""), validate=True)
    except ValueError as e:
        raise Problem(f"{what}: blob is not base64: {e}") from None
    if not blob.startswith(BLOB_MAGIC):
        raise Problem(f"{what}: blob does not start with the gatewasm magic")


def check_discovery_response(doc, what):
    """An ECDS, CDS, RDS or SDS file: a DiscoveryResponse whose resources are ours."""
    response = parse_proto(doc, discovery_pb2.DiscoveryResponse(), what)
    checked = []
    for any_ in response.resources:
        if any_.type_url == TEC_TYPE:
            tec = extension_pb2.TypedExtensionConfig()
            any_.Unpack(tec)
            wasm = wasm_pb2.Wasm()
            if not tec.typed_config.Unpack(wasm):
                raise Problem(f"{what}: {tec.name}: typed_config is {tec.typed_config.type_url}, not the wasm filter")
            if not wasm.config.vm_config.code.local.filename:
                raise Problem(f"{what}: {tec.name}: the module is not loaded from a local file")
            value = wrappers_pb2.StringValue()
            if not wasm.config.configuration.Unpack(value):
                raise Problem(f"{what}: {tec.name}: configuration is not a StringValue")
            check_plugin_config(value.value, f"{what}: {tec.name}: configuration")
            checked.append(f"TypedExtensionConfig {tec.name}")
        elif any_.type_url == SECRET_TYPE:
            secret = secret_pb2.Secret()
            any_.Unpack(secret)
            chain = secret.tls_certificate.certificate_chain.filename
            if not (chain and secret.tls_certificate.private_key.filename):
                raise Problem(f"{what}: Secret {secret.name}: certificate and key must be files")
            checked.append(f"Secret {secret.name}")
        elif any_.type_url == CLUSTER_TYPE:
            cluster = cluster_pb2.Cluster()
            any_.Unpack(cluster)
            if not cluster.load_assignment.endpoints:
                raise Problem(f"{what}: Cluster {cluster.name}: no endpoints")
            checked.append(f"Cluster {cluster.name}")
        elif any_.type_url == ROUTE_TABLE_TYPE:
            table = route_pb2.RouteConfiguration()
            any_.Unpack(table)
            routes = [r for vh in table.virtual_hosts for r in vh.routes]
            if not routes or any(not r.route.cluster_header for r in routes):
                raise Problem(f"{what}: RouteConfiguration {table.name}: every route must forward on a cluster header")
            checked.append(f"RouteConfiguration {table.name} ({len(routes)} routes)")
        else:
            raise Problem(f"{what}: unexpected resource type {any_.type_url}")
    return ", ".join(checked)


def check_kubernetes(doc, schemas, what):
    group, _, version = doc["apiVersion"].rpartition("/")
    kind = doc["kind"]
    entry = schemas.get((group, version, kind))
    if entry is None:
        return None
    schema, source = entry
    errors = sorted(
        jsonschema.Draft7Validator(schema, format_checker=FORMATS).iter_errors(doc),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        e = errors[0]
        at = ".".join(str(p) for p in e.absolute_path) or "(root)"
        raise Problem(f"{what}: {at}: {e.message} (schema {source}; {len(errors)} errors)")
    notes = [f"schema {source}"]
    if kind == "ConfigMap":
        if len(json.dumps(doc)) > CONFIGMAP_LIMIT:
            raise Problem(f"{what}: larger than the 1 MiB a ConfigMap may hold")
        for key, text in (doc.get("data") or {}).items():
            if key.endswith((".yaml", ".yml", ".json")):
                inner = yaml.safe_load(text)
                if isinstance(inner, dict) and "resources" in inner:
                    notes.append(check_discovery_response(inner, f"{what}: data.{key}"))
        for key, data in (doc.get("binaryData") or {}).items():
            if key.endswith(".wasm") and not base64.b64decode(data).startswith(WASM_MAGIC):
                raise Problem(f"{what}: binaryData.{key} is not a wasm module")
    elif kind == "EnvoyExtensionPolicy":
        for i, w in enumerate(doc["spec"].get("wasm", [])):
            check_plugin_config(w.get("config"), f"{what}: spec.wasm[{i}].config")
    elif kind == "WasmPlugin":
        check_plugin_config(doc["spec"].get("pluginConfig"), f"{what}: spec.pluginConfig")
    elif kind == "EnvoyPatchPolicy":
        # The schema leaves patch values free; each must parse as what it adds.
        for i, p in enumerate(doc["spec"].get("jsonPatches", [])):
            value, at = p["operation"].get("value"), f"{what}: spec.jsonPatches[{i}].operation.value"
            if p["type"] == CLUSTER_TYPE:
                parse_proto(value, cluster_pb2.Cluster(), at)
            elif p["type"].endswith("RouteConfiguration") and p["operation"].get("path", "").startswith("routes/"):
                parse_proto(value, route_components_pb2.Route(), at)
            else:
                raise Problem(f"{at}: no check for a {p['type']} patch at {p['operation'].get('path')}")
        notes.append(f"{len(doc['spec'].get('jsonPatches', []))} patch values parsed")
    elif kind == "EnvoyFilter":
        for i, p in enumerate(doc["spec"].get("configPatches", [])):
            at = f"{what}: spec.configPatches[{i}].patch.value"
            if p["applyTo"] != "HTTP_ROUTE":
                raise Problem(f"{at}: no check for an {p['applyTo']} patch")
            parse_proto(p["patch"]["value"], route_components_pb2.Route(), at)
        notes.append("route patch parsed")
    return "; ".join(notes)


def check(doc, schemas, what):
    """Validates one document; returns what it was checked as, None when nothing applies."""
    if isinstance(doc, list) and doc and all(isinstance(d, dict) and "virtual_hosts" in d for d in doc):
        for i, table in enumerate(doc):
            parse_proto(table, route_pb2.RouteConfiguration(), f"{what}[{i}] {table.get('name', '')}")
        return f"{len(doc)} envoy.config.route.v3.RouteConfiguration"
    if not isinstance(doc, dict):
        raise Problem(f"{what}: not a mapping")
    if "apiVersion" in doc and "kind" in doc:
        return check_kubernetes(doc, schemas, what)
    if "static_resources" in doc or "admin" in doc:
        parse_proto(doc, bootstrap_pb2.Bootstrap(), what)
        return "envoy.config.bootstrap.v3.Bootstrap"
    if "resources" in doc:
        return "DiscoveryResponse: " + check_discovery_response(doc, what)
    raise Problem(f"{what}: neither a Kubernetes object nor an Envoy document")


# Misspellings a careless emitter edit could introduce, per document shape: each must be
# rejected, or the validation above proves nothing. Paths step through dicts and lists.
def mutants(doc):
    def at(path, key, value):
        m = copy.deepcopy(doc)
        node = m
        for step in path:
            node = node[step]
        node[key] = value
        return m, ".".join(map(str, path + [key]))

    if isinstance(doc, list):
        if doc[0]["virtual_hosts"] and doc[0]["virtual_hosts"][0]["routes"]:
            yield at([0, "virtual_hosts", 0, "routes", 0, "match"], "path_seperated_prefix", "/x")
        yield at([0], "validate_cluster", False)
        return
    kind = doc.get("kind")
    if "static_resources" in doc:
        hcm = ["static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config"]
        yield at(hcm, "normalise_path", True)
        yield at(["static_resources", "clusters", 0], "conect_timeout", "1s")
        yield at(["dynamic_resources", "cds_config"], "path_config_sauce", {})
    elif kind == "ConfigMap" and "gatewasm.yaml" in (doc.get("data") or {}):
        yield at([], "datas", {})
        ecds = yaml.safe_load(doc["data"]["gatewasm.yaml"])
        ecds["resources"][0]["typed_config"]["config"]["vm_config"]["vmid"] = "x"
        m = copy.deepcopy(doc)
        m["data"]["gatewasm.yaml"] = yaml.safe_dump(ecds)
        yield m, "data.gatewasm.yaml: resources.0.typed_config.config.vm_config.vmid"
        cds = yaml.safe_load(doc["data"]["clusters.yaml"])
        if cds["resources"]:
            cds["resources"][0]["conect_timeout"] = "1s"
            m = copy.deepcopy(doc)
            m["data"]["clusters.yaml"] = yaml.safe_dump(cds)
            yield m, "data.clusters.yaml: resources.0.conect_timeout"
    elif kind == "EnvoyExtensionPolicy":
        yield at(["spec", "wasm", 0], "failopen", True)
        yield at(["spec", "wasm", 0, "config"], "clusterheader", "x")
    elif kind == "WasmPlugin":
        yield at(["spec"], "failstrategy", "FAIL_OPEN")
        yield at(["spec", "pluginConfig"], "failopen", True)
    elif kind == "EnvoyPatchPolicy":
        yield at(["spec", "jsonPatches", 0, "operation", "value", "route"], "cluster_headr", "x")
        yield at(["spec", "jsonPatches", -1, "operation", "value"], "conect_timeout", "1s")
    elif kind == "EnvoyFilter":
        yield at(["spec", "configPatches", 0, "patch", "value", "route"], "cluster_headr", "x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-test", action="store_true", help="also check that typos are rejected")
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    args = parser.parse_args()
    schemas = load_schemas()
    failed = 0
    mutated = 0
    for path in args.files:
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc is None:
                continue
            meta = doc if isinstance(doc, dict) else {}
            label = f"{meta.get('kind', 'document')} {meta.get('metadata', {}).get('name', '')}".strip()
            what = f"{path}#{i} {label}"
            try:
                checked = check(doc, schemas, what)
            except Problem as e:
                print(f"FAIL {e}")
                failed += 1
                continue
            print(f"ok   {what}: {checked}" if checked else f"skip {what}: no schema for {doc['apiVersion']}")
            if not args.self_test:
                continue
            for mutant, where in mutants(doc):
                mutated += 1
                try:
                    check(mutant, schemas, what)
                except Problem:
                    continue
                print(f"FAIL {what}: a misspelt field at {where} was accepted")
                failed += 1
    if args.self_test and mutated == 0:
        print("FAIL --self-test: no document had a mutation to try")
        failed += 1
    if args.self_test:
        print(f"self-test: {mutated} misspelt fields tried, every one must be rejected")
    print(f"{failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
