"""Two replicas behind HAProxy on loopback, configured from deploy/haproxy's template: a browser
session stays on its replica across reloads, reruns and a training run; another session goes to
the other replica; a foreign Host header is refused; /_stcore/metrics is not reachable."""

import http.client
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import metric_label
from tests.deploy.servers import HAPROXY, ROOT, cluster
from ui.i18n import catalog
from ui.lessons import LESSONS

pytestmark = pytest.mark.e2e
TRAIN = next(x for x in LESSONS if x.name == "train")
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# HAProxy's httplog: "... bn_lab replicas/app1 0/0/0/5/6 200 8116 BNLAB=<sent> <set> ---- ... "GET / HTTP/1.1""
LOG_LINE = re.compile(r" replicas/(\S+) \S+ (\d{3}) \S+ (\S+) \S+ \S{4} .*\"\S+ (\S+)")


def get(base: str, path: str, host: str | None = None) -> int:
    """The status of a GET, with ``host`` as Host header if given."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    connection.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


def served(log: Path) -> list[tuple[str, str, str, str]]:
    """(replica, status, cookie the request brought, path) of each proxied request logged so far."""
    return [m.groups() for m in map(LOG_LINE.search, log.read_text().splitlines()) if m]


def test_the_committed_config_is_the_rendered_template_and_valid():
    rendered = subprocess.run(
        [sys.executable, "deploy/haproxy/render.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert (ROOT / "deploy/haproxy/haproxy.cfg").read_text() == rendered
    # haproxy -c resolves the hosts file: check a copy that points at the committed one
    config = rendered.replace("/usr/local/etc/haproxy/hosts.txt", str(ROOT / "deploy/haproxy/hosts.txt"))
    keyed = {**os.environ, "BN_LAB_COOKIE_KEY": "0123456789abcdef"}  # the operator's, as docker-compose.yml asks
    check = subprocess.run([HAPROXY, "-c", "-f", "/dev/stdin"], input=config, capture_output=True, text=True, env=keyed)
    assert check.returncode == 0, check.stdout + check.stderr
    bare = {k: v for k, v in os.environ.items() if k != "BN_LAB_COOKIE_KEY"}
    unkeyed = subprocess.run(
        [HAPROXY, "-c", "-f", "/dev/stdin"], input=config, capture_output=True, text=True, env=bare
    )
    assert unkeyed.returncode != 0  # no key of the operator's, no proxy: never a key from this repository


def test_sessions_stick_to_one_replica_foreign_hosts_and_metrics_are_refused(browser, shots):
    text = catalog("en")
    with cluster(2, name="proxy") as (proxy, backends, log, _):
        port = proxy.rsplit(":", 1)[1]
        # DNS rebinding: another site's name on our address is refused, the configured names answered
        assert get(proxy, "/", host=f"rebind.example:{port}") == 421
        assert get(proxy, "/_stcore/health", host=f"rebind.example:{port}") == 421
        assert get(proxy, "/_stcore/health", host=f"localhost:{port}") == 200
        # the replicas serve their metrics; the proxy does not, however the path is spelled
        assert get(backends["app1"], "/_stcore/metrics") == 200
        for path in ("/_stcore/metrics", "/%5Fstcore/metrics", "/_STCORE/metrics", "/_stcore/%6detrics"):
            assert get(proxy, path) == 404, path
        before = len(served(log))

        first = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = first.new_page()
        for _ in range(3):  # each load is a new WebSocket, and a new choice of replica without the cookie
            page.goto(f"{proxy}/{TRAIN.url_path}?lang=en&preset=custom&epochs=2&speed=500")
            page.get_by_role("button", name=text["train.play"]).wait_for(timeout=30_000)
        (cookie,) = [c["value"] for c in first.cookies() if c["name"] == "BNLAB"]
        page.get_by_role("button", name=text["train.play"]).click()  # a rerun, and a run in a worker
        # a fresh replica first starts its forkserver, which trains once to warm up (slow on a busy machine)
        page.get_by_role("tab", name=text["train.tab_results"]).wait_for(timeout=300_000)
        metric_label(page, text["train.test_accuracy"]).wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "proxy-train-results-en.png"), full_page=True)
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()

        # a second browser while the first is connected: the replica with fewer connections
        second = browser.new_context()
        other = second.new_page()
        other.goto(f"{proxy}/?lang=en")
        other.get_by_role("heading", name=text["home.title"]).wait_for(timeout=30_000)
        (other_cookie,) = [c["value"] for c in second.cookies() if c["name"] == "BNLAB"]
        for context in (first, second):
            context.close()  # a WebSocket is logged when it closes

        # HAProxy logs a WebSocket when it closes: wait for the four
        requests = []
        for _ in range(50):
            requests = served(log)[before:]
            if sum(path == "/_stcore/stream" for *_, path in requests) >= 4:
                break
            time.sleep(0.1)
    mine = [r for r in requests if r[2] == f"BNLAB={cookie}"]
    streams = [r for r in mine if r[3] == "/_stcore/stream"]
    assert len(streams) >= 3, requests  # three page loads, three sessions, all with the cookie
    assert len({replica for replica, *_ in mine}) == 1, mine
    # nothing refused or failed (the frontend's probes of /train/_stcore/... get Streamlit's own 404)
    assert not [r for r in mine if r[1] == "421" or r[1].startswith("5")], mine
    theirs = {replica for replica, _, sent, _ in requests if sent == f"BNLAB={other_cookie}"}
    assert other_cookie != cookie and theirs and theirs.isdisjoint({mine[0][0]}), requests
