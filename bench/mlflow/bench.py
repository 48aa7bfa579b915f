"""The real MLflow client against regate and against MLflow's own tracking server, in one run.

Run through bench/mlflow/run.sh (which prepares .venv-bench/); this file runs on .venv-bench/bin/python:

    bash bench/mlflow/run.sh [--smoke] <out.json>

What it does, in order (details in bench/mlflow/README.md):
1. makes the workloads (random bytes, SHA-256 of every file kept): (a) MLmodel + 2,000 files of 64 KiB,
   (b) MLmodel + one 1 GiB file (smoke: 20 files, 8 MiB);
2. starts regate (`node src/runtime/node.ts`) and `mlflow server --serve-artifacts --app-name basic-auth`
   (sqlite backend store, local artifact root, basic auth with its credential cache on), both on 127.0.0.1
   on free ports, each in its own process group; makes a model creator and a reader on each;
3. for each round (A/B order alternating), for each workload: registers it on both servers, grants the
   reader, then downloads `models:/<name>/1` as the reader on both servers, each download in a fresh Python
   process (for (b) with MLFLOW_ENABLE_MULTIPART_DOWNLOAD on and off), checks the SHA-256 of every
   downloaded file, and only then records wall time, the client process's CPU (RUSAGE_CHILDREN, chunk
   subprocesses included), the server's CPU over the same interval (/proc/<pid>/stat of its process tree)
   and the HTTP requests the client put on the wire (hook/sitecustomize.py);
4. writes the JSON (medians, min, max, ratios, goals met/missed, request counts, CPU split, versions,
   commands) and prints a short table; stops both servers by PID (process group) at the end, on error too.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable  # .venv-bench/bin/python (run.sh execs this file with it)
NODE = ROOT / "node_modules" / ".bin" / "node"
CLIENT = HERE / "client.py"
HOOK_DIR = HERE / "hook"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
REGISTERED_MODEL_META = "registered_model_meta"  # written by MLflow's ModelsArtifactRepository on download
CHILD_TIMEOUT_S = 1800


def log(msg: str) -> None:
    print(f"[bench/mlflow {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------------
# workloads


@dataclass
class Workload:
    key: str
    title: str
    src: Path
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    total_bytes: int = 0
    modes: tuple[str, ...] = ("default",)


MLMODEL = b"artifact_path: model\nflavors: {}\n"


def _write_random(path: Path, size: int) -> str:
    h = hashlib.sha256()
    block = 16 * MIB
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(block, left))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def make_workloads(base: Path, smoke: bool) -> list[Workload]:
    n_files, file_size = (20, 64 * 1024) if smoke else (2000, 64 * 1024)
    big = 8 * MIB if smoke else 1024 * MIB
    out = []
    a = Workload("files", f"{n_files} files x 64 KiB", base / "files" / "model")
    (a.src / "data").mkdir(parents=True)
    (a.src / "MLmodel").write_bytes(MLMODEL)
    a.files["MLmodel"] = hashlib.sha256(MLMODEL).hexdigest()
    for i in range(n_files):
        rel = f"data/part-{i:05d}.bin"
        a.files[rel] = _write_random(a.src / rel, file_size)
    a.total_bytes = len(MLMODEL) + n_files * file_size
    out.append(a)
    b = Workload("big", f"one {big // MIB} MiB file", base / "big" / "model", modes=("multipart_on", "multipart_off"))
    (b.src / "data").mkdir(parents=True)
    (b.src / "MLmodel").write_bytes(MLMODEL)
    b.files["MLmodel"] = hashlib.sha256(MLMODEL).hexdigest()
    b.files["data/weights.bin"] = _write_random(b.src / "data" / "weights.bin", big)
    b.total_bytes = len(MLMODEL) + big
    out.append(b)
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * MIB):
            h.update(block)
    return h.hexdigest()


def verify_tree(root: Path, expected: dict[str, str]) -> str | None:
    """None when root holds exactly the expected files with the expected SHA-256 (plus MLflow's own
    registered_model_meta at the top); otherwise what is wrong."""
    got: dict[str, Path] = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            got[p.relative_to(root).as_posix()] = p
    got.pop(REGISTERED_MODEL_META, None)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        return f"missing {missing[:5]} (of {len(missing)}), unexpected {extra[:5]} (of {len(extra)})"
    bad = [rel for rel, digest in expected.items() if sha256_file(got[rel]) != digest]
    if bad:
        return f"SHA-256 mismatch on {len(bad)} files, e.g. {bad[:5]}"
    return None


# ------------------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    drop = ("DATABRICKS_", "REGATE_", "MLFLOW_", "PYTHONPATH", "BENCH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    # MLflow's telemetry would fetch a config from the internet from every client process (and the server)
    # and pre-warm the Databricks SDK in a thread: off for everything here (it is off in CI anyway).
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, utime+stime+cutime+cstime in seconds) for every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2:].split()
        ppid = int(rest[1])
        ticks = int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])
        out[int(d)] = (ppid, ticks / CLK_TCK)
    return out


def tree_cpu(root_pid: int) -> tuple[float, int]:
    """CPU seconds (user+sys, reaped children included) of root_pid and all its descendants, and how
    many processes that is."""
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, n, todo = 0.0, 0, [root_pid]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            n += 1
        todo.extend(children.get(pid, []))
    return total, n


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen
    cmd: list[str]
    stdout_log: Path
    stderr_log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the process group this server was started in (its own PID: start_new_session), then
        SIGKILL if it has not exited after 15 s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers in the group (uvicorn workers)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)

    def tail(self, n: int = 30) -> str:
        out = []
        for p in (self.stdout_log, self.stderr_log):
            try:
                out += p.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(out)


def _wait_until(pred, timeout: float, what: str, server: Server) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited (code {server.proc.returncode}) before {what}:\n{server.tail()}")
        if pred():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name}: no {what} within {timeout} s:\n{server.tail()}")


def start_regate(work: Path) -> tuple[Server, str, dict]:
    port = free_port()
    admin_token = "dapi" + secrets.token_hex(16)
    env = clean_env()
    env.update(PORT=str(port), HOST="127.0.0.1", REGATE_DATA_DIR=str(work / "data"), REGATE_ADMIN_TOKEN=admin_token)
    work.mkdir(parents=True, exist_ok=True)
    cmd = [str(NODE), "src/runtime/node.ts"]
    out, err = work / "stdout.log", work / "stderr.log"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                start_new_session=True)
    srv = Server("regate", f"http://127.0.0.1:{port}", proc, cmd, out, err)
    _wait_until(lambda: "regate listening on" in out.read_text(errors="replace"), 60, "listening line", srv)
    shown = {"PORT": str(port), "HOST": "127.0.0.1", "REGATE_DATA_DIR": str(work / "data"),
             "REGATE_ADMIN_TOKEN": "<random dapi token>"}
    return srv, admin_token, shown


AUTH_INI = """[mlflow]
# Written by bench/mlflow/bench.py. Least privilege, like regate: a user sees nothing without a grant.
default_permission = NO_PERMISSIONS
database_uri = sqlite:///{db}
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
# resource -> workspace cache (on by default; shipped values)
workspace_cache_max_size = 10000
workspace_cache_ttl_seconds = 3600
# basic-auth credential cache: off by default (auth_cache_ttl_seconds = 0); turned on here, so the
# PBKDF2 password check runs once per (user, password) per minute instead of on every request.
auth_cache_max_size = 10000
auth_cache_ttl_seconds = 60
"""


def start_mlflow(work: Path) -> tuple[Server, str, dict]:
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    ini = work / "basic_auth.ini"
    ini.write_text(AUTH_INI.format(db=work / "basic_auth.db"))
    admin_password = "Adm1n-" + secrets.token_urlsafe(18)
    env = clean_env()
    env.update(
        MLFLOW_AUTH_CONFIG_PATH=str(ini),
        MLFLOW_AUTH_ADMIN_PASSWORD=admin_password,
        MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16),
        # The server's job runner (huey consumers for GenAI jobs, on by default) polls its queue: about a
        # third of a core while idle on this 2-core machine, taken from whichever client is being timed.
        # It has nothing to do with artifacts or the registry, so it is off.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
    )
    cmd = [
        str(Path(PY).parent / "mlflow"), "server",
        "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", str(work / "artifacts"),
        "--app-name", "basic-auth",
    ]
    out, err = work / "stdout.log", work / "stderr.log"  # uvicorn's access log goes to stdout
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                start_new_session=True)
    srv = Server("mlflow", f"http://127.0.0.1:{port}", proc, cmd, out, err)
    import requests

    def ready() -> bool:
        try:
            return requests.get(f"{srv.url}/health", timeout=2).status_code in (200, 401)
        except requests.RequestException:
            return False

    _wait_until(ready, 180, "answer on /health", srv)
    shown = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_AUTH_ADMIN_PASSWORD": "<random>",
             "MLFLOW_FLASK_SERVER_SECRET_KEY": "<random>", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
             "basic_auth.ini": AUTH_INI.format(db="<work>/basic_auth.db")}
    return srv, admin_password, shown


def access_log_requests(srv: Server) -> int:
    """Request lines in uvicorn's access log so far (mlflow server only)."""
    try:
        text = srv.stdout_log.read_text(errors="replace")
    except OSError:
        return 0
    return len(re.findall(r'"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^"]*" \d{3}', text))


