"""The claim tests' measurements, started as soon as the tests are collected and run in the
background at the lowest priority (``nice 19``): two at a time, on the CPU time the rest of the
suite leaves (the browser tests mostly wait). Each claim test then waits for the measurement it
needs; the claim tests run last."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from tests.claims.environments import ENVIRONMENTS, Environment, run_measure

SEEDS = "0-4"
_pool: ThreadPoolExecutor | None = None
_futures: dict[tuple[str, str], Future] = {}


def start(names: set[str]) -> None:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="claims")
    for name in sorted(names):
        for env in ENVIRONMENTS:
            if (name, env.label) not in _futures:
                _futures[(name, env.label)] = _pool.submit(run_measure, name, env, SEEDS, nice=True)


def result(name: str, env: Environment) -> dict:
    start({name})
    return _futures[(name, env.label)].result()


def stop() -> None:
    if _pool is not None:
        for future in _futures.values():
            future.cancel()
        _pool.shutdown(wait=False, cancel_futures=True)
