"""What the machine really grants the server, and the limits a server sets itself: CPUs under a
container's quota, the temporary directories a killed server left behind, and the run limits read
from the environment (docs/deploy.md, *Run limits*) with the queue's estimated wait.

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

import heapq
import math
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


# --- the run limits, as environment variables ---------------------------------------------------
CONCURRENCY_ENV = "BN_LAB_MAX_RUNS"  # computations at a time (default: the CPUs the server may use)
QUEUE_ENV = "BN_LAB_MAX_QUEUE"  # computations that may wait in the queue (server-wide)
PER_OWNER_ENV = "BN_LAB_MAX_RUNS_PER_SESSION"  # new computations one page session may have waiting or computing
PER_WORKER_ENV = "BN_LAB_RUNS_PER_WORKER"  # runs computed side by side in one worker process (sharing its core)
PER_CLIENT_ENV = "BN_LAB_MAX_RUNS_PER_CLIENT"  # the same for one client address (all its sessions)
MAX_SECONDS_ENV = "BN_LAB_MAX_RUN_SECONDS"  # a run's compute is cut after this many seconds
MAX_STEPS_ENV = "BN_LAB_MAX_RUN_STEPS"  # ... or after this many training steps
RECORD_BYTES_ENV = "BN_LAB_RECORD_MB"  # the record store's bound, in megabytes
DEFAULT_MAX_QUEUE = 64  # runs: a class's 30 distinct pairs, each computed in seconds
# a class's 30 pairs all start at once on two workers: each run's first measures within a second, then all
# progress together (benchmarks/classroom_play.py)
DEFAULT_PER_WORKER = 32
DEFAULT_MAX_PER_OWNER = 2  # one pair (a run and its twin without normalization)
# eight pairs: one client cannot hold the whole queue; a class behind one address (a school's NAT, no proxy
# header) needs more: raise it (docs/deploy.md)
DEFAULT_MAX_PER_CLIENT = 16
DEFAULT_MAX_SECONDS = 120  # a Figure 1 pair takes 4-5 s of one core here (both caps are settings)
DEFAULT_MAX_STEPS = 50_000  # the digits at batch size 1 for 100 epochs would be 107 800 steps (2 min here)
DEFAULT_RECORD_MB = 200  # a digits run's record is about 0.6 MB; an MNIST pair up to about 8 MB
MAX_RECORDS = 1_000


def default_concurrency() -> int:
    raw = os.environ.get(CONCURRENCY_ENV, "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return cpu_limit()  # the container's CPU quota and affinity, not just the host's core count


def env_limit(name: str, default: int) -> int:
    """A limit from the environment: a whole number >= 0 (0 for the queue: no queue at all), else ``default``."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


class LimitReached(Exception):
    """A submit the runner refuses: ``reason`` "queue" (the queue is full), "session" (the page
    session already has ``limit`` new computations waiting or computing) or "client" (its address has)."""

    def __init__(self, reason: str, limit: int):
        super().__init__(f"{reason} limit reached ({limit})")
        self.reason, self.limit = reason, limit


def queue_wait(remaining: list[float | None], slots: int, ahead: int, duration: float | None) -> float | None:
    """Seconds until a queued run starts: ``slots`` runs compute at a time, the running ones end in
    ``remaining`` seconds (None: not known yet), and each of the ``ahead`` runs before it in the
    queue holds a slot for ``duration`` seconds. None when that depends on something unknown."""
    free = sorted([math.inf if r is None else max(r, 0.0) for r in remaining] + [0.0] * (slots - len(remaining)))
    free = free[:slots] if slots > 0 else [math.inf]
    for _ in range(ahead):
        if duration is None:
            return None
        heapq.heappush(free, heapq.heappop(free) + duration)
    return None if math.isinf(free[0]) else free[0]
