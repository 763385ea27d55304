"""Execution engines for fit tasks: a local process pool (default) or Ray.

Both take the :class:`~.evaluate.FitState` once and run a list of task dicts, calling
``on_result(index, result)`` as each finishes and returning the results in task order,
so the search is deterministic whatever the number of workers or the finishing order.

- :class:`LocalPool`: ``concurrent.futures.ProcessPoolExecutor`` (fork), the state handed
  to each worker once by the pool initializer. If a worker process dies (killed, out of
  memory), the pool breaks; the engine starts a new pool and resubmits only the tasks
  that have no result yet (a task that breaks the pool three times is reported as an
  error instead of looping).
- :class:`RayEngine`: ``ray.init(address)`` (``RAY_ADDRESS`` or an explicit address; or a
  local head when none), the state put once in the object store and passed to every task
  by reference; Ray itself re-runs a task whose worker died (``max_retries``). Ray is an
  optional dependency (the ``fit`` extra), imported only here.
- :class:`InlineEngine`: runs tasks in this process (tests, debugging).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from snnc.compiler.errors import SnncError
from snnc.targets.fit.evaluate import FitState, init_worker, run_task

TaskFn = Callable[[dict[str, Any], Any], dict[str, Any]]

OnResult = Callable[[int, dict[str, Any]], None]
MAX_POOL_RESTARTS_PER_TASK = 3


class InlineEngine:
    """Run tasks one after another in this process."""

    name = "inline"
    workers = 1

    def __init__(self, state: Any, task_fn: TaskFn = run_task):
        self.state, self.task_fn = state, task_fn

    def run(self, tasks: list[Any], on_result: OnResult) -> list[Any]:
        out = []
        for i, t in enumerate(tasks):
            r = self.task_fn(t, self.state)
            on_result(i, r)
            out.append(r)
        return out

    def close(self) -> None:
        pass


class LocalPool:
    """A pool of ``workers`` local processes, surviving the death of a worker."""

    name = "local"

    def __init__(self, state: Any, workers: int, task_fn: TaskFn = run_task):
        if workers < 1:
            raise SnncError(f"fit: --workers must be >= 1, got {workers}")
        self.state, self.workers, self.task_fn = state, workers, task_fn
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        # fork: the workers inherit the imported modules; the state goes in once each.
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                   initializer=_init, initargs=(self.state, self.task_fn))

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (tests kill one to check recovery)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return sorted(procs)

    def run(self, tasks: list[dict[str, Any]], on_result: OnResult) -> list[dict[str, Any]]:
        results: dict[int, dict[str, Any]] = {}
        breaks = {i: 0 for i in range(len(tasks))}
        while len(results) < len(tasks):
            if self._pool is None:
                self._pool = self._new_pool()
            futs: dict[Future, int] = {}
            try:
                for i, t in enumerate(tasks):
                    if i not in results:
                        futs[self._pool.submit(_call, t)] = i
                pending = set(futs)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in sorted(done, key=lambda f: futs[f]):
                        i = futs[f]
                        r = f.result()  # BrokenProcessPool if a worker died
                        results[i] = r
                        on_result(i, r)
            except BrokenProcessPool:
                # A worker died: every unfinished task of this pool is lost, not failed.
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self.restarts += 1
                for f, i in futs.items():
                    if i in results:
                        continue
                    if f.done() and not f.cancelled() and f.exception() is None:
                        results[i] = f.result()
                        on_result(i, results[i])
                        continue
                    breaks[i] += 1
                    if breaks[i] >= MAX_POOL_RESTARTS_PER_TASK:
                        results[i] = _failed(tasks[i], "worker process died 3 times on "
                                             "this task")
                        on_result(i, results[i])
        return [results[i] for i in range(len(tasks))]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


_TASK_FN: TaskFn = run_task
_WORKER_STATE: Any = None


def one_blas_thread() -> None:
    """Limit this worker's BLAS/OpenMP pools to one thread: the unit of parallelism is
    the task, and N workers x 2 BLAS threads on N cores thrash (measured: 2 workers were
    slower than 1 before this)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # for child processes (gcc/QEMU do not care; Python does)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _init(state: Any, task_fn: TaskFn) -> None:
    """Pool initializer: the shared state and the task function, once per worker."""
    global _TASK_FN, _WORKER_STATE
    one_blas_thread()
    _TASK_FN, _WORKER_STATE = task_fn, state
    if isinstance(state, FitState):
        init_worker(state)


