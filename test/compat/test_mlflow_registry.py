"""MlflowClient(registry_uri='databricks') against regate: registered models, model versions, tags, stage
transitions, latest versions, download URIs, and the errors the client raises.

These scenarios build the client with tracking_uri='databricks' (a run tracked in the same workspace), so
create_model_version sends `source` unchanged instead of first copying files into DBFS (wire-protocol.md
§3.4); the copy is exercised by test_artifacts.py."""
from __future__ import annotations

import re

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import RestException

from helpers import DOWNLOAD_URI, unique, version_source


def client() -> MlflowClient:
    return MlflowClient(tracking_uri="databricks", registry_uri="databricks")


def rest_error(fn) -> RestException:
    with pytest.raises(RestException) as e:
        fn()
    return e.value


def test_registered_model_lifecycle(mlflow_as, principals):
    u = principals.user("rm")
    with mlflow_as(u):
        c = client()
        name = unique("rm")
        rm = c.create_registered_model(name, tags={"team": "vision"}, description="first")
        assert (rm.name, rm.description, rm.tags) == (name, "first", {"team": "vision"})
        assert isinstance(rm.creation_timestamp, int) and rm.creation_timestamp > 1_600_000_000_000

        got = c.get_registered_model(name)
        assert (got.name, got.description, got.tags) == (name, "first", {"team": "vision"})
        assert got.latest_versions == []

        dup = rest_error(lambda: c.create_registered_model(name))
        assert dup.error_code == "RESOURCE_ALREADY_EXISTS"
        assert name in dup.message

        upd = c.update_registered_model(name, description="second")
        assert upd.description == "second"
        assert upd.last_updated_timestamp >= rm.creation_timestamp

        c.set_registered_model_tag(name, "stage", "beta")
        c.delete_registered_model_tag(name, "team")
        assert c.get_registered_model(name).tags == {"stage": "beta"}

        new_name = unique("rm-renamed")
        # MlflowClient.rename_registered_model returns None (3.17.2 drops the store's result); read it back.
        c.rename_registered_model(name, new_name)
        gone = rest_error(lambda: c.get_registered_model(name))
        assert gone.error_code == "RESOURCE_DOES_NOT_EXIST"
        # RestException prefixes the error code to the server message (wire-protocol.md §1.5).
        assert gone.message == f"RESOURCE_DOES_NOT_EXIST: Registered Model with name={name} not found"
        assert c.get_registered_model(new_name).description == "second"

        c.delete_registered_model(new_name)
        assert rest_error(lambda: c.get_registered_model(new_name)).error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_registered_models_with_paging(mlflow_as, principals):
    u = principals.user("search")
    with mlflow_as(u):
        c = client()
        prefix = unique("srch")
        names = sorted(f"{prefix}-{i}" for i in range(5))
        for n in names:
            c.create_registered_model(n)

        exact = c.search_registered_models(filter_string=f"name = '{names[2]}'")
        assert [m.name for m in exact] == [names[2]]

        seen: list[str] = []
        page = c.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2)
        pages = 1
        while True:
            assert len(page) <= 2
            seen += [m.name for m in page]
            if not page.token:
                break
            page = c.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2, page_token=page.token)
            pages += 1
        assert sorted(seen) == names
        assert pages >= 3

        ordered = c.search_registered_models(filter_string=f"name LIKE '{prefix}%'", order_by=["name DESC"])
        assert [m.name for m in ordered] == names[::-1]


def test_model_versions_lifecycle(mlflow_as, principals, tmp_path):
    u = principals.user("mv")
    with mlflow_as(u):
        c = client()
        source = version_source(tmp_path)
        name = unique("mv")
        c.create_registered_model(name)
        v1 = c.create_model_version(name, source, tags={"a": "1"}, description="d1")
        assert (v1.name, v1.version, v1.current_stage, v1.status) == (name, "1", "None", "READY")
        assert (v1.source, v1.description, v1.tags) == (source, "d1", {"a": "1"})
        assert v1.user_id == u.name
        v2 = c.create_model_version(name, source)
        assert v2.version == "2"

        got = c.get_model_version(name, "2")
        assert (got.version, got.source, got.status) == ("2", source, "READY")

        assert c.update_model_version(name, "1", description="better").description == "better"
        c.set_model_version_tag(name, "1", "k", "v")
        c.delete_model_version_tag(name, "1", "a")
        assert c.get_model_version(name, "1").tags == {"k": "v"}

        found = c.search_model_versions(f"name = '{name}'")
        assert sorted(v.version for v in found) == ["1", "2"]
        assert all(isinstance(v.version, str) for v in found)

        missing = rest_error(lambda: c.get_model_version(name, "9"))
        assert missing.error_code == "RESOURCE_DOES_NOT_EXIST"

        c.delete_model_version(name, "1")
        assert rest_error(lambda: c.get_model_version(name, "1")).error_code == "RESOURCE_DOES_NOT_EXIST"
        assert [v.version for v in c.search_model_versions(f"name = '{name}'")] == ["2"]
        assert c.create_model_version(name, source).version == "3"


