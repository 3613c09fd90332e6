"""Drives schemathesis against a running dealergate, once per demo role (see run.sh).

Standard library only, so it runs on the virtualenv's Python without anything beyond
schemathesis. Exit status 0 only if every pass finished with zero failures and zero errors.

Passes, in an order chosen so no pass can break a later one:
  1. anonymous: the public operations (login, token, refresh, password reset and its
     confirmation, email verification, email-change confirmation, signup with an
     invitation, probes, JWKS). Its failed logins
     may lock the client IP (429 is a declared answer), so every role logs in before it.
  2. per role, agent -> manager -> principal -> group principal -> admin (a principal may
     deactivate staff, an
     admin suspend a dealership, so the roles they act on go first): every bearer operation
     except those that end the caller's own session; afterwards the caller's token must still
     work, or the run fails (it would have turned the rest of the pass into 401s).
  3. per role, the session-ending operations (logout, logout-all, password change, DELETE of a
     session, revoking a user's sessions, editing a dealership: mfa_required) with a second token of that role: the first success
     ends it, the rest must then answer a conforming 401.

Closing one's own account (DELETE /auth/me) runs in passes of its own, right after the
anonymous one, and in no role pass: there it would delete the demo user whose token the pass
holds (and its fuzzed wrong passwords would lock the account). Its callers are signed in with
the others, before anything can lock the IP, and the operation's example carries their real
password: an agent made for the run (204, then conforming 401s) and Metro Motors' principal,
its dealership's only one, whom no other pass signs in as (409, nothing changes). Running them
before the role passes keeps those from deactivating or revoking these callers first (the
principal and admin passes act on listed staff); closing an account made for it cannot harm
a later pass.
"""

import glob
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

BASE = os.environ["CONTRACT_BASE_URL"]
ST = os.environ["CONTRACT_ST"]
REPORTS = os.path.abspath(os.environ["CONTRACT_REPORTS"])
MAX_EXAMPLES = os.environ.get("MAX_EXAMPLES", "20")
# One worker: with more, schemathesis's threads trip CPython 3.11's non-thread-safe AST
# recursion counter (hypothesis parses lambda sources): "AST constructor recursion depth
# mismatch" errors, seen with Debian bookworm's Python.
WORKERS = os.environ.get("CONTRACT_WORKERS", "1")
SEED = os.environ.get("SEED")

ROLES = [  # the order matters: see the module docstring
    ("agent", "agent@premiumauto.com", "Agent123!"),
    ("manager", "manager@premiumauto.com", "Manager123!"),
    ("principal", "principal@premiumauto.com", "Principal123!"),
    # Premium Group's principal: every operation in group scope (issue 23)
    ("group_principal", "owner@premiumauto.com", "Owner123!"),
    ("admin", "admin@example.com", "Admin123!@#"),
]

PHASES = "examples,coverage,fuzzing,stateful"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)

PUBLIC = [
    "^/api/v1/auth/(login|token|refresh)$",
    # the second step of a sign-in: the mfa_token is the credential
    "^/api/v1/auth/mfa/verify$",
    # mailed links: anyone may ask for a reset and present a token
    "^/api/v1/auth/(password-reset|password-reset/confirm|verify-email|email/confirm|signup|join)$",
    "^/healthz$",
    "^/readyz$",
    "^/\\.well-known/jwks\\.json$",
]
# Operations that end the caller's own session (or all of them).
SESSION_ENDING = [
    ("POST", "^/api/v1/auth/logout$"),
    ("POST", "^/api/v1/auth/logout-all$"),
    ("POST", "^/api/v1/auth/password$"),
    ("DELETE", "^/api/v1/auth/sessions/\\{id\\}$"),
    ("POST", "^/api/v1/users/\\{id\\}/sessions/revoke$"),
    # switching a dealership's mfa_required on ends its sessions that never proved a second
    # factor: the caller's own, when it is the principal's dealership (found by the stateful phase)
    ("PATCH", "^/api/v1/dealerships/\\{id\\}$"),
    # leaving a dealership ends the sessions of that membership: the caller's own, for the
    # manager who works in two (issue 22)
    ("DELETE", "^/api/v1/auth/memberships/\\{dealership_id\\}$"),
]

# Closes the caller's own account: only in the closing passes (see the module docstring).
CLOSING = ("DELETE", "^/api/v1/auth/me$")
PREMIUM_AUTO = "0193a5f0-0000-7000-8000-000000000001"
CLOSING_AGENT = ("contract-closing-%d@premiumauto.com" % os.getpid(), "a closing passphrase")
LAST_PRINCIPAL = ("principal@metromotors.com", "Principal123!")


