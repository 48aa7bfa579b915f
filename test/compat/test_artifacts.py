"""Model files through the real clients (wire-protocol.md §3.1-3.6, §6): register_model of a locally saved
pyfunc model (raw POST /dbfs upload, then model-versions/create), load_model by version / stage / latest and
predict, download_artifacts compared by SHA-256, the parallel ranged download of a multi-MiB file, a signed
URI that expires during that download, the SDK's DBFS API on a version's managed files, and refused paths."""
from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path

import mlflow
import mlflow.pyfunc
import pytest
from databricks.sdk.errors import NotFound, PermissionDenied
from mlflow.exceptions import MlflowException

from conftest import Principals, as_identity, start_regate
from helpers import DOWNLOAD_URI, sha256, tree_digest, unique

import mlflow.store.artifact.databricks_models_artifact_repo as models_repo


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[int], params=None) -> list[int]:
        return [x * 2 for x in model_input]


class Tripler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[int], params=None) -> list[int]:
        return [x * 3 for x in model_input]


def save_pyfunc(dest: Path, model: mlflow.pyfunc.PythonModel) -> Path:
    # pip_requirements=[] skips MLflow's requirement inference, which would import-scan the model.
    mlflow.pyfunc.save_model(str(dest), python_model=model, pip_requirements=[])
    return dest


def make_tree(root: Path) -> Path:
    """Nested folders, an empty file, binary and text files."""
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "top.txt").write_text("top level\n")
    (root / "a" / "empty.bin").write_bytes(b"")
    (root / "a" / "b" / "weights.bin").write_bytes(os.urandom(300_000))
    (root / "a" / "b" / "c" / "deep.json").write_text('{"deep": true}')
    return root


def spy(monkeypatch, obj, attr: str) -> list:
    """Wraps obj.attr, recording (args, kwargs, result) of each call."""
    calls: list = []
    real = getattr(obj, attr)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append((args, kwargs, result))
        return result

    monkeypatch.setattr(obj, attr, wrapper)
    return calls


def test_register_local_pyfunc_and_load_by_version_stage_latest(principals, mlflow_as, tmp_path):
    u = principals.user("pyfunc")
    with mlflow_as(u) as c:
        name = unique("pyfunc")
        v1 = mlflow.register_model(str(save_pyfunc(tmp_path / "doubler", Doubler())), name)
        assert (v1.version, v1.status) == ("1", "READY")
        v2 = mlflow.register_model(str(save_pyfunc(tmp_path / "tripler", Tripler())), name)
        assert v2.version == "2"
        assert c.get_model_version(name, "1").source.startswith("dbfs:/databricks/mlflow/tmp-external-source/")

        assert mlflow.pyfunc.load_model(f"models:/{name}/1").predict([1, 2, 3]) == [2, 4, 6]
        assert mlflow.pyfunc.load_model(f"models:/{name}/2").predict([1, 2, 3]) == [3, 6, 9]
        c.transition_model_version_stage(name, "1", "Production")
        assert mlflow.pyfunc.load_model(f"models:/{name}/Production").predict([5]) == [10]
        assert mlflow.pyfunc.load_model(f"models:/{name}/production").predict([5]) == [10]
        assert mlflow.pyfunc.load_model(f"models:/{name}/latest").predict([5]) == [15]

        uri = c.get_model_version_download_uri(name, "1")
        assert re.fullmatch(DOWNLOAD_URI, uri), uri


def test_download_artifacts_nested_tree_and_empty_file(principals, mlflow_as, tmp_path):
    u = principals.user("tree")
    src = make_tree(tmp_path / "src" / "bundle")
    with mlflow_as(u):
        name = unique("tree")
        assert mlflow.register_model(str(src), name).version == "1"
        out = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "out")))
        assert tree_digest(out) == tree_digest(src)
        assert (out / "a" / "empty.bin").stat().st_size == 0

        sub = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1/a/b", dst_path=str(tmp_path / "sub")))
        assert tree_digest(sub) == tree_digest(src / "a" / "b")
        one = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1/top.txt", dst_path=str(tmp_path / "one")))
        assert one.read_text() == "top level\n"

        reader = principals.user("tree-reader")
        principals.w.model_registry.update_permissions(
            principals.w.model_registry.get_model(name).registered_model_databricks.id,
            access_control_list=[_grant("CAN_READ", reader)],
        )
    with mlflow_as(reader):
        again = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "reader")))
        assert tree_digest(again) == tree_digest(src)


def _grant(level: str, ident):
    from databricks.sdk.service.ml import RegisteredModelAccessControlRequest, RegisteredModelPermissionLevel

    return RegisteredModelAccessControlRequest(permission_level=RegisteredModelPermissionLevel(level), user_name=ident.name)