def test_stage_transitions_and_latest_versions(mlflow_as, principals, tmp_path):
    u = principals.user("stages")
    with mlflow_as(u):
        c = client()
        source = version_source(tmp_path)
        name = unique("stages")
        c.create_registered_model(name)
        for _ in range(3):
            c.create_model_version(name, source)

        assert c.transition_model_version_stage(name, "1", "Staging").current_stage == "Staging"
        assert c.transition_model_version_stage(name, "1", "Production").current_stage == "Production"
        # Lower-case stage in, canonical stage out; archive_existing_versions moves v1 to Archived.
        v2 = c.transition_model_version_stage(name, "2", "production", archive_existing_versions=True)
        assert v2.current_stage == "Production"
        assert c.get_model_version(name, "1").current_stage == "Archived"

        assert [v.version for v in c.get_latest_versions(name, stages=["Production"])] == ["2"]
        assert [v.version for v in c.get_latest_versions(name, stages=["production"])] == ["2"]
        assert c.get_latest_versions(name, stages=["Staging"]) == []
        latest = {v.current_stage: v.version for v in c.get_latest_versions(name)}
        assert latest == {"Production": "2", "Archived": "1", "None": "3"}
        on_model = {v.current_stage: v.version for v in c.get_registered_model(name).latest_versions}
        assert on_model == latest

        bad = rest_error(lambda: c.transition_model_version_stage(name, "3", "Shipping"))
        assert bad.error_code == "INVALID_PARAMETER_VALUE"
        assert c.get_model_version(name, "3").current_stage == "None"


def test_model_version_download_uri(mlflow_as, principals, tmp_path):
    u = principals.user("dl")
    with mlflow_as(u):
        c = client()
        source = version_source(tmp_path)
        name = unique("dl")
        c.create_registered_model(name)
        c.create_model_version(name, source)
        c.create_model_version(name, source)
        uri1 = c.get_model_version_download_uri(name, "1")
        uri2 = c.get_model_version_download_uri(name, "2")
        assert re.fullmatch(DOWNLOAD_URI, uri1), uri1
        assert re.fullmatch(DOWNLOAD_URI, uri2), uri2
        assert uri1 != uri2
        assert c.get_model_version_download_uri(name, "1") == uri1


def _mlflow_default_order(versions):
    """MLflow's documented default for SearchModelVersions: last update time DESC, name ASC, version DESC."""
    return sorted(versions, key=lambda v: (-v.last_updated_timestamp, v.name, -int(v.version)))


def test_search_model_versions_default_order_across_models_and_updates(mlflow_as, principals, tmp_path):
    u = principals.user("mvorder")
    with mlflow_as(u):
        c = client()
        source = version_source(tmp_path)
        prefix = unique("ord")
        a, b = f"{prefix}-a", f"{prefix}-b"
        c.create_registered_model(a)
        c.create_registered_model(b)
        for name in (a, b, a, b, a):
            c.create_model_version(name, source)
        # Updating the oldest version makes it the most recently updated one.
        touched = c.update_model_version(a, "1", description="touched")

        found = list(c.search_model_versions(f"name LIKE '{prefix}%'"))
        assert len(found) == 5
        ids = [(v.name, v.version) for v in found]
        assert ids == [(v.name, v.version) for v in _mlflow_default_order(found)]
        assert ids[0] == (a, "1")
        assert found[0].last_updated_timestamp == touched.last_updated_timestamp
        # Not the old name-then-version order.
        assert ids != [(a, "3"), (a, "2"), (a, "1"), (b, "2"), (b, "1")]

        # Paging with page tokens walks the same order, every version once.
        paged, token = [], None
        while True:
            page = c.search_model_versions(f"name LIKE '{prefix}%'", max_results=2, page_token=token)
            paged += [(v.name, v.version) for v in page]
            token = page.token
            if not token:
                break
        assert paged == ids

        # Unfiltered (every version the caller may read), the same order holds across all of them.
        everything = list(c.search_model_versions())
        assert [(v.name, v.version) for v in everything] == [(v.name, v.version) for v in _mlflow_default_order(everything)]
        assert [(v.name, v.version) for v in everything if v.name.startswith(prefix)] == ids


def test_empty_model_version_description_reads_back_empty(mlflow_as, principals, tmp_path):
    u = principals.user("mvdesc")
    with mlflow_as(u):
        c = client()
        source = version_source(tmp_path)
        name = unique("desc")
        c.create_registered_model(name)
        v1 = c.create_model_version(name, source, description="")
        assert v1.description == ""
        assert c.get_model_version(name, "1").description == ""
        v2 = c.create_model_version(name, source)
        assert v2.description is None
        assert c.get_model_version(name, "2").description is None

        c.create_model_version(name, source, description="some text")
        assert c.update_model_version(name, "3", description="").description == ""
        assert c.get_model_version(name, "3").description == ""
        by_version = {v.version: v.description for v in c.search_model_versions(f"name = '{name}'")}
        assert by_version == {"1": "", "2": None, "3": ""}