# ------------------------------------------------------------------------------------------------------
# identities


class RegateSide:
    name = "regate"

    def __init__(self, srv: Server, admin_token: str, work: Path) -> None:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        self.srv, self.work = srv, work
        self.no_cfg = str(work / "no-such-databrickscfg")
        os.environ["DATABRICKS_CONFIG_FILE"] = self.no_cfg  # the orchestrator's own SDK client
        self.admin = WorkspaceClient(config=Config(host=srv.url, token=admin_token, retry_timeout_seconds=60))
        self.creator = self._user("bench-creator")
        self.reader = self._user("bench-reader")
        self.tracking_db = work / "client-tracking" / "mlflow.db"
        self.tracking_db.parent.mkdir(parents=True, exist_ok=True)

    def _user(self, prefix: str) -> tuple[str, str]:
        name = f"{prefix}-{secrets.token_hex(4)}@example.com"
        self.admin.users.create(user_name=name, display_name=prefix)
        res = self.admin.api_client.do("POST", "/api/2.0/token-management/on-behalf-of/tokens",
                                       body={"user_name": name, "comment": "bench", "lifetime_seconds": 86400})
        return name, res["token_value"]

    def env(self, who: str) -> dict[str, str]:
        _, token = self.creator if who == "creator" else self.reader
        return {
            "DATABRICKS_HOST": self.srv.url,
            "DATABRICKS_TOKEN": token,
            "DATABRICKS_CONFIG_FILE": self.no_cfg,
            "MLFLOW_REGISTRY_URI": "databricks",
            # As in test/compat: a local sqlite tracking store (register_model of a local directory then
            # copies it into DBFS). Created and migrated once before anything is timed.
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.tracking_db}",
        }

    def shown_env(self, who: str) -> dict[str, str]:
        e = self.env(who)
        e["DATABRICKS_TOKEN"] = f"<token of the {who}>"
        return e

    def register_args(self, wl: Workload, name: str) -> list[str]:
        return ["register-regate", "--src", str(wl.src), "--name", name]

    def grant_reader(self, name: str) -> None:
        from databricks.sdk.service.ml import RegisteredModelAccessControlRequest, RegisteredModelPermissionLevel

        mid = self.admin.model_registry.get_model(name).registered_model_databricks.id
        self.admin.model_registry.update_permissions(mid, access_control_list=[RegisteredModelAccessControlRequest(
            user_name=self.reader[0], permission_level=RegisteredModelPermissionLevel.CAN_READ)])


