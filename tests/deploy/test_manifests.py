"""The compose file and the Kubernetes manifests parse and keep the deployment's promises.

PyYAML is not among the project's dependencies, so `load_yaml` reads the block-style subset
these files are written in (mappings, sequences, plain and quoted scalars, comments, `---`);
it gave the same result as PyYAML's safe_load_all on each of them when they were written.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KEY = re.compile(r'^("[^"]*"|[^\s"#-][^:]*?):(?:\s+(.*))?$')  # "key:" or "key: value" (not "a:b")


def load_yaml(text: str) -> list:
    docs = []
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        lines = []
        for raw in chunk.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()  # none of these files has a '#' inside a value
            if line.strip():
                lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
        if lines:
            value, end = _block(lines, 0)
            assert end == len(lines), f"cannot read: {lines[end]}"
            docs.append(value)
    return docs


def _block(lines: list[tuple[int, str]], i: int):
    """The mapping or sequence that starts at line ``i``; returns it and the next line's index."""
    indent = lines[i][0]
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
            rest = lines[i][1][1:].strip()
            if KEY.match(rest):  # "- key: value" opens a mapping whose other keys sit under "key"
                value, end = _block([(indent + 2, rest)] + lines[i + 1 :], 0)
                items.append(value)
                i += end
            else:
                items.append(_scalar(rest))
                i += 1
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent:
        match = KEY.match(lines[i][1])
        assert match, f"not a key: {lines[i][1]}"
        key, rest = _scalar(match[1]), match[2]
        assert key not in mapping, f"duplicate key {key}"
        if rest:
            mapping[key], i = _scalar(rest), i + 1
        elif i + 1 < len(lines) and lines[i + 1][0] > indent:
            mapping[key], i = _block(lines, i + 1)
        else:
            mapping[key], i = None, i + 1
    return mapping, i


def _scalar(text: str):
    if text.startswith('"'):
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def test_the_reader_reads_what_yaml_means():
    text = 'a: 1\nb:\n  - x: "2"\n    y: [no]\n  - plain:colon\n# c\nc: true  # d\n---\ne:\n'
    assert load_yaml(text) == [{"a": 1, "b": [{"x": "2", "y": "[no]"}, "plain:colon"], "c": True}, {"e": None}]


def manifests() -> dict[str, dict]:
    docs = [doc for path in sorted(K8S.glob("*.yaml")) for doc in load_yaml(path.read_text())]
    return {f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}": doc for doc in docs}


def dockerfile_env(name: str) -> str:
    return re.search(rf"\b{name}=(\S+)", (ROOT / "Dockerfile").read_text())[1]


def test_kustomization_lists_every_manifest():
    (kustomization,) = load_yaml((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.stem != "kustomization")


def test_deployment_probes_resources_and_read_only_root():
    found = manifests()
    pod = found["Deployment/bn-lab"]["spec"]["template"]["spec"]
    (app,) = pod["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert app[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    assert app["ports"] == [{"name": "http", "containerPort": 8501}]
    assert pod["securityContext"]["runAsUser"] == 10001 and "USER 10001" in (ROOT / "Dockerfile").read_text()
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in app["volumeMounts"]}
    assert mounts["/tmp"]["emptyDir"]["medium"] == "Memory" and mounts["/dev/shm"]["emptyDir"]["medium"] == "Memory"
    assert dockerfile_env("BN_LAB_MNIST_DIR").startswith("/var/cache/bn-lab/") and "/var/cache/bn-lab" in mounts
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(app["resources"][kind])
    assert pod["containers"][0]["env"] == [
        {"name": "BN_LAB_MAX_RUNS", "value": "2"},
        {"name": "BN_LAB_BEHIND_PROXY", "value": "1"},  # every connection comes through the ingress
    ]
    assert pod["automountServiceAccountToken"] is False
    assert not app["image"].endswith(":latest") and ":" in app["image"]
    assert app["resources"]["limits"]["cpu"] == "2"  # one run per CPU of the limit


def test_service_ingress_and_autoscaler_point_at_the_deployment():
    found = manifests()
    labels = found["Deployment/bn-lab"]["spec"]["template"]["metadata"]["labels"]
    assert found["Service/bn-lab"]["spec"]["selector"] == labels
    ingress = found["Ingress/bn-lab"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"  # not by client address
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600  # WebSockets
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] and rule["http"]["paths"][0]["backend"]["service"]["name"] == "bn-lab"
    metrics = found["Ingress/bn-lab-metrics"]
    assert metrics["spec"]["rules"][0]["host"] == rule["host"]
    assert metrics["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/_stcore/metrics"
    assert metrics["metadata"]["annotations"]["nginx.ingress.kubernetes.io/denylist-source-range"] == "0.0.0.0/0,::/0"
    hpa = found["HorizontalPodAutoscaler/bn-lab"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "bn-lab" and hpa["minReplicas"] >= 2
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"


def test_only_the_ingress_reaches_the_pods():
    policy = manifests()["NetworkPolicy/bn-lab"]["spec"]
    labels = manifests()["Deployment/bn-lab"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"] == labels and set(policy["policyTypes"]) == {"Ingress", "Egress"}
    (allowed,) = policy["ingress"]
    assert allowed["ports"] == [{"protocol": "TCP", "port": 8501}] and "namespaceSelector" in allowed["from"][0]


def test_compose_runs_replicas_read_only_behind_the_proxy_only():
    (compose,) = load_yaml((ROOT / "deploy" / "docker-compose.yml").read_text())
    app, proxy = compose["services"]["app"], compose["services"]["proxy"]
    assert app["deploy"]["replicas"] >= 2 and "ports" not in app  # reachable through the proxy only
    assert app["read_only"] is True and app["tmpfs"][0].startswith("/tmp:") and app["shm_size"]
    assert app["volumes"] == ["mnist:/var/cache/bn-lab"]
    assert "./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in proxy["volumes"]
    assert "./haproxy/hosts.txt:/usr/local/etc/haproxy/hosts.txt:ro" in proxy["volumes"]
    assert proxy["ports"] == ["80:8080"] and "bind :8080" in (ROOT / "deploy/haproxy/haproxy.cfg").read_text()
    # the affinity cookie's key is the operator's, from the environment, not a string in this repository
    assert '"${BN_LAB_COOKIE_KEY}"' in (ROOT / "deploy/haproxy/haproxy.cfg").read_text()
    assert proxy["environment"]["BN_LAB_COOKIE_KEY"].startswith("${BN_LAB_COOKIE_KEY:?")
    assert app["environment"]["BN_LAB_BEHIND_PROXY"] == "1"


@pytest.mark.parametrize("name", ["docker-compose.yml", *(p.name for p in sorted(K8S.glob("*.yaml")))])
def test_every_file_reads(name):
    path = ROOT / "deploy" / name if name == "docker-compose.yml" else K8S / name
    assert all(isinstance(doc, dict) and doc for doc in load_yaml(path.read_text()))