def _call(task: Any) -> Any:
    return _TASK_FN(task, _WORKER_STATE)


def _failed(task: Any, why: str) -> dict[str, Any]:
    """The result of a task whose worker kept dying (fit tasks: a point record)."""
    if isinstance(task, dict) and "point" in task:
        return {"point": task["point"], "n": task.get("n"), "cost": None, "accuracy": None,
                "seconds": 0.0, "error": why, "transient": True}
    return {"error": why, "transient": True}


_RAY_STATE: Any = None


def _ray_task(state: Any, task: Any, task_fn: TaskFn = run_task) -> Any:
    """Ray task body: keep the state per worker process (by content id) and evaluate."""
    global _RAY_STATE
    one_blas_thread()
    if not isinstance(state, FitState):
        return task_fn(task, state)
    if _RAY_STATE is None or _RAY_STATE.sid != state.sid:
        _RAY_STATE = state
    return task_fn(task, _RAY_STATE)


class RayEngine:
    """Run tasks as Ray tasks; model and data travel once through the object store."""

    name = "ray"

    def __init__(self, state: Any, address: str | None = None, workers: int | None = None,
                 task_fn: TaskFn = run_task):
        try:
            import ray
        except ImportError:
            raise SnncError("fit: --ray needs Ray: pip install 'snnc[fit]' (or run without "
                            "--ray for the local process pool)") from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            addr = address or os.environ.get("RAY_ADDRESS") or None
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
            if addr is None:  # a local head on this machine
                kw.update(num_cpus=workers or os.cpu_count() or 1,
                          _node_ip_address="127.0.0.1")
            try:
                ray.init(address=addr, **kw)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise SnncError(f"fit: cannot reach the Ray cluster at "
                                f"{addr or 'a new local head'} "
                                f"({str(e).splitlines()[0] if str(e) else type(e).__name__})"
                                ) from None
            self.started = True
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self.state_ref = ray.put(state)          # shipped once, referenced by every task
        self.remote = ray.remote(num_cpus=1, max_retries=3)(_ray_task)
        self.task_fn = task_fn

    def run(self, tasks: list[Any], on_result: OnResult) -> list[Any]:
        ray = self.ray
        refs = {self.remote.remote(self.state_ref, t, self.task_fn): i
                for i, t in enumerate(tasks)}
        results: dict[int, dict[str, Any]] = {}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = refs[ref]
                try:
                    results[i] = ray.get(ref)
                except ray.exceptions.RayError as e:  # retries exhausted
                    results[i] = _failed(tasks[i], f"Ray task failed: {type(e).__name__}")
                on_result(i, results[i])
        return [results[i] for i in range(len(tasks))]

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def make_engine(state: FitState, workers: int, ray: str | None) -> Any:
    """The engine for ``--workers N`` / ``--ray ADDR|auto``: Ray when ``ray`` is given or
    ``RAY_ADDRESS`` is set ('auto': ``RAY_ADDRESS``, else a local head), else a local pool
    of ``workers`` processes (0: one per CPU)."""
    if ray is None and os.environ.get("RAY_ADDRESS"):
        ray = "auto"
    if ray is not None:
        return RayEngine(state, None if ray == "auto" else ray,
                         workers if workers > 0 else None)
    return LocalPool(state, workers if workers > 0 else (os.cpu_count() or 1))


def map_tasks(task_fn: TaskFn, state: Any, tasks: list[Any], workers: int = 0,
              ray: str | None = None, on_result: OnResult | None = None) -> list[Any]:
    """Run ``task_fn(task, state)`` for every task on the engine ``--workers`` / ``--ray``
    select (the bench sweeps use this); results in task order. ``task_fn`` must be a
    module-level function (it is pickled to the workers)."""
    if ray is None and os.environ.get("RAY_ADDRESS"):
        ray = "auto"
    eng: Any
    if ray is not None:
        eng = RayEngine(state, None if ray == "auto" else ray, workers or None, task_fn)
    elif workers == 1:
        eng = InlineEngine(state, task_fn)
    else:
        eng = LocalPool(state, workers if workers > 0 else (os.cpu_count() or 1), task_fn)
    try:
        return eng.run(tasks, on_result or (lambda i, r: None))
    finally:
        eng.close()