class MlflowSide:
    name = "mlflow"

    def __init__(self, srv: Server, admin_password: str, work: Path) -> None:
        import requests

        self.srv, self.work = srv, work
        self.s = requests.Session()
        self.admin = ("admin", admin_password)
        self.creator = self._user("bench-creator")
        self.reader = self._user("bench-reader")
        r = self.s.post(f"{srv.url}/api/2.0/mlflow/experiments/create", auth=self.creator,
                        json={"name": f"bench-{secrets.token_hex(4)}"}, timeout=60)
        r.raise_for_status()
        self.experiment_id = r.json()["experiment_id"]
        # The artifact proxy judges artifact reads on the experiment (and run) that holds them, so the
        # reader needs READ there as well as on the registered model.
        self._grant(self.reader[0], "experiment", self.experiment_id, "READ")

    def _user(self, prefix: str) -> tuple[str, str]:
        name, password = f"{prefix}-{secrets.token_hex(4)}", "Pw-" + secrets.token_urlsafe(18)
        r = self.s.post(f"{self.srv.url}/api/2.0/mlflow/users/create", auth=self.admin,
                        json={"username": name, "password": password}, timeout=60)
        r.raise_for_status()
        return name, password

    def _grant(self, username: str, rtype: str, rid: str, permission: str) -> None:
        r = self.s.post(f"{self.srv.url}/api/3.0/mlflow/users/permissions/grant", auth=self.admin, timeout=60,
                        json={"username": username, "resource_type": rtype, "resource_id": rid, "permission": permission})
        if r.status_code != 200:
            raise RuntimeError(f"grant {permission} on {rtype} {rid} to {username}: {r.status_code} {r.text[:300]}")

    def env(self, who: str) -> dict[str, str]:
        user, password = self.creator if who == "creator" else self.reader
        return {"MLFLOW_TRACKING_URI": self.srv.url, "MLFLOW_TRACKING_USERNAME": user,
                "MLFLOW_TRACKING_PASSWORD": password}

    def shown_env(self, who: str) -> dict[str, str]:
        e = self.env(who)
        e["MLFLOW_TRACKING_PASSWORD"] = f"<password of the {who}>"
        return e

    def register_args(self, wl: Workload, name: str) -> list[str]:
        return ["register-mlflow", "--src", str(wl.src), "--name", name, "--experiment-id", self.experiment_id]

    def grant_reader(self, name: str) -> None:
        self._grant(self.reader[0], "registered_model", name, "READ")


