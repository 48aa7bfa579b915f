"""Users holding no permission, CAN_READ, CAN_EDIT or CAN_MANAGE_STAGING_VERSIONS on a model call MlflowClient
and SDK methods. Every call must either succeed or raise the client's own exception for a refusal:
RestException PERMISSION_DENIED / RESOURCE_DOES_NOT_EXIST (MLflow), PermissionDenied / ResourceDoesNotExist
(SDK), carrying regate's message. Where the permission matrix fixes the answer, the test checks it exactly:
a level below the ability's level is PERMISSION_DENIED, no permission at all is 'not found'."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from mlflow import MlflowClient

from helpers import unique, version_source

RANK = {None: 0, "CAN_READ": 1, "CAN_EDIT": 2, "CAN_MANAGE_STAGING_VERSIONS": 3,
        "CAN_MANAGE_PRODUCTION_VERSIONS": 4, "CAN_MANAGE": 5}
TESTED = [None, "CAN_READ", "CAN_EDIT", "CAN_MANAGE_STAGING_VERSIONS"]


@dataclass
class Result:
    ok: bool
    error_code: str | None = None
    message: str = ""
    client_class: str = ""
    value: object = None


def run(fn: Callable[[], object]) -> Result:
    from databricks.sdk.errors import DatabricksError
    from mlflow.exceptions import RestException

    try:
        return Result(True, value=fn())
    except RestException as e:
        return Result(False, e.error_code, e.message, "RestException")
    except DatabricksError as e:
        return Result(False, e.error_code, str(e), type(e).__name__)
    except Exception as e:  # noqa: BLE001 - any other class is itself a finding
        return Result(False, None, f"{type(e).__name__}: {e}"[:400], type(e).__name__)


WELL_FORMED = {  # what each client raises for a refusal, by error code
    "PERMISSION_DENIED": {"RestException", "PermissionDenied"},
    "RESOURCE_DOES_NOT_EXIST": {"RestException", "ResourceDoesNotExist", "NotFound"},
}


def check(problems: list[str], label: str, level: str | None, required: str | None, r: Result, name: str) -> None:
    """required=None: the matrix does not fix this call; only the shape of a refusal is checked."""
    if not r.ok and (r.error_code not in WELL_FORMED or r.client_class not in WELL_FORMED[r.error_code]):
        problems.append(f"{label}: not a well-formed refusal: {r.client_class} {r.error_code}: {r.message}")
        return
    if not r.ok and not r.message.strip():
        problems.append(f"{label}: {r.error_code} without a message")
    if required is None:
        return
    want = "OK" if RANK[level] >= RANK[required] else ("RESOURCE_DOES_NOT_EXIST" if level is None else "PERMISSION_DENIED")
    got = "OK" if r.ok else r.error_code
    if got != want:
        problems.append(f"{label}: expected {want} (needs {required}, caller has {level}), got {got}: {r.message[:200]}")
    elif not r.ok and name not in r.message:
        problems.append(f"{label}: {got} message does not name the model: {r.message[:200]}")


def visible_in(problems: list[str], label: str, level: str | None, r: Result, names: list[str], name: str) -> None:
    """Searches and lists filter: the model appears exactly when the caller can read it."""
    if not r.ok:
        problems.append(f"{label}: search failed: {r.client_class} {r.error_code}: {r.message[:200]}")
    elif (name in names) != (level is not None):
        problems.append(f"{label}: model {'missing from' if level else 'leaked into'} results for level {level}")


@pytest.mark.parametrize("level", TESTED, ids=lambda lv: lv or "NO_PERMISSION")
def test_mlflow_client_per_level(level, principals, new_model, mlflow_as, tmp_path):
    u = principals.user("lvl")
    name, _ = new_model("lvl-mlflow", versions=2, grants={u: level} if level else {})
    problems: list[str] = []
    with mlflow_as(u):
        source = version_source(tmp_path)
        c = MlflowClient(tracking_uri="databricks", registry_uri="databricks")
        ops: list[tuple[str, str | None, Callable[[], object]]] = [
            ("get_registered_model", "CAN_READ", lambda: c.get_registered_model(name)),
            ("get_model_version", "CAN_READ", lambda: c.get_model_version(name, "1")),
            ("get_latest_versions", "CAN_READ", lambda: c.get_latest_versions(name, stages=["None"])),
            ("get_model_version_download_uri", "CAN_READ", lambda: c.get_model_version_download_uri(name, "1")),
            ("update_registered_model", "CAN_EDIT", lambda: c.update_registered_model(name, description="x")),
            ("set_registered_model_tag", "CAN_EDIT", lambda: c.set_registered_model_tag(name, "k", "v")),
            ("delete_registered_model_tag", "CAN_EDIT", lambda: c.delete_registered_model_tag(name, "k")),
            ("update_model_version", "CAN_EDIT", lambda: c.update_model_version(name, "1", description="x")),
            ("set_model_version_tag", "CAN_EDIT", lambda: c.set_model_version_tag(name, "1", "k", "v")),
            ("delete_model_version_tag", "CAN_EDIT", lambda: c.delete_model_version_tag(name, "1", "k")),
            ("create_model_version", "CAN_EDIT", lambda: c.create_model_version(name, source)),
            ("transition None->Staging", "CAN_MANAGE_STAGING_VERSIONS", lambda: c.transition_model_version_stage(name, "1", "Staging")),
            ("transition None->Production", "CAN_MANAGE_PRODUCTION_VERSIONS", lambda: c.transition_model_version_stage(name, "2", "Production")),
            ("rename_registered_model", "CAN_MANAGE", lambda: c.rename_registered_model(name, name + "-renamed")),
            ("delete_model_version", "CAN_MANAGE", lambda: c.delete_model_version(name, "2")),
            ("delete_registered_model", "CAN_MANAGE", lambda: c.delete_registered_model(name)),
        ]
        for label, required, fn in ops:
            check(problems, label, level, required, run(fn), name)
        r = run(lambda: c.search_registered_models(filter_string=f"name = '{name}'"))
        visible_in(problems, "search_registered_models", level, r, [m.name for m in r.value or []], name)
        r = run(lambda: c.search_model_versions(f"name = '{name}'"))
        visible_in(problems, "search_model_versions", level, r, [v.name for v in r.value or []], name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("level", TESTED, ids=lambda lv: lv or "NO_PERMISSION")
def test_sdk_per_level(level, principals, new_model, mlflow_as, tmp_path):
    u = principals.user("lvl")
    name, mid = new_model("lvl-sdk", versions=2, grants={u: level} if level else {})
    with mlflow_as(u):
        # An upload is private to its uploader, so the caller registers its own (the SDK cannot upload raw).
        source = version_source(tmp_path)
    w = principals.sdk(u)
    mr = w.model_registry
    problems: list[str] = []
    ops: list[tuple[str, str | None, Callable[[], object]]] = [
        ("get_model", "CAN_READ", lambda: mr.get_model(name)),
        ("get_model_version", "CAN_READ", lambda: mr.get_model_version(name, "1")),
        ("get_latest_versions", "CAN_READ", lambda: mr.get_latest_versions(name, stages=["None"])),
        ("get_model_version_download_uri", "CAN_READ", lambda: mr.get_model_version_download_uri(name, "1")),
        ("create_transition_request", "CAN_READ", lambda: mr.create_transition_request(name, "1", "Production")),
        ("list_transition_requests", "CAN_READ", lambda: list(mr.list_transition_requests(name, "1"))),
        ("create_comment", "CAN_READ", lambda: mr.create_comment(name, "1", "hi")),
        ("update_model", "CAN_EDIT", lambda: mr.update_model(name, description="x")),
        ("set_model_tag", "CAN_EDIT", lambda: mr.set_model_tag(name, "k", "v")),
        ("delete_model_tag", "CAN_EDIT", lambda: mr.delete_model_tag(name, "k")),
        ("update_model_version", "CAN_EDIT", lambda: mr.update_model_version(name, "1", description="x")),
        ("set_model_version_tag", "CAN_EDIT", lambda: mr.set_model_version_tag(name, "1", "k", "v")),
        ("delete_model_version_tag", "CAN_EDIT", lambda: mr.delete_model_version_tag(name, "1", "k")),
        ("create_model_version", "CAN_EDIT", lambda: mr.create_model_version(name, source)),
        ("transition_stage None->Staging", "CAN_MANAGE_STAGING_VERSIONS", lambda: mr.transition_stage(name, "1", "Staging", False)),
        ("transition_stage None->Production", "CAN_MANAGE_PRODUCTION_VERSIONS", lambda: mr.transition_stage(name, "2", "Production", False)),
        ("approve Production request", "CAN_MANAGE_PRODUCTION_VERSIONS", lambda: mr.approve_transition_request(name, "1", "Production", False)),
        # Not fixed by the matrix (regate chooses who may read a model's ACL): only the refusal's shape counts.
        ("get_permissions", None, lambda: mr.get_permissions(mid)),
        ("get_permission_levels", None, lambda: mr.get_permission_levels(mid)),
        ("update_permissions", "CAN_MANAGE", lambda: mr.update_permissions(mid, access_control_list=[])),
        ("rename_model", "CAN_MANAGE", lambda: mr.rename_model(name, new_name=name + "-renamed")),
        ("delete_model_version", "CAN_MANAGE", lambda: mr.delete_model_version(name, "2")),
        ("delete_model", "CAN_MANAGE", lambda: mr.delete_model(name)),
    ]
    for label, required, fn in ops:
        r = run(fn)
        if label.startswith(("get_permissions", "get_permission_levels", "update_permissions")) and level is None and not r.ok:
            # Addressed by id, not name: the message names the id.
            check(problems, label, level, required, r, mid)
        else:
            check(problems, label, level, required, r, name)
    r = run(lambda: list(mr.search_models(filter=f"name = '{name}'")))
    visible_in(problems, "search_models", level, r, [m.name for m in r.value or []], name)
    r = run(lambda: list(mr.list_models()))
    visible_in(problems, "list_models", level, r, [m.name for m in r.value or []], name)
    r = run(lambda: list(mr.search_model_versions(filter=f"name = '{name}'")))
    visible_in(problems, "search_model_versions", level, r, [v.name for v in r.value or []], name)
    assert not problems, "\n".join(problems)
