"""One timed client operation of the MLflow benchmark, run by bench.py in a fresh Python process of
.venv-bench/ (the same MLflow client against both servers). Prints one JSON object on its last stdout line.

  client.py register-regate --src DIR --name NAME
      mlflow.register_model(DIR, NAME) with MLFLOW_REGISTRY_URI=databricks and DATABRICKS_HOST/TOKEN from
      the environment (the compat suite's flow: raw POST /dbfs uploads into the upload area, then
      model-versions/create).
  client.py register-mlflow --src DIR --name NAME --experiment-id ID
      The natural flow against an MLflow tracking server: start_run, log_artifacts(DIR, "model"),
      end_run, then register_model("runs:/<run>/model", NAME). MLFLOW_TRACKING_URI/USERNAME/PASSWORD from
      the environment.
  client.py download --uri models:/NAME/1 --dst DIR
      mlflow.artifacts.download_artifacts(URI, dst_path=DIR).

"call_s" is the wall time of the MLflow calls alone (after imports); bench.py also times the whole process.
"paths" counts which download path MLflow's artifact repositories took (wrapped at run time, so the
on/off switch of multipart downloads is observed, not assumed).
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time

T_START = time.perf_counter()

import mlflow  # noqa: E402
import mlflow.artifacts  # noqa: E402

T_IMPORTED = time.perf_counter()

_lock = threading.Lock()
PATHS: dict[str, int] = {}


def _count(key: str):
    def deco(real):
        def wrapper(*args, **kwargs):
            with _lock:
                PATHS[key] = PATHS.get(key, 0) + 1
            return real(*args, **kwargs)
        return wrapper
    return deco


def instrument_download_paths() -> None:
    import mlflow.store.artifact.databricks_models_artifact_repo as dbm
    import mlflow.store.artifact.http_artifact_repo as http_repo

    # Databricks registry repo: one of these two per file (names imported into the module's namespace).
    dbm.download_file_using_http_uri = _count("databricks: single GET (download_file_using_http_uri)")(
        dbm.download_file_using_http_uri)
    dbm.parallelized_download_file_using_http_uri = _count(
        "databricks: parallel ranges (parallelized_download_file_using_http_uri)")(
        dbm.parallelized_download_file_using_http_uri)
    # HTTP artifact repo (mlflow-artifacts:/ behind the tracking server): the streaming GET of the base
    # class, or the presigned multipart path.
    H = http_repo.HttpArtifactRepository
    H._download_file = _count("http: single streamed GET (HttpArtifactRepository._download_file)")(H._download_file)
    H._multipart_download = _count("http: parallel ranges (HttpArtifactRepository._multipart_download)")(
        H._multipart_download)


def register_regate(src: str, name: str) -> dict:
    t0 = time.perf_counter()
    mv = mlflow.register_model(src, name)
    t1 = time.perf_counter()
    assert mv.version == "1", mv
    assert mv.status == "READY", mv.status
    return {"call_s": t1 - t0, "version": mv.version, "source": mv.source}


def register_mlflow(src: str, name: str, experiment_id: str) -> dict:
    t0 = time.perf_counter()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifacts(src, artifact_path="model")
    t_logged = time.perf_counter()
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    t1 = time.perf_counter()
    assert mv.version == "1", mv
    return {"call_s": t1 - t0, "log_artifacts_s": t_logged - t0, "register_s": t1 - t_logged,
            "version": mv.version, "source": mv.source, "run_id": run.info.run_id}


def download(uri: str, dst: str) -> dict:
    instrument_download_paths()
    t0 = time.perf_counter()
    out = mlflow.artifacts.download_artifacts(uri, dst_path=dst)
    t1 = time.perf_counter()
    return {"call_s": t1 - t0, "local_path": out, "paths": dict(PATHS)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=["register-regate", "register-mlflow", "download"])
    p.add_argument("--src")
    p.add_argument("--name")
    p.add_argument("--experiment-id")
    p.add_argument("--uri")
    p.add_argument("--dst")
    a = p.parse_args()
    if a.op == "register-regate":
        res = register_regate(a.src, a.name)
    elif a.op == "register-mlflow":
        res = register_mlflow(a.src, a.name, a.experiment_id)
    else:
        res = download(a.uri, a.dst)
    res["import_s"] = T_IMPORTED - T_START
    # CLOCK_MONOTONIC is system-wide on Linux: the parent subtracts these from its own perf_counter()
    # readings to split the process's wall time into start-up, imports, calls and exit.
    res["t_start"], res["t_end"] = T_START, time.perf_counter()
    sys.stdout.flush()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
