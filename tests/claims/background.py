"""The claim tests' measurements: all of them started together when the first claim test needs one, two at a
time (one per core), each in its own interpreter (tests/claims/environments.py). The claim tests run last in the
group of tests that runs alone (tests/conftest.py), so no test bound to a clock runs beside the measurements (one
once timed out there); the other worker's shared tests, which wait for a page with generous timeouts, may."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from tests.claims.environments import ENVIRONMENTS, Environment, run_measure

_pool: ThreadPoolExecutor | None = None
_futures: dict[tuple[str, str], Future] = {}


def start(names: set[str]) -> None:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="claims")
    for name in sorted(names):
        for env in ENVIRONMENTS:
            if (name, env.label) not in _futures:
                _futures[(name, env.label)] = _pool.submit(run_measure, name, env)


def result(name: str, env: Environment) -> dict:
    start({name})
    return _futures[(name, env.label)].result()


def stop() -> None:
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
