"""Small helpers shared by the compatibility scenarios: unique names, file digests, and making a version
source the way the MLflow client does (copying a local model into DBFS)."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

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


def write_tiny_model(dest: Path) -> Path:
    """A directory shaped like an MLflow model (no flavour to load), for versions that only need a source."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    (dest / "data").mkdir(exist_ok=True)
    (dest / "data" / "weights.bin").write_bytes(b"\x00\x01compat\xff")
    return dest


def version_source(workdir: Path) -> str:
    """A source for model-versions/create as an MLflow user outside Databricks has one: a local model copied
    into dbfs:/databricks/mlflow/tmp-external-source/<uuid>/model by MLflow's own upload code (raw
    POST /dbfs/...), exactly what create_model_version does first when the tracking URI is not databricks.
    The upload is private to the caller. Must run inside `mlflow_as(...)`."""
    from mlflow.tracking.artifact_utils import _upload_artifacts_to_databricks

    local = write_tiny_model(workdir / unique("src") / "model")
    return _upload_artifacts_to_databricks(str(local), None, None, "databricks")
