"""Request counter for the MLflow benchmark's client processes (bench/mlflow/bench.py puts this folder on
PYTHONPATH only for the processes it times). With BENCH_REQLOG=<file>, every HTTP request urllib3 puts on
the wire (requests, MLflow's REST calls, the Databricks SDK and MLflow's chunk-download subprocesses all go
through it; a retry is a second request) is counted by method + endpoint, with the time until the
response's headers arrived; at exit the process appends one JSON line {pid, argv0, requests} to the file.
No proxy sits in the timed path; the cost is a dict update per request."""
import os

_LOG = os.environ.get("BENCH_REQLOG")

if _LOG:
    import atexit
    import json
    import sys
    import threading
    import time
    from urllib.parse import urlsplit

    import urllib3.connectionpool as _cp

    _lock = threading.Lock()
    _counts: dict = {}

    def _endpoint(pool, method: str, url: str, headers) -> str:
        path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
        host = "" if pool.host in ("127.0.0.1", "localhost", "::1") else f"{pool.scheme}://{pool.host}"
        for prefix in ("/api/2.0/mlflow-artifacts/artifacts/", "/dbfs/", "/api/2.0/dbfs/"):
            if path.startswith(prefix) and len(path) > len(prefix):
                path = prefix + "<path>"
                break
        ranged = bool(headers and any(k.lower() == "range" for k in headers))
        return f"{method} {host}{path}" + (" [Range]" if ranged else "")

    _real = _cp.HTTPConnectionPool.urlopen

    def urlopen(self, method, url, body=None, headers=None, *args, **kwargs):
        key = _endpoint(self, method, url, headers)
        start = time.perf_counter()
        try:
            return _real(self, method, url, body, headers, *args, **kwargs)
        finally:
            spent = time.perf_counter() - start
            with _lock:
                c = _counts.setdefault(key, [0, 0.0])
                c[0] += 1
                c[1] += spent

    _cp.HTTPConnectionPool.urlopen = urlopen

    @atexit.register
    def _dump() -> None:
        line = json.dumps({
            "pid": os.getpid(),
            "argv0": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "",
            "requests": {k: {"n": n, "s": round(s, 6)} for k, (n, s) in _counts.items()},
        })
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
