#!/usr/bin/python3
"""Static checks of the deployment files (no Docker engine or Helm binary runs here).

Cases: yamllint (the repository's .yamllint) on every plain YAML file; each Helm template checked as a Go template
(balanced actions and blocks, .Values paths that exist in values.yaml, includes that are defined) and its YAML
skeleton parsed (template actions replaced by a scalar); the docker-compose topology (PostgreSQL, three nodes with
distinct ids on one shared volume, HAProxy whose backends are those nodes); HAProxy's own `haproxy -c`; the
Dockerfile's shape (multi-stage, non-root, health check).

Last line: "yamllint: N passed, N failed"; exit 0 only if none failed.
"""
import glob
import os
import re
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHART = os.path.join(REPO, "helm", "castorage")
YAML_FILES = [".yamllint", "docker-compose.yml", "helm/castorage/Chart.yaml", "helm/castorage/values.yaml"]

results = []


def case(name, fn):
    try:
        problem = fn()
    except Exception as e:  # noqa: BLE001 - every failure is a failed case
        problem = f"{type(e).__name__}: {e}"
    results.append((name, problem))
    print(("ok   " if not problem else "FAIL ") + name + (f": {problem}" if problem else ""), flush=True)


def yamllint(path):
    r = subprocess.run(["yamllint", "-f", "parsable", "-c", os.path.join(REPO, ".yamllint"), path],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    return None if r.returncode == 0 else (r.stdout + r.stderr).strip()


ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
BLOCK_OPEN = re.compile(r"^(if|range|with|define|block)\b")


def values_paths(values, prefix=""):
    paths = set()
    if isinstance(values, dict):
        for k, v in values.items():
            p = f"{prefix}.{k}"
            paths.add(p)
            paths |= values_paths(v, p)
    return paths


def check_template(path, known_values, defined):
    text = open(path).read()
    if text.count("{{") != text.count("}}"):
        return "unbalanced {{ }}"
    depth = 0
    for action in ACTION.findall(text):
        a = action.strip()
        if a.startswith("/*"):
            continue
        if BLOCK_OPEN.match(a):
            depth += 1
        elif a == "end":
            depth -= 1
            if depth < 0:
                return "'end' without an open block"
        for ref in re.findall(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", a):
            if ref not in known_values:
                return f".Values{ref} is not in values.yaml"
        for name in re.findall(r'include\s+"([^"]+)"', a):
            if name not in defined:
                return f'include "{name}" is not defined'
    if depth != 0:
        return f"{depth} block(s) without 'end'"
    if path.endswith((".tpl", ".txt")):
        return None
    # The YAML skeleton: lines that are only template actions go, remaining actions become a scalar.
    lines = []
    for line in text.splitlines():
        if re.fullmatch(r"\s*(\{\{.*?\}\}\s*)+", line):
            continue
        lines.append(ACTION.sub("X", line))
    doc = yaml.safe_load("\n".join(lines))
    if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
        return "the skeleton is not a Kubernetes object (apiVersion, kind)"
    return None


def check_compose():
    doc = yaml.safe_load(open(os.path.join(REPO, "docker-compose.yml")))
    services = doc["services"]
    nodes = sorted(s for s in services if s.startswith("node"))
    if nodes != ["node1", "node2", "node3"]:
        return f"nodes {nodes}"
    for s in ("postgres", "haproxy"):
        if s not in services:
            return f"no {s} service"
    ids = set()
    for n in nodes:
        svc = services[n]
        env = svc["environment"]
        ids.add(env.get("CaStorage__Cluster__NodeId"))
        for key in ("CaStorage__Cluster__ConnectionString", "CaStorage__Admin__Token", "CaStorage__Shares__0__Path"):
            if key not in env:
                return f"{n}: no {key}"
        if not any(v.startswith("share:") for v in svc["volumes"]):
            return f"{n} does not mount the shared volume"
        if "healthcheck" not in svc or not svc.get("read_only"):
            return f"{n}: needs a health check and a read-only root file system"
    if ids != set(nodes):
        return f"node ids {ids}"
    cfg = open(os.path.join(REPO, "deploy", "haproxy.cfg")).read()
    backends = sorted(re.findall(r"^\s*server\s+\S+\s+(node\d):4450", cfg, re.M))
    if backends != nodes:
        return f"haproxy backends {backends}"
    return None


def check_haproxy():
    r = subprocess.run(["haproxy", "-c", "-f", os.path.join(REPO, "deploy", "haproxy.cfg")], capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    # Node names resolve only inside the compose network: unresolved servers are warnings, not errors.
    return None if r.returncode == 0 and "Configuration file is valid" in out else out.strip()


def check_dockerfile():
    text = open(os.path.join(REPO, "Dockerfile")).read()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.M | re.I)
    if len(stages) < 2:
        return f"not multi-stage: {stages}"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not users or users[-1] in ("root", "0"):
        return "the final stage does not run as a non-root user"
    for needed in ("HEALTHCHECK", "VOLUME", "castorctl"):
        if needed not in text:
            return f"no {needed}"
    return None


def main():
    for f in YAML_FILES:
        case(f"yamllint {f}", lambda f=f: yamllint(f))
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    known = values_paths(values)
    templates = sorted(glob.glob(os.path.join(CHART, "templates", "*")))
    defined = set()
    for t in templates:
        defined |= set(re.findall(r'define\s+"([^"]+)"', open(t).read()))
    for t in templates:
        case(f"helm template {os.path.relpath(t, REPO)}", lambda t=t: check_template(t, known, defined))
    case("docker-compose topology", check_compose)
    case("haproxy -c deploy/haproxy.cfg", check_haproxy)
    case("Dockerfile shape", check_dockerfile)
    failed = sum(1 for _, p in results if p)
    print(f"yamllint: {len(results) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