def _register_big(tmp_path: Path, size: int, name: str) -> Path:
    src = tmp_path / "bigsrc" / "big"
    src.mkdir(parents=True)
    (src / "blob.bin").write_bytes(os.urandom(size))
    (src / "small.txt").write_text("small")
    assert mlflow.register_model(str(src), name).version == "1"
    return src


def test_multi_mib_file_parallel_ranged_download(principals, mlflow_as, tmp_path, monkeypatch):
    u = principals.user("big")
    size = 5 * 1024 * 1024 + 12_345
    with mlflow_as(u, MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE="1048576"):
        name = unique("big")
        src = _register_big(tmp_path, size, name)
        parallel = spy(monkeypatch, models_repo, "parallelized_download_file_using_http_uri")
        out = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "out")))
        assert (out / "blob.bin").stat().st_size == size
        assert sha256(out / "blob.bin") == sha256(src / "blob.bin")
        assert (out / "small.txt").read_text() == "small"
        # Exactly one file took the ranged path, with 6 chunks of 1 MiB, and no chunk failed.
        assert len(parallel) == 1
        _, kwargs, failed = parallel[0]
        assert (kwargs["file_size"], kwargs["chunk_size"]) == (size, 1048576)
        assert failed == {}, failed


TTL_SECONDS = 2


@pytest.fixture(scope="module")
def regate_ttl(tmp_path_factory):
    """A second regate whose signed URIs live TTL_SECONDS, for the expiry scenario."""
    rg = start_regate(tmp_path_factory.mktemp("regate-ttl"), {"REGATE_SIGNED_URI_TTL_SECONDS": str(TTL_SECONDS)})
    yield rg
    rg.stop()


def hold_until_expired(monkeypatch, scratch: Path, deadline_s: float = 90) -> list[float]:
    """After MLflow's in-process probe of chunk 0 (the first download_chunk call), blocks until the same
    signed URI is refused, probing a 1-byte range with MLflow's own download_chunk. So the parallel phase
    that follows always starts on an expired URI, however long regate honours a URI past its `exp` (clock
    tolerance). Returns [seconds waited]."""
    import mlflow.utils.file_utils as file_utils
    from requests import HTTPError

    real = file_utils.download_chunk
    waited: list[float] = []

    def wrapper(**kw):
        real(**kw)
        if waited:
            return
        start = time.monotonic()
        scratch.write_bytes(b"\0")
        while time.monotonic() - start < deadline_s:
            try:
                real(range_start=0, range_end=0, headers=kw["headers"], download_path=str(scratch), http_uri=kw["http_uri"])
            except HTTPError as e:
                if e.response is not None and e.response.status_code in (401, 403):
                    break
                raise
            time.sleep(0.5)
        waited.append(time.monotonic() - start)

    monkeypatch.setattr(file_utils, "download_chunk", wrapper)
    return waited


def test_signed_uri_expires_during_parallel_download(regate_ttl, tmp_path, monkeypatch):
    size = 6 * 1024 * 1024 + 7  # 7 chunks of 1 MiB
    with as_identity(regate_ttl.url, regate_ttl.admin_token, tmp_path / "mlflow", {"MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE": "1048576"}):
        name = unique("expiry")
        src = _register_big(tmp_path, size, name)
        parallel = spy(monkeypatch, models_repo, "parallelized_download_file_using_http_uri")
        signs = spy(monkeypatch, models_repo.DatabricksModelsArtifactRepository, "_get_signed_download_uri")
        waited = hold_until_expired(monkeypatch, tmp_path / "probe.bin")
        out = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "out")))
        assert sha256(out / "blob.bin") == sha256(src / "blob.bin")
        assert len(waited) == 1 and waited[0] < 90, "the signed URI was never refused"
        ((_, _, failed),) = parallel
        # Every chunk of the parallel phase met the expired URI and failed with 401/403; the client then
        # fetched a new URI (a second get-signed-download-uri for blob.bin) and retried them in-process.
        assert len(failed) == 6, {k: str(e)[:200] for k, e in failed.items()}
        assert all(re.search(r"\b40[13]\b", str(e)) for e in failed.values()), {k: str(e)[:300] for k, e in failed.items()}
        blob_signs = [a for a, _, _ in signs if a[1:] and str(a[1]).endswith("blob.bin")]
        assert len(blob_signs) == 2