# ------------------------------------------------------------------------------------------------------
# one timed client process


def run_client(side, who: str, args: list[str], extra_env: dict[str, str], tag: str, work: Path) -> dict:
    """Runs client.py in a fresh process as `who` on `side`; returns wall time of the whole process, its
    CPU (user+sys, waited-for descendants included), the server tree's CPU over the same interval, the
    client's own result and the requests it sent."""
    reqlog = work / "reqlogs" / f"{tag}.jsonl"
    reqlog.parent.mkdir(parents=True, exist_ok=True)
    env = clean_env()
    env.update(side.env(who))
    env.update(extra_env)
    env.update(PYTHONPATH=str(HOOK_DIR), BENCH_REQLOG=str(reqlog))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [PY, str(CLIENT), *args]
    acc0 = access_log_requests(side.srv) if side.name == "mlflow" else None
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv0, _ = tree_cpu(side.srv.pid)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=CHILD_TIMEOUT_S)
    t1 = time.perf_counter()
    srv1, nproc = tree_cpu(side.srv.pid)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{tag}: client exited {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n"
                           f"{p.stderr[-6000:]}\nserver:\n{side.srv.tail(20)}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    requests_by_endpoint: dict[str, dict] = {}
    procs = 0
    for line in reqlog.read_text().splitlines() if reqlog.exists() else []:
        procs += 1
        for k, v in json.loads(line)["requests"].items():
            agg = requests_by_endpoint.setdefault(k, {"n": 0, "s": 0.0})
            agg["n"] += v["n"]
            agg["s"] = round(agg["s"] + v["s"], 6)
    if side.name == "mlflow":
        time.sleep(0.3)  # let uvicorn flush its access log lines (outside the timed interval)
    out = {
        "wall_s": t1 - t0,
        "call_s": res["call_s"],
        "import_s": res.get("import_s"),
        # python start-up before client.py's first line (site, sitecustomize), and from the end of
        # main() to the parent seeing the exit (atexit handlers, thread joins, interpreter teardown)
        "startup_s": res["t_start"] - t0,
        "exit_s": t1 - res["t_end"],
        "client_cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        "client_user_s": ru1.ru_utime - ru0.ru_utime,
        "client_sys_s": ru1.ru_stime - ru0.ru_stime,
        "client_max_rss_mib": ru1.ru_maxrss / 1024,
        "server_cpu_s": srv1 - srv0,
        "server_processes": nproc,
        "client_processes": procs,
        "requests_total": sum(v["n"] for v in requests_by_endpoint.values()),
        "requests": dict(sorted(requests_by_endpoint.items(), key=lambda kv: -kv[1]["n"])),
        "result": {k: v for k, v in res.items() if k not in ("call_s", "import_s", "t_start", "t_end")},
    }
    if acc0 is not None:
        out["server_access_log_requests"] = access_log_requests(side.srv) - acc0
    return out


FLOOR_IMPORTS = {
    # What each side's client process imports before its first request, measured alone: the part of every
    # figure that no server can change. The Databricks registry path imports the Databricks SDK (for
    # get_databricks_host_creds) and, with the sqlite tracking URI of test/compat, the SQLAlchemy store.
    "regate": "import mlflow, mlflow.artifacts, databricks.sdk, mlflow.store.tracking.sqlalchemy_store",
    "mlflow": "import mlflow, mlflow.artifacts, mlflow.store.artifact.mlflow_artifacts_repo",
}


def client_floor(sides: dict, work: Path, n: int) -> dict:
    out = {}
    for name, code in FLOOR_IMPORTS.items():
        env = clean_env()
        env.update(sides[name].env("reader"))
        walls, cpus = [], []
        for _ in range(n):
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([PY, "-c", code], cwd=work, env=env, check=True, capture_output=True, timeout=300)
            walls.append(time.perf_counter() - t0)
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime))
        out[name] = {"code": code, "wall_s": stats(walls), "cpu_s": stats(cpus)}
    return out


