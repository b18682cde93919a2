"""serve.limits against fake cgroup trees and real (killed and living) forkservers."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from serve.limits import cpu_limit, remove_stale_pymp


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_read_and_rounded_down(tmp_path):
    write(tmp_path / "cpu.max", "150000 100000\n")  # 1.5 CPUs
    assert cpu_limit(tmp_path, "/", affinity=8) == 1
    write(tmp_path / "cpu.max", "300000 100000\n")
    assert cpu_limit(tmp_path, "/", affinity=8) == 3


def test_cgroup_v2_without_quota_leaves_the_affinity(tmp_path):
    write(tmp_path / "cpu.max", "max 100000\n")
    assert cpu_limit(tmp_path, "/", affinity=6) == 6
    assert cpu_limit(tmp_path / "absent", "/", affinity=6) == 6  # no cgroup files at all


def test_affinity_smaller_than_the_quota_wins(tmp_path):
    write(tmp_path / "cpu.max", "400000 100000\n")
    assert cpu_limit(tmp_path, "/", affinity=2) == 2


def test_a_quota_below_one_cpu_still_allows_one_run(tmp_path):
    write(tmp_path / "cpu.max", "20000 100000\n")
    assert cpu_limit(tmp_path, "/", affinity=4) == 1


def test_cgroup_v1_quota(tmp_path):
    write(tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us", "200000\n")
    write(tmp_path / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    assert cpu_limit(tmp_path, "/", affinity=16) == 2
    write(tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")  # v1's "no limit"
    assert cpu_limit(tmp_path, "/", affinity=16) == 16


def test_a_nested_cgroup_takes_the_smallest_quota_of_its_ancestors(tmp_path):
    write(tmp_path / "kubepods" / "cpu.max", "200000 100000\n")  # the pod: 2 CPUs
    write(tmp_path / "kubepods" / "app" / "cpu.max", "max 100000\n")  # the container: no limit of its own
    write(tmp_path / "other" / "cpu.max", "50000 100000\n")  # a sibling's quota does not apply
    assert cpu_limit(tmp_path, "/kubepods/app", affinity=32) == 2


def test_v1_cgroup_path_missing_under_the_mount_falls_back_to_the_mount(tmp_path):
    # Docker on v1: /proc/self/cgroup says /docker/<id>, but the container sees its own cgroup at the mount
    write(tmp_path / "cpu" / "cpu.cfs_quota_us", "300000\n")
    write(tmp_path / "cpu" / "cpu.cfs_period_us", "100000\n")
    assert cpu_limit(tmp_path, "/docker/0123abcd", affinity=64) == 3


def test_this_machine_gives_at_least_one_and_at_most_its_affinity():
    assert 1 <= cpu_limit() <= len(os.sched_getaffinity(0))


# A server in miniature: multiprocessing's forkserver started with TMPDIR=tmp, as the runner does.
SERVER = (
    "import multiprocessing, time\n"
    "from multiprocessing import forkserver\n"
    "multiprocessing.set_start_method('forkserver')\n"
    "forkserver.ensure_running()\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


def start_server(tmp: Path) -> tuple[subprocess.Popen, Path]:
    """Start a forkserver-using process with its temporary directory in ``tmp``; return it and its pymp dir."""
    before = set(tmp.glob("pymp-*"))
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    (created,) = set(tmp.glob("pymp-*")) - before
    return proc, created


def test_stale_pymp_of_a_killed_server_is_removed_and_a_living_ones_kept(tmp_path):
    dead, dead_dir = start_server(tmp_path)
    live, live_dir = start_server(tmp_path)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait()
        # its forkserver notices that its server is gone and ends, closing the listening socket
        deadline = time.monotonic() + 10
        while not remove_stale_pymp(tmp_path, stale_after=0) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not dead_dir.exists()
        assert live_dir.exists() and any(live_dir.iterdir())  # the living server's socket is still there
    finally:
        live.kill()
        live.wait()


def test_a_young_pymp_without_socket_is_kept_an_old_one_removed(tmp_path):
    young, old = tmp_path / "pymp-young", tmp_path / "pymp-old"
    young.mkdir()
    old.mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    other = tmp_path / "torchinductor_root"  # not multiprocessing's: never touched
    other.mkdir()
    os.utime(other, (an_hour_ago, an_hour_ago))
    assert remove_stale_pymp(tmp_path) == [old]
    assert young.exists() and other.exists()


def test_nothing_is_removed_without_a_socket_list(tmp_path):
    (tmp_path / "pymp-x").mkdir()
    assert remove_stale_pymp(tmp_path, net_unix=tmp_path / "missing", stale_after=0) == []
    assert (tmp_path / "pymp-x").exists()
