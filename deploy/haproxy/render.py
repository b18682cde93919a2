"""Render haproxy.cfg from haproxy.cfg.template: the committed haproxy.cfg (for docker-compose.yml)
and the tests' configs (tests/deploy) come from the same template.

    python deploy/haproxy/render.py > deploy/haproxy/haproxy.cfg
"""

from __future__ import annotations

import sys
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent
COMPOSE = {  # docker-compose.yml: up to 8 replicas of the service `app`, found through Docker's DNS
    "bind": ":8080",
    "hosts_file": "/usr/local/etc/haproxy/hosts.txt",
    "servers": ["server-template app 8 app:8501 check resolvers docker init-addr none"],
    "resolvers": ["127.0.0.11:53"],
}


def render(*, bind: str, hosts_file: str, servers: list[str], resolvers: list[str] = ()) -> str:
    """The template with its listening address, the path of the hosts file, the backend's server
    lines and, if the servers are found through DNS, the name servers to ask."""
    text = Template((HERE / "haproxy.cfg.template").read_text()).substitute(
        bind=bind, hosts_file=hosts_file, servers="\n".join(f"    {line}" for line in servers)
    )
    if resolvers:  # re-resolved every 10 s: replicas that start or stop are picked up
        lines = [f"    nameserver dns{i} {address}" for i, address in enumerate(resolvers, 1)]
        text += "\nresolvers docker\n" + "\n".join(lines) + "\n    hold valid 10s\n"
    return text


if __name__ == "__main__":
    sys.stdout.write(render(**COMPOSE))