# ------------------------------------------------------------------------------------------------------
# summary


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs),
            "samples": [round(x, 4) for x in xs]} if xs else {"n": 0}


def faster(mlflow_s: float, regate_s: float) -> tuple[float, str]:
    ratio = mlflow_s / regate_s if regate_s > 0 else float("inf")
    text = f"regate is {ratio:.2f}x faster" if ratio >= 1 else f"regate is {1 / ratio:.2f}x slower"
    return ratio, text


def summarize(samples: list[dict], workloads: list[Workload]) -> dict:
    figures = {}
    for wl in workloads:
        keys = [(f"{wl.key}.register", "register", None)]
        keys += [(f"{wl.key}.download" + ("" if m == "default" else f".{m}"), "download", m) for m in wl.modes]
        for fig, op, mode in keys:
            entry = {"workload": wl.title, "op": op, "mode": mode}
            for side in ("regate", "mlflow"):
                ss = [s for s in samples if s["workload"] == wl.key and s["op"] == op and s["mode"] == mode
                      and s["server"] == side and s.get("ok")]
                if not ss:
                    continue
                last = ss[-1]
                e = {k: stats([s[k] for s in ss]) for k in ("wall_s", "call_s", "client_cpu_s", "server_cpu_s")}
                e["wall_breakdown_median_s"] = {k: round(statistics.median(s[k] for s in ss), 3)
                                                for k in ("startup_s", "import_s", "call_s", "exit_s")}
                e["requests_total"] = stats([s["requests_total"] for s in ss])
                e["requests_by_endpoint_last"] = last["requests"]
                if "server_access_log_requests" in last:
                    e["server_access_log_requests"] = stats([s["server_access_log_requests"] for s in ss])
                n_files = len(wl.files)
                e["requests_per_file"] = round(statistics.median(s["requests_total"] for s in ss) / n_files, 2)
                med_wall = e["wall_s"]["median"]
                e["cpu_split"] = {
                    "client_cpu_share_of_wall": round(e["client_cpu_s"]["median"] / med_wall, 3) if med_wall else None,
                    "server_cpu_share_of_wall": round(e["server_cpu_s"]["median"] / med_wall, 3) if med_wall else None,
                }
                if op == "download":
                    e["paths_last"] = last["result"].get("paths")
                    e["MB_per_s_median"] = round(wl.total_bytes / med_wall / 1e6, 1)
                entry[side] = e
            if "regate" in entry and "mlflow" in entry:
                for basis in ("wall_s", "call_s"):
                    r, text = faster(entry["mlflow"][basis]["median"], entry["regate"][basis]["median"])
                    entry[f"ratio_{basis}"] = round(r, 3)
                    entry[f"regate_is_{basis}"] = text
            figures[fig] = entry
    return figures


GOALS = [
    # (figure, minimum mlflow/regate ratio, text)
    ("files.download", 2.0, "regate >= 2x faster downloading {files}"),
    ("big.download.multipart_off", 2.0, "regate >= 2x faster downloading {big} with multipart off"),
    ("big.download.multipart_on", 1.0, "regate no slower downloading {big} with multipart on"),
    ("files.register", 1.0, "registration of {files} no slower than MLflow's"),
    ("big.register", 1.0, "registration of {big} no slower than MLflow's"),
]


