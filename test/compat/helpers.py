"""Small helpers shared by the compatibility scenarios: unique names, classifying a client call's outcome,
and making a version source the way the MLflow client does (copying a local model into DBFS)."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, Callable

# The source every version used before regate had the raw DBFS upload path (wire-protocol.md §3.4).
FAKE_SOURCE = "dbfs:/databricks/mlflow/tmp-external-source/compat/model"
DOWNLOAD_URI = r"dbfs:/databricks/mlflow-registry/[0-9a-f]{32}/models/[^/]+"
HEX32 = r"[0-9a-f]{32}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under root, plus '<dir>/' entries for empty directories."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if not dirnames and not filenames and rel_dir != Path("."):
            out[f"{rel_dir.as_posix()}/"] = ""
        for name in filenames:
            out[(rel_dir / name).as_posix()] = sha256(Path(dirpath) / name)
    return out


def outcome(fn: Callable[[], Any]) -> tuple[str, str]:
    """Runs one client call and classifies it: ('OK', '') or (error_code, message). Only the clients' own
    exception types count as a well-formed refusal; anything else is reported as its class name."""
    from databricks.sdk.errors import DatabricksError
    from mlflow.exceptions import MlflowException, RestException

    try:
        fn()
        return "OK", ""
    except RestException as e:
        return str(e.error_code), e.message
    except DatabricksError as e:
        return f"SDK:{type(e).__name__}:{e.error_code}", str(e)
    except MlflowException as e:
        return f"MlflowException:{e.error_code}", e.message
    except Exception as e:  # noqa: BLE001 - an unexpected class is itself the finding
        return f"UNEXPECTED:{type(e).__name__}", str(e)[:300]


def write_tiny_model(dest: Path) -> Path:
    """A directory shaped like an MLflow model (no flavour to load), for versions that only need a source."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    (dest / "data").mkdir(exist_ok=True)
    (dest / "data" / "weights.bin").write_bytes(b"\x00\x01compat\xff")
    return dest


def version_source(workdir: Path) -> str:
    """A source for model-versions/create as an MLflow user outside Databricks has one: a local model copied
    into dbfs:/databricks/mlflow/tmp-external-source/ by MLflow's own upload code (raw POST /dbfs/...).
    While regate answers that upload with ENDPOINT_NOT_FOUND, falls back to FAKE_SOURCE so the registry
    scenarios do not depend on the artifact endpoints. Must run inside `mlflow_as(...)`."""
    from mlflow.exceptions import MlflowException, RestException
    from mlflow.tracking.artifact_utils import _upload_artifacts_to_databricks

    local = write_tiny_model(workdir / unique("src") / "model")
    try:
        return _upload_artifacts_to_databricks(str(local), None, None, "databricks")
    except RestException as e:
        if e.error_code == "ENDPOINT_NOT_FOUND":
            return FAKE_SOURCE
        raise
    except MlflowException as e:
        if "ENDPOINT_NOT_FOUND" in e.message or " 404" in e.message:
            return FAKE_SOURCE
        raise
