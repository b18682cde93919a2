"""serve.memory: freed heap memory goes back to the system; threads share few heaps."""

import subprocess
import sys
import textwrap

# In a fresh interpreter: fill the heap with 1 000-byte blocks (glibc's malloc, not Python's small-object
# arenas), free 49 in 50 (the survivors keep the heap from shrinking), then return the free pages.
SCRIPT = textwrap.dedent(
    """
    from pathlib import Path
    from serve.memory import return_freed_memory

    def rss_mb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    blocks = [bytes(1000) + bytes([i % 256]) for i in range(200_000)]
    kept = blocks[::50]
    del blocks
    before = rss_mb()
    return_freed_memory()
    print(before, rss_mb(), len(kept))
    """
)


def test_a_fragmented_heap_shrinks():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    before, after, _ = (float(v) for v in out.split())
    assert before - after > 100, (before, after)  # most of the 200 MB are whole free pages


# In a fresh interpreter: eight threads allocate at once (each holds 8 MB of 4 KB blocks until all have),
# then glibc's malloc_stats() lists its heaps ("Arena N:") on stderr.
THREADS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from serve.memory import limit_malloc_arenas

    if sys.argv[1] == "limit":
        assert limit_malloc_arenas(2)
    together = threading.Barrier(8)

    def work():
        held = [bytearray(4096) for _ in range(2000)]
        together.wait()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctypes.CDLL(None).malloc_stats()
    """
)


def heaps(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", THREADS, mode], capture_output=True, text=True, check=True)
    return sum(line.startswith("Arena ") for line in run.stderr.splitlines())


def test_concurrent_threads_share_at_most_two_heaps():
    assert heaps("default") > 2  # glibc's own limit is 8 per core
    assert 1 <= heaps("limit") <= 2