def goals(figures: dict, workloads: list[Workload]) -> list[dict]:
    titles = {"files": workloads[0].title, "big": workloads[1].title}
    out = []
    for fig, need, text in GOALS:
        f = figures.get(fig, {})
        r = f.get("ratio_wall_s")
        out.append({
            "goal": text.format(**titles), "figure": fig, "basis": "median wall time of the whole client process",
            "required_ratio_mlflow_over_regate": need, "observed_ratio": r,
            "observed_ratio_call_only": f.get("ratio_call_s"),
            "status": "no data" if r is None else ("met" if r >= need else "missed"),
        })
    return out


def table(figures: dict, gl: list[dict]) -> str:
    rows = [("figure", "regate s (min-max)", "mlflow s (min-max)", "ratio", "req/dl regate", "req/dl mlflow",
             "cpu cl/srv regate", "cpu cl/srv mlflow")]
    for fig, e in figures.items():
        def cell(side):
            s = e.get(side)
            return "-" if not s else f"{s['wall_s']['median']:.2f} ({s['wall_s']['min']:.2f}-{s['wall_s']['max']:.2f})"

        def req(side):
            s = e.get(side)
            return "-" if not s else f"{s['requests_total']['median']:.0f}"

        def cpu(side):
            s = e.get(side)
            return "-" if not s else f"{s['client_cpu_s']['median']:.1f}/{s['server_cpu_s']['median']:.1f}"

        rows.append((fig, cell("regate"), cell("mlflow"), f"{e.get('ratio_wall_s', float('nan')):.2f}x",
                     req("regate"), req("mlflow"), cpu("regate"), cpu("mlflow")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("ratio = MLflow median / regate median (whole client process wall time; >1: regate faster)")
    for g in gl:
        lines.append(f"goal [{g['status']:>7}] {g['goal']}: observed {g['observed_ratio']}x, need >= {g['required_ratio_mlflow_over_regate']}x")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------
# versions


def versions() -> dict:
    from importlib.metadata import version

    out = {p: version(p) for p in ("mlflow", "mlflow-skinny", "databricks-sdk", "requests", "urllib3", "uvicorn",
                                   "fastapi", "Flask", "Flask-WTF", "SQLAlchemy")}
    out["python"] = platform.python_version()
    out["node"] = subprocess.run([str(NODE), "--version"], capture_output=True, text=True).stdout.strip()
    try:
        pkg = json.loads((ROOT / "package.json").read_text())
        out["regate_package"] = f"{pkg.get('name')}@{pkg.get('version')}"
    except (OSError, ValueError):
        pass
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    out["regate_git_commit"] = git("rev-parse", "HEAD")
    out["regate_git_dirty_files"] = len([ln for ln in git("status", "--porcelain", "--", "src", "migrations").splitlines() if ln])
    return out


def machine() -> dict:
    mem = next((ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), "?")
    model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_kib": int(mem) if mem.isdigit() else mem,
            "kernel": platform.release()}


# ------------------------------------------------------------------------------------------------------
# main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--smoke", action="store_true", help="20 files, 8 MiB, 1 round")
    ap.add_argument("--rounds", type=int, help="rounds (default 3; smoke 1)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (data, logs, request logs)")
    ap.add_argument("--workdir", type=Path, help="parent of the work directory (default $TMPDIR or /tmp)")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.smoke else 3)
    out_path = a.out.resolve()

    def on_signal(signum, frame):  # noqa: ARG001
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    t_start = time.time()
    work = Path(tempfile.mkdtemp(prefix="regate-bench-mlflow-", dir=a.workdir))
    log(f"work directory {work}")
    servers: list[Server] = []
    samples: list[dict] = []
    report: dict = {"schema": "regate-bench-mlflow/1", "smoke": a.smoke, "rounds": rounds,
                    "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t_start)),
                    # the 2 cores are shared: other work running at the same time shows up here
                    "loadavg_at_start": os.getloadavg()}
    try:
        log("making workloads")
        wls = make_workloads(work / "src", a.smoke)
        log("starting regate and mlflow server")
        rg, admin_token, rg_env = start_regate(work / "regate")
        servers.append(rg)
        ml, admin_password, ml_env = start_mlflow(work / "mlflow")
        servers.append(ml)
        sides = {"regate": RegateSide(rg, admin_token, work / "regate"), "mlflow": MlflowSide(ml, admin_password, work / "mlflow")}
        log(f"regate {rg.url} (pid {rg.pid}), mlflow {ml.url} (pid {ml.pid})")

        # Untimed warm-up: imports (disk cache), and the regate side's sqlite tracking store is created
        # and migrated here (~5 s on first use), not inside the first timed registration.
        warm = clean_env()
        warm.update(sides["regate"].env("creator"))
        subprocess.run([PY, "-c", "import mlflow, mlflow.artifacts; from mlflow import MlflowClient; "
                        "MlflowClient(registry_uri='databricks').search_experiments()"],
                       cwd=work, env=warm, check=True, capture_output=True, timeout=300)

        # Background CPU of each server tree while nobody calls it (mlflow server also runs its huey job
        # consumers by default), so the per-download server CPU can be read against it.
        idle0 = {n: tree_cpu(s.pid) for n, s in (("regate", rg), ("mlflow", ml))}
        time.sleep(5)
        report["server_idle"] = {n: {"cpu_s_per_s": round((tree_cpu(s.pid)[0] - idle0[n][0]) / 5, 3),
                                     "processes": tree_cpu(s.pid)[1]} for n, s in (("regate", rg), ("mlflow", ml))}
        log(f"idle server CPU (s per s): " + ", ".join(f"{k} {v['cpu_s_per_s']} ({v['processes']} processes)"
                                                      for k, v in report["server_idle"].items()))
        report["client_floor"] = client_floor(sides, work, 1 if a.smoke else 3)
        log(f"client floor (import only, median s): " + ", ".join(f"{k} {v['wall_s']['median']:.2f}" for k, v in report["client_floor"].items()))

        for r in range(rounds):
            order = ["regate", "mlflow"] if r % 2 == 0 else ["mlflow", "regate"]
            for wl in wls:
                names = {}
                for side_name in order:
                    side = sides[side_name]
                    name = f"bench-{wl.key}-r{r + 1}-{secrets.token_hex(3)}"
                    log(f"round {r + 1}: register {wl.title} on {side_name}")
                    s = run_client(side, "creator", side.register_args(wl, name), {}, f"r{r + 1}-{wl.key}-reg-{side_name}", work)
                    side.grant_reader(name)
                    names[side_name] = name
                    s.update(server=side_name, workload=wl.key, op="register", mode=None, round=r + 1, ok=True, model=name)
                    samples.append(s)
                    log(f"  {s['wall_s']:.2f} s (calls {s['call_s']:.2f} s), {s['requests_total']} requests")
                for mode in wl.modes:
                    extra = {} if mode in ("default", "multipart_on") else {"MLFLOW_ENABLE_MULTIPART_DOWNLOAD": "false"}
                    for side_name in order:
                        side = sides[side_name]
                        dst = work / "dst" / f"r{r + 1}-{wl.key}-{mode}-{side_name}"
                        dst.mkdir(parents=True)
                        log(f"round {r + 1}: download {wl.title} ({mode}) from {side_name}")
                        s = run_client(side, "reader", ["download", "--uri", f"models:/{names[side_name]}/1", "--dst", str(dst)],
                                       extra, f"r{r + 1}-{wl.key}-dl-{mode}-{side_name}", work)
                        problem = verify_tree(Path(s["result"]["local_path"]), wl.files)
                        s.update(server=side_name, workload=wl.key, op="download", mode=mode, round=r + 1,
                                 ok=problem is None, verify_error=problem, env_extra=extra)
                        samples.append(s)
                        shutil.rmtree(dst, ignore_errors=True)
                        if problem:
                            raise RuntimeError(f"download from {side_name} of {wl.title} failed verification: {problem}")
                        log(f"  {s['wall_s']:.2f} s (call {s['call_s']:.2f} s), sha256 ok, {s['requests_total']} requests, "
                            f"cpu client {s['client_cpu_s']:.1f} s / server {s['server_cpu_s']:.1f} s")
            for side in servers:
                if not side.alive():
                    raise RuntimeError(f"{side.name} exited:\n{side.tail()}")

        figures = summarize(samples, wls)
        gl = goals(figures, wls)
        report.update(
            status="complete",
            goals=gl,
            figures=figures,
            workloads={w.key: {"title": w.title, "files": len(w.files), "bytes": w.total_bytes,
                               "layout": "MLmodel (32 B) + data/part-NNNNN.bin" if w.key == "files" else "MLmodel (32 B) + data/weights.bin",
                               "modes": list(w.modes)} for w in wls},
            what_is_timed={
                "wall_s": "the whole client process (python start, `import mlflow`, the calls, exit), from the parent's "
                          "Popen to its exit; the primary figure and the basis of the goals",
                "call_s": "inside the process: only the MLflow calls (after imports)",
                "register_regate": "mlflow.register_model(<local dir>, name) as a non-admin user: raw POST /dbfs uploads "
                                   "into the upload area, then model-versions/create (MLFLOW_REGISTRY_URI=databricks)",
                "register_mlflow": "mlflow.start_run(experiment_id) + mlflow.log_artifacts(<local dir>, 'model') + end_run, "
                                   "then mlflow.register_model('runs:/<run>/model', name), as a non-admin basic-auth user",
                "download": "mlflow.artifacts.download_artifacts('models:/<name>/1', dst_path=...) as a non-admin reader; "
                            "SHA-256 of every file checked before the figure is kept",
                "client_cpu_s": "user+sys of the client process and the subprocesses it waited for (MLflow's chunk "
                                "downloads), via getrusage(RUSAGE_CHILDREN) in the parent",
                "server_cpu_s": "utime+stime+cutime+cstime over the server's process tree (/proc/<pid>/stat), same interval",
                "requests": "every HTTP request urllib3 put on the wire in the client process and its subprocesses "
                            "(hook/sitecustomize.py; key = method + endpoint, [Range] when ranged; s = time to response headers)",
            },
            setup={
                "regate": {"cmd": rg.cmd, "cwd": str(ROOT), "env": rg_env,
                           "creator": "user made by SCIM (default REGATE_MODEL_CREATORS=users lets it create models), OBO token",
                           "reader": "user made by SCIM, OBO token, CAN_READ on each model via the Permissions API",
                           "client_env_creator": sides["regate"].shown_env("creator"),
                           "client_env_reader": sides["regate"].shown_env("reader")},
                "mlflow": {"cmd": ml.cmd, "env": ml_env, "workers": "4 (mlflow server default, uvicorn); job execution (huey) off",
                           "creator": "basic-auth user; creates the experiment (MANAGE on what it creates)",
                           "reader": "basic-auth user; READ on each registered model and READ on the experiment "
                                     "(artifact proxy reads are judged on the experiment/run)",
                           "client_env_creator": sides["mlflow"].shown_env("creator"),
                           "client_env_reader": sides["mlflow"].shown_env("reader")},
                "multipart_switch": "MLFLOW_ENABLE_MULTIPART_DOWNLOAD=false for 'multipart_off' (unset = on). It is read by "
                                    "DatabricksModelsArtifactRepository._download_file (files > MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE, "
                                    "default 100 MiB, go in parallel ranged chunk subprocesses). The HTTP artifact repo "
                                    "(mlflow-artifacts:/) never reads it: it goes multipart only if MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD "
                                    "or the server's /server-info says so, which a local artifact store does not. 'paths_last' "
                                    "shows the path each download actually took.",
            },
            commands={
                "run": f"bash bench/mlflow/run.sh {'--smoke ' if a.smoke else ''}{a.out}",
                "venv": "bash bench/mlflow/setup.sh  (python3 -m venv --without-pip .venv-bench; pip --python .venv-bench/bin/python "
                        "install --no-deps --only-binary=:all: -r bench/mlflow/requirements.txt)",
                "client": f"{Path(PY).relative_to(ROOT) if Path(PY).is_relative_to(ROOT) else PY} bench/mlflow/client.py "
                          "{register-regate|register-mlflow|download} ...  (PYTHONPATH=bench/mlflow/hook)",
            },
            versions=versions(),
            machine=machine(),
            samples=samples,
        )
        print(table(figures, gl), flush=True)
        print("client floor (fresh process, imports only, no request): " + ", ".join(
            f"{k} {v['wall_s']['median']:.2f} s" for k, v in report["client_floor"].items()), flush=True)
        return 0
    except BaseException as e:
        report.update(status="failed", error=f"{type(e).__name__}: {e}", samples=samples)
        log(f"FAILED: {type(e).__name__}: {str(e)[:4000]}")
        return 1
    finally:
        for s in reversed(servers):
            s.stop()
        report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        report["loadavg_at_end"] = os.getloadavg()
        report["duration_s"] = round(time.time() - t_start, 1)
        report["work_dir"] = str(work) if a.keep else None
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        log(f"wrote {out_path} ({report['status']}, {report['duration_s']} s)")
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