def test_sdk_dbfs_read_status_list_on_managed_files(admin, principals: Principals, mlflow_as, tmp_path):
    owner, reader, stranger = principals.user("dbfs-own"), principals.user("dbfs-read"), principals.user("dbfs-none")
    src = make_tree(tmp_path / "src" / "bundle")
    with mlflow_as(owner) as c:
        name = unique("dbfs")
        mlflow.register_model(str(src), name)
        root = c.get_model_version_download_uri(name, "1")
    assert re.fullmatch(DOWNLOAD_URI, root), root
    path = root[len("dbfs:"):]
    mid = admin.model_registry.get_model(name).registered_model_databricks.id
    admin.model_registry.update_permissions(mid, access_control_list=[_grant("CAN_READ", reader)])
    w = principals.sdk(reader)

    st = w.dbfs.get_status(f"{path}/a/b/weights.bin")
    assert (st.is_dir, st.file_size) == (False, 300_000)
    assert st.path == f"{path}/a/b/weights.bin"
    assert isinstance(st.modification_time, int)
    assert w.dbfs.get_status(path).is_dir is True

    listing = {f.path: f for f in w.dbfs.list(path)}
    assert set(listing) == {f"{path}/top.txt", f"{path}/a"}
    assert listing[f"{path}/a"].is_dir and listing[f"{path}/top.txt"].file_size == len("top level\n")
    assert {f.path for f in w.dbfs.list(f"{path}/a")} == {f"{path}/a/empty.bin", f"{path}/a/b"}

    part = w.dbfs.read(f"{path}/a/b/weights.bin", offset=1000, length=4096)
    assert part.bytes_read == 4096
    assert base64.b64decode(part.data) == (src / "a" / "b" / "weights.bin").read_bytes()[1000:5096]
    assert w.dbfs.read(f"{path}/a/empty.bin").bytes_read == 0
    with w.dbfs.download(f"{path}/a/b/weights.bin") as f:
        assert f.read() == (src / "a" / "b" / "weights.bin").read_bytes()

    ws = principals.sdk(stranger)
    for call in (lambda: ws.dbfs.get_status(f"{path}/top.txt"), lambda: ws.dbfs.read(f"{path}/top.txt"),
                 lambda: list(ws.dbfs.list(path))):
        with pytest.raises((NotFound, PermissionDenied)):
            call()


def dbfs_repo(uri: str):
    """MLflow's DBFS repository for a dbfs:/ URI, addressed the way register_model addresses its upload area
    (with the registry's profile, so credentials come from DATABRICKS_HOST/TOKEN, not the tracking store)."""
    from mlflow.store.artifact.dbfs_artifact_repo import DbfsRestArtifactRepository
    from mlflow.utils.uri import add_databricks_profile_info_to_artifact_uri

    return DbfsRestArtifactRepository(add_databricks_profile_info_to_artifact_uri(uri, "databricks"))


def test_refused_raw_paths(admin, principals: Principals, mlflow_as, tmp_path):
    from mlflow import MlflowClient
    from mlflow.exceptions import RestException

    owner, other = principals.user("raw-own"), principals.user("raw-other")
    f = tmp_path / "payload.txt"
    f.write_text("payload")

    with mlflow_as(owner) as c:
        # An upload outside the upload area is refused and leaves nothing behind.
        outside = f"dbfs:/databricks/{unique('elsewhere')}"
        with pytest.raises(MlflowException):
            dbfs_repo(outside).log_artifact(str(f))
        with pytest.raises(NotFound):
            admin.dbfs.get_status(outside[len("dbfs:"):] + "/payload.txt")

        area = f"dbfs:/databricks/mlflow/tmp-external-source/{unique('mine')}"
        dbfs_repo(area).log_artifact(str(f))
        assert [i.path for i in dbfs_repo(area).list_artifacts()] == ["payload.txt"]

        name = unique("raw")
        mlflow.register_model(str(make_tree(tmp_path / "t" / "bundle")), name)
        managed = c.get_model_version_download_uri(name, "1")

    with mlflow_as(other):
        # Someone else's upload area looks empty, cannot be read back, and cannot be registered.
        assert dbfs_repo(area).list_artifacts() == []
        with pytest.raises(MlflowException):
            dbfs_repo(area).download_artifacts("payload.txt", dst_path=str(tmp_path / "steal"))
        mine = unique("raw-other")
        oc = MlflowClient(tracking_uri="databricks", registry_uri="databricks")
        oc.create_registered_model(mine)
        nowhere = f"dbfs:/databricks/mlflow/tmp-external-source/{unique('nowhere')}"
        with pytest.raises(RestException) as theirs:
            oc.create_model_version(mine, area)
        with pytest.raises(RestException) as missing:
            oc.create_model_version(mine, nowhere)
        # Exactly the answer a path that does not exist gets (endpoint-abilities.md, "The upload area").
        assert theirs.value.error_code == missing.value.error_code
        assert theirs.value.message.replace(area, "<path>") == missing.value.message.replace(nowhere, "<path>")
        assert oc.search_model_versions(f"name = '{mine}'") == []
        # The managed files of a model the caller cannot read are refused on the raw path too.
        with pytest.raises(MlflowException):
            dbfs_repo(managed).download_artifacts("top.txt", dst_path=str(tmp_path / "steal2"))
    assert not (tmp_path / "steal").exists() or not any((tmp_path / "steal").rglob("payload.txt"))
