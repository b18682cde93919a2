"""Memory the process has freed, handed back to the system."""

import ctypes


def return_freed_memory() -> None:
    """Give the memory the process freed back to the system. glibc's malloc keeps freed blocks
    inside its heap for reuse, and returns only a free stretch at the heap's very top: after an
    MNIST run an idle worker held 442 MB resident without this, 385 MB with it (benchmarks/worker_memory.py).
    malloc_trim(0) releases every free page of the heap. Not glibc (musl, macOS): nothing to do."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
