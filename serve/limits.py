"""What the machine really grants the server: CPUs under a container's quota, and the
temporary directories a killed server left behind.

`os.cpu_count()` counts the host's cores: a container limited to 2 CPUs on a 64-core
host would let 64 runs train at once, each getting a thirty-second of a core. The quota
lives in the cgroup file system (v2: `cpu.max`; v1: `cpu.cfs_quota_us` and
`cpu.cfs_period_us`), and a CPU set (`docker run --cpuset-cpus`, `taskset`) in the
process's affinity mask; the limit is the smallest of them.

multiprocessing keeps its forkserver's socket in a `pymp-*` directory under the temporary
directory and removes it at exit; a server killed with SIGKILL leaves it behind, one per
kill. `remove_stale_pymp()` removes those whose socket nobody holds any more.

No Streamlit here; every path the functions read can be passed in, so tests use fake files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_NET_UNIX = Path("/proc/net/unix")  # every open unix socket of this network namespace, with its path
STALE_AFTER = 60.0  # seconds: a younger directory may belong to a server that is starting right now


def cpu_limit(root: Path = CGROUP_ROOT, cgroup: str | None = None, affinity: int | None = None) -> int:
    """The number of CPUs this process may use: the smallest of its CPU affinity, and every
    cgroup v2 or v1 quota from its cgroup up to ``root``; a quota of 1.5 CPUs counts as 1
    (the pages need what the runs leave). At least 1.

    Args:
        root: where the cgroup file system is mounted.
        cgroup: the process's cgroup path under ``root`` (default: from /proc/self/cgroup).
            Inside a container it is usually "/" (its own cgroup namespace); a quota set on
            an ancestor also applies, so each directory up to ``root`` is read.
        affinity: the number of CPUs in the affinity mask (default: os.sched_getaffinity).
    """
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cgroup is None:
        cgroup = _own_cgroup()
    limits = [affinity]
    here = (root / cgroup.lstrip("/")).resolve()
    for directory in [here, *here.parents]:
        # v2 keeps cpu.max in the unified tree; v1 in the cpu controller's own tree
        limits += [q for q in (_v2_quota(directory), _v1_quota(directory, root)) if q is not None]
        if directory == root.resolve():
            break
    return max(1, int(min(limits)))


def _own_cgroup(proc_cgroup: Path = Path("/proc/self/cgroup")) -> str:
    """This process's cgroup path ("0::/path" for v2, "N:cpu,cpuacct:/path" for v1's cpu controller)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return "/"
    unified = "/"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):  # v1's cpu controller (on a hybrid host too)
            return path
        if controllers == "":
            unified = path
    return unified


def _v2_quota(directory: Path) -> float | None:
    """CPUs allowed by cgroup v2's cpu.max ("<quota> <period>" in microseconds, or "max <period>")."""
    try:
        quota, period = (directory / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _v1_quota(directory: Path, root: Path) -> float | None:
    """CPUs allowed by cgroup v1's cpu controller (quota -1: no limit). v1 mounts each controller
    under root (cpu, or cpu,cpuacct), with the same relative path as in the process's cgroup."""
    relative = directory.relative_to(root.resolve())
    for mount in ("cpu", "cpu,cpuacct"):
        base = root / mount / relative
        try:
            quota = int((base / "cpu.cfs_quota_us").read_text())
            period = int((base / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota < 0 or period <= 0 else quota / period
    return None


def remove_stale_pymp(
    tmp: Path | None = None, net_unix: Path = PROC_NET_UNIX, stale_after: float = STALE_AFTER
) -> list[Path]:
    """Remove the `pymp-*` directories under ``tmp`` (default: the temporary directory) that no
    live process uses, and return them.

    A directory is in use while a unix socket bound inside it is open (the forkserver's
    listener: the forkserver ends when its server does, so the socket goes with them), as
    ``net_unix`` (/proc/net/unix) lists. One without any open socket is left alone for
    ``stale_after`` seconds after its last change: a server may be starting its forkserver.
    If ``net_unix`` cannot be read (not Linux), nothing is removed.
    """
    tmp = Path(tmp or tempfile.gettempdir())
    try:
        open_sockets = _socket_paths(net_unix.read_text())
    except OSError:
        return []
    removed = []
    now = time.time()
    for directory in tmp.glob("pymp-*"):
        try:
            if not directory.is_dir() or directory.is_symlink() or directory.stat().st_uid != os.getuid():
                continue  # only our own real directories
            young = now - directory.stat().st_mtime < stale_after
        except OSError:
            continue
        # a socket's path is listed as it was bound: through the directory's name or its real path
        prefixes = (str(directory) + os.sep, str(directory.resolve()) + os.sep)
        if young or any(path.startswith(prefixes) for path in open_sockets):
            continue
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed


def _socket_paths(net_unix: str) -> set[str]:
    """The paths of bound unix sockets in /proc/net/unix (the last column, when there is one)."""
    paths = set()
    for line in net_unix.splitlines()[1:]:  # a header line first
        fields = line.split()
        if len(fields) >= 8 and fields[-1].startswith("/"):
            paths.add(fields[-1])
    return paths
