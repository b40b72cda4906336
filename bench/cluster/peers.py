"""ipyparallel and dask.distributed on the cluster benchmark's workload; prints one JSON line.

usage: python3 peers.py ipyparallel|dask N_TINY N_CPU CPU_MS REPS
"""
import json
import statistics
import sys
import time


def square(x):
    return x * x


def spin(ms):
    import time as t
    end = t.perf_counter() + ms / 1000
    n = 0
    while t.perf_counter() < end:
        n += 1
    return ms


def rate(n, fn, reps):
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def seconds(fn, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_ipyparallel(n, n_cpu, cpu_ms, reps):
    import ipyparallel as ipp
    cluster = ipp.Cluster(n=2)
    rc = cluster.start_and_connect_sync()
    try:
        rc.wait_for_engines(2, timeout=120)
        view = rc.load_balanced_view()
        view.map_sync(square, range(10))
        out = {
            'tiny': rate(n, lambda: view.map_sync(square, range(n)), reps),
            'chunked': rate(n, lambda: view.map_sync(square, range(n), chunksize=100), reps),
            'cpu_s': seconds(lambda: view.map_sync(spin, [cpu_ms] * n_cpu), reps),
        }
    finally:
        rc.close()
        cluster.stop_cluster_sync()
    return out


def run_dask(n, n_cpu, cpu_ms, reps):
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        client.gather(client.map(square, range(10), pure=False))
        out = {
            'tiny': rate(n, lambda: client.gather(client.map(square, range(n), pure=False)), reps),
            'cpu_s': seconds(lambda: client.gather(client.map(spin, [cpu_ms] * n_cpu, pure=False)), reps),
        }
    finally:
        client.close()
        cluster.close()
    return out


if __name__ == '__main__':
    which, n, n_cpu, cpu_ms, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    result = run_ipyparallel(n, n_cpu, cpu_ms, reps) if which == 'ipyparallel' else run_dask(n, n_cpu, cpu_ms, reps)
    print('RESULT ' + json.dumps(result), flush=True)
