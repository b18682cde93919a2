"""bn_core.memory: freed heap memory goes back to the system."""

import subprocess
import sys
import textwrap

# In a fresh interpreter: fill the heap with 1 000-byte blocks (glibc's malloc, not Python's small-object
# arenas), free 49 in 50 (the survivors keep the heap from shrinking), then return the free pages.
SCRIPT = textwrap.dedent(
    """
    from pathlib import Path
    from bn_core.memory import return_freed_memory

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
