"""The graph benchmark's Dask side: the tree of `leaves` inc(i) reduced pairwise by add.

Prints one JSON line: for each scheduler, the wall-clock seconds of every run, each run
timing the graph's construction plus its computation (as forkjoin's side does).
Usage: python3 dask_tree.py LEAVES RUNS [scheduler,...]
"""
import json
import sys
import time

import dask
from dask import delayed


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def build(leaves):
    level = [delayed(inc)(i) for i in range(leaves)]
    while len(level) > 1:
        level = [delayed(add)(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def expected(leaves):
    return sum(i + 1 for i in range(leaves))


def timed(leaves, runs, compute):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        value = compute(build(leaves))
        samples.append(time.perf_counter() - t0)
        if value != expected(leaves):
            raise RuntimeError(f"wrong result {value}")
    return samples


def main():
    leaves = int(sys.argv[1])
    runs = int(sys.argv[2])
    wanted = sys.argv[3].split(",") if len(sys.argv) > 3 else ["sync", "threads", "processes", "distributed"]
    out = {"dask": dask.__version__, "python": sys.version.split()[0], "samples": {}, "errors": {}}
    for name in wanted:
        try:
            if name == "distributed":
                import distributed
                out["distributed"] = distributed.__version__
                with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                              dashboard_address=None) as cluster, distributed.Client(cluster) as client:
                    client.compute(build(64)).result()  # warm up
                    out["samples"][name] = timed(leaves, runs, lambda g: client.compute(g).result())
            else:
                kwargs = {"num_workers": 2} if name in ("threads", "processes") else {}
                dask.compute(build(64), scheduler=name, **kwargs)  # warm up
                out["samples"][name] = timed(leaves, runs, lambda g: dask.compute(g, scheduler=name, **kwargs)[0])
        except Exception as error:  # reported, not fatal: the other schedulers still run
            out["errors"][name] = f"{type(error).__name__}: {error}"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