def request(method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def login(email, password):
    status, body = request("POST", "/api/v1/auth/login", {"email": email, "password": password})
    if status != 200:
        sys.exit(f"contract: login as {email} answered {status}: {body}")
    return body["access_token"]


def schema_for(name, keep, example=None):
    """The server's own OpenAPI document, with only the operations `keep(method, path)` selects:
    a file per pass, so what each pass covers is plain to see (and no CLI filter semantics).
    `example`, if given, becomes the JSON request body example of every kept operation."""
    with urllib.request.urlopen(BASE + "/openapi.json", timeout=30) as resp:
        spec = json.load(resp)
    paths = {}
    for path, item in spec["paths"].items():
        ops = {m: op for m, op in item.items() if keep(m.upper(), path)}
        for op in ops.values():
            for kind, media in op.get("requestBody", {}).get("content", {}).items():
                if example is not None and kind.startswith("application/json"):
                    media["example"] = example
        if ops:
            paths[path] = ops
    spec["paths"] = paths
    file = os.path.join(REPORTS, name + ".openapi.json")
    with open(file, "w") as out:
        json.dump(spec, out)
    return file, sum(len(ops) for ops in paths.values())


def schemathesis(name, token, keep, example=None):
    """One schemathesis run over the operations `keep` selects; returns its JSON report."""
    schema, operations = schema_for(name, keep, example)
    report_dir = os.path.join(REPORTS, name)
    cmd = [
        ST,
        "run",
        schema,
        "--url", BASE,
        "--phases", PHASES,
        "--checks", CHECKS,
        "--max-examples", MAX_EXAMPLES,
        "--workers", WORKERS,
        "--request-timeout", "30",
        "--report", "json",
        "--report-dir", report_dir,
        "--output-truncate", "false",
    ]
    if SEED:
        cmd += ["--seed", SEED]
    if token:
        cmd += ["--header", "Authorization: Bearer " + token]
    print(f"== schemathesis: {name} ({operations} operations)", flush=True)
    log_path = os.path.join(REPORTS, name + ".log")
    with open(log_path, "w") as log:
        # in the reports folder: schemathesis keeps a cache (.schemathesis/) where it runs
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPORTS)
    reports = sorted(glob.glob(os.path.join(report_dir, "*.json")))
    if not reports:
        sys.stdout.write(open(log_path).read())
        sys.exit(f"contract: schemathesis wrote no report for {name} (exit {proc.returncode})")
    report = json.load(open(reports[-1]))
    if report["exit_code"] != 0 or report["failures"] or report["errors"]:
        # the whole output: every failure with its curl reproduction
        sys.stdout.write(open(log_path).read())
    return report


def is_public(method, path):
    return any(re.search(p, path) for p in PUBLIC)


def ends_own_session(method, path):
    return any(method == m and re.search(p, path) for m, p in SESSION_ENDING)


def closes_own_account(method, path):
    return method == CLOSING[0] and re.search(CLOSING[1], path) is not None


def closing_agent(admin_token):
    """An agent of Premium Auto made for the closing pass (nobody else signs in as it)."""
    email, password = CLOSING_AGENT
    status, body = request("POST", "/api/v1/users", {
        "email": email, "password": password, "first_name": "Contract",
        "last_name": "Closing", "role": "agent", "dealership_id": PREMIUM_AUTO,
    }, token=admin_token)
    if status != 201:
        sys.exit(f"contract: creating {email} answered {status}: {body}")
    return login(email, password)


def main():
    # every login first: the fuzzed logins of the anonymous pass may lock this IP
    tokens = {}
    for role, email, password in ROLES:
        tokens[role] = (login(email, password), login(email, password))
    closers = [  # report name, token, the password the operation's example sends
        ("closing-agent", closing_agent(tokens["admin"][0]), CLOSING_AGENT[1]),
        ("closing-last-principal", login(*LAST_PRINCIPAL), LAST_PRINCIPAL[1]),
    ]

    runs = []
    anonymous = schemathesis("anonymous", None, is_public)
    runs.append(("anonymous (public operations)", anonymous))
    # closing one's account: before the role passes can deactivate or revoke these callers
    for name, token, password in closers:
        example = {"current_password": password}
        runs.append((name, schemathesis(name, token, closes_own_account, example)))

    for role, _, _ in ROLES:
        main_token, spare_token = tokens[role]
        report = schemathesis(
            role,
            main_token,
            lambda m, p: not (is_public(m, p) or ends_own_session(m, p)
                              or closes_own_account(m, p)),
        )
        runs.append((f"{role}", report))
        status, _ = request("GET", "/api/v1/auth/me", token=main_token)
        if status != 200:
            report["survived"] = False
        report = schemathesis(f"{role}-session-ending", spare_token, ends_own_session)
        runs.append((f"{role} (session-ending operations)", report))

    print("\n== contract summary (schemathesis %s, max examples %s per operation)"
          % (runs[0][1]["schemathesis_version"], MAX_EXAMPLES))
    ok = True
    for name, report in runs:
        cases = report["test_cases"]["generated"]
        failures = sum(f["count"] for f in report["failures"])
        errors = len(report["errors"])
        survived = report.get("survived", True)
        passed = report["exit_code"] == 0 and failures == 0 and errors == 0 and survived
        ok &= passed
        note = "" if survived else "  (the caller's token did not survive the pass)"
        print(f"  {name:<42} operations {report['operations']['tested']:>2}  "
              f"cases {cases:>5}  failures {failures}  errors {errors}  "
              f"{'ok' if passed else 'FAILED'}  {report['running_time']:.0f}s{note}")
    total = sum(r["test_cases"]["generated"] for _, r in runs)
    print(f"  {'total':<42} cases {total}: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
