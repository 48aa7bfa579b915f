"""The Databricks SDK's ModelRegistryAPI and PermissionsAPI against regate: the Databricks-only get_model
(id, permission_level), model and registry-wide ('root') permissions, transition requests and comments."""
from __future__ import annotations

import re

import pytest
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service.ml import (
    ActivityType,
    PermissionLevel,
    RegisteredModelAccessControlRequest,
    RegisteredModelPermissionLevel,
)

from helpers import HEX32, unique

LEVELS = ["CAN_READ", "CAN_EDIT", "CAN_MANAGE_STAGING_VERSIONS", "CAN_MANAGE_PRODUCTION_VERSIONS", "CAN_MANAGE"]


def acl_by_principal(perms) -> dict[str, list]:
    out = {}
    for e in perms.access_control_list or []:
        key = e.user_name or e.group_name or e.service_principal_name
        out[key] = e.all_permissions or []
    return out


def principal_key(e) -> dict[str, str]:
    return {k: v for k, v in (("user_name", e.user_name), ("group_name", e.group_name),
                              ("service_principal_name", e.service_principal_name)) if v}


def grant(level: str, **who: str) -> RegisteredModelAccessControlRequest:
    return RegisteredModelAccessControlRequest(permission_level=RegisteredModelPermissionLevel(level), **who)


def test_get_model_has_id_and_callers_level(admin, principals, new_model):
    owner = principals.user("owner")
    w = principals.sdk(owner)
    name = unique("sdkget")
    created = w.model_registry.create_model(name=name, description="from the SDK").registered_model
    assert (created.name, created.description) == (name, "from the SDK")

    m = w.model_registry.get_model(name).registered_model_databricks
    assert re.fullmatch(HEX32, m.id), m.id
    assert (m.name, m.description, m.user_id) == (name, "from the SDK", owner.name)
    assert m.permission_level == PermissionLevel.CAN_MANAGE
    assert isinstance(m.creation_timestamp, int)

    reader = principals.user("reader")
    admin.model_registry.update_permissions(m.id, access_control_list=[grant("CAN_READ", user_name=reader.name)])
    as_reader = principals.sdk(reader).model_registry.get_model(name).registered_model_databricks
    assert (as_reader.id, as_reader.permission_level) == (m.id, PermissionLevel.CAN_READ)
    assert admin.model_registry.get_model(name).registered_model_databricks.id == m.id


def test_model_permissions_get_set_update_levels(admin, principals, new_model):
    name, mid = new_model("perms")
    u, sp = principals.user("pu"), principals.service_principal("psp")
    g = principals.group("pg")

    p = admin.model_registry.get_permissions(mid)
    assert (p.object_id, p.object_type) == (f"/registered-models/{mid}", "registered-model")
    acl = acl_by_principal(p)
    assert [(x.permission_level.value, x.inherited) for x in acl["admin"]] == [("CAN_MANAGE", False)]
    admins = [x for x in acl["admins"] if x.inherited]
    assert admins and admins[0].permission_level.value == "CAN_MANAGE"
    assert admins[0].inherited_from_object == ["/registered-models/"]

    p = admin.model_registry.set_permissions(mid, access_control_list=[
        grant("CAN_READ", user_name=u.name),
        grant("CAN_EDIT", group_name=g.name),
        grant("CAN_MANAGE_STAGING_VERSIONS", service_principal_name=sp.name),
    ])
    acl = acl_by_principal(p)
    direct = {k: [x.permission_level.value for x in v if not x.inherited] for k, v in acl.items()}
    assert direct[u.name] == ["CAN_READ"]
    assert direct[g.name] == ["CAN_EDIT"]
    assert direct[sp.name] == ["CAN_MANAGE_STAGING_VERSIONS"]
    assert direct.get("admin", []) == []  # set replaces every direct grant, the creator's too
    assert any(x.inherited for x in acl["admins"])
    sp_entry = next(e for e in p.access_control_list if e.service_principal_name == sp.name)
    assert sp_entry.display_name == sp.display_name

    p = admin.model_registry.update_permissions(mid, access_control_list=[
        grant("CAN_MANAGE_PRODUCTION_VERSIONS", user_name=u.name),
    ])
    direct = {k: [x.permission_level.value for x in v if not x.inherited] for k, v in acl_by_principal(p).items()}
    assert direct[u.name] == ["CAN_MANAGE_PRODUCTION_VERSIONS"]
    assert direct[g.name] == ["CAN_EDIT"]

    levels = admin.model_registry.get_permission_levels(mid).permission_levels
    assert [lv.permission_level.value for lv in levels] == LEVELS
    assert all(lv.description for lv in levels)

    generic = admin.permissions.get("registered-models", mid)
    assert generic.object_id == f"/registered-models/{mid}"
    assert generic.object_type == "registered-model"
    assert {e.user_name or e.group_name or e.service_principal_name for e in generic.access_control_list} == set(acl_by_principal(p))
    assert admin.model_registry.get_permissions(mid).object_id == f"/registered-models/{mid}"


def test_root_permissions_are_inherited(admin, principals, new_model):
    root = admin.model_registry.get_permissions("root")
    assert root.object_type == "registered-model"
    assert root.object_id in ("/registered-models/", "/registered-models/root"), root.object_id
    assert "CAN_MANAGE" in [x.permission_level.value for x in acl_by_principal(root)["admins"]]
    # Direct root grants the SDK can express. regate also lists `users: CAN_CREATE_REGISTERED_MODEL` (from
    # REGATE_MODEL_CREATORS), inherited, so a PUT on root reads back exactly as put; the SDK decodes the level
    # as None (it is not a settable level).
    before = [grant(x.permission_level.value, **principal_key(e))
              for e in root.access_control_list for x in e.all_permissions or []
              if not x.inherited and x.permission_level is not None]
    assert [x.permission_level for x in acl_by_principal(root).get("users", [])] in ([], [None])

    u = principals.user("rootreader")
    try:
        admin.model_registry.update_permissions("root", access_control_list=[grant("CAN_READ", user_name=u.name)])
        name, mid = new_model("inherit")
        entry = acl_by_principal(admin.model_registry.get_permissions(mid))[u.name]
        assert [(x.permission_level.value, x.inherited, x.inherited_from_object) for x in entry] == [
            ("CAN_READ", True, ["/registered-models/"])
        ]
        got = principals.sdk(u).model_registry.get_model(name).registered_model_databricks
        assert got.permission_level == PermissionLevel.CAN_READ
        levels = admin.model_registry.get_permission_levels("root").permission_levels
        assert [lv.permission_level.value for lv in levels] == LEVELS
        with pytest.raises(PermissionDenied):
            principals.sdk(u).model_registry.update_permissions("root", access_control_list=[grant("CAN_MANAGE", user_name=u.name)])
    finally:
        admin.model_registry.set_permissions("root", access_control_list=before)
    assert u.name not in acl_by_principal(admin.model_registry.get_permissions("root"))


def test_root_put_reads_back_exactly_as_put(admin, principals):
    """What Terraform's databricks_permissions keeps of root (non-inherited entries, admins left out) is exactly
    what a PUT set: the model-creators right is shown inherited, from the REGATE_MODEL_CREATORS setting."""
    def terraform_view(perms):
        return sorted((tuple(sorted(principal_key(e).items())), x.permission_level.value)
                      for e in perms.access_control_list or [] if e.group_name != "admins"
                      for x in e.all_permissions or [] if not x.inherited)

    root = admin.model_registry.get_permissions("root")
    before = [grant(x.permission_level.value, **principal_key(e))
              for e in root.access_control_list for x in e.all_permissions or []
              if not x.inherited and x.permission_level is not None and e.group_name != "admins"]
    u, g = principals.user("rootput"), principals.group("rootput")
    acl = [grant("CAN_READ", user_name=u.name), grant("CAN_EDIT", group_name=g.name)]
    try:
        put = admin.model_registry.set_permissions("root", access_control_list=acl + [grant("CAN_MANAGE", group_name="admins")])
        want = sorted([((("user_name", u.name),), "CAN_READ"), ((("group_name", g.name),), "CAN_EDIT")])
        assert terraform_view(put) == want
        again = admin.model_registry.get_permissions("root")
        assert terraform_view(again) == want
        creators = [x for x in acl_by_principal(again).get("users", [])]
        assert creators and all(x.inherited and x.inherited_from_object == ["/settings/REGATE_MODEL_CREATORS"] for x in creators)
    finally:
        admin.model_registry.set_permissions("root", access_control_list=before)


def test_host_metadata_names_the_oidc_root(regate, admin):
    """/.well-known/databricks-config answers what the SDKs read (oidc_endpoint, workspace_id, host_type), so the
    Go SDK does not warn "Host metadata missing oidc_endpoint"; token auth is unaffected."""
    from databricks.sdk.oauth import get_host_metadata

    meta = get_host_metadata(regate.url)
    assert meta.oidc_endpoint == f"{regate.url}/oidc"
    assert meta.workspace_id and re.fullmatch(r"[0-9]+", meta.workspace_id)
    assert admin.config.discovery_url == f"{regate.url}/oidc/.well-known/oauth-authorization-server"
    assert admin.current_user.me().user_name


def test_transition_requests_and_comments(admin, principals, new_model):
    requester, approver = principals.user("req"), principals.user("appr")
    name, mid = new_model("treq", versions=1, grants={requester: "CAN_READ", approver: "CAN_MANAGE_STAGING_VERSIONS"})
    wr, wa = principals.sdk(requester).model_registry, principals.sdk(approver).model_registry

    req = wr.create_transition_request(name, "1", "Staging", comment="please").request
    assert (req.to_stage, req.comment, req.user_id) == ("Staging", "please", requester.name)
    assert isinstance(req.creation_timestamp, int)
    (listed,) = list(wr.list_transition_requests(name, "1"))
    assert (listed.activity_type, listed.to_stage, listed.user_id) == (ActivityType.REQUESTED_TRANSITION, "Staging", requester.name)
    assert listed.id

    act = wa.approve_transition_request(name, "1", "Staging", archive_existing_versions=False, comment="ok").activity
    assert (act.activity_type, act.from_stage, act.to_stage, act.user_id) == (ActivityType.APPROVED_REQUEST, "None", "Staging", approver.name)
    assert admin.model_registry.get_model_version(name, "1").model_version.current_stage == "Staging"
    assert list(wr.list_transition_requests(name, "1")) == []

    wr.create_transition_request(name, "1", "Production")
    with pytest.raises(PermissionDenied):  # Production needs CAN_MANAGE_PRODUCTION_VERSIONS
        wa.approve_transition_request(name, "1", "Production", archive_existing_versions=False)
    with pytest.raises(PermissionDenied):
        wa.reject_transition_request(name, "1", "Production")
    rej = admin.model_registry.reject_transition_request(name, "1", "Production", comment="not yet").activity
    assert (rej.activity_type, rej.to_stage, rej.comment) == (ActivityType.REJECTED_REQUEST, "Production", "not yet")

    wr.create_transition_request(name, "1", "Archived")
    cancel = wr.delete_transition_request(name, "1", "Archived", creator=requester.name, comment="never mind").activity
    assert (cancel.activity_type, cancel.to_stage) == (ActivityType.CANCELLED_REQUEST, "Archived")
    assert list(wr.list_transition_requests(name, "1")) == []
    assert admin.model_registry.get_model_version(name, "1").model_version.current_stage == "Staging"

    c = wr.create_comment(name, "1", "looks good").comment
    assert (c.comment, c.user_id) == ("looks good", requester.name) and c.id
    assert {"EDIT_COMMENT", "DELETE_COMMENT"} <= {a.value for a in c.available_actions or []}
    assert wr.update_comment(c.id, "looks great").comment.comment == "looks great"
    with pytest.raises(PermissionDenied):
        wa.update_comment(c.id, "hijacked")
    wr.delete_comment(c.id)


def test_sdk_transition_stage_returns_databricks_version(admin, new_model):
    name, _ = new_model("dbts", versions=2)
    mv = admin.model_registry.transition_stage(name, "1", "Production", archive_existing_versions=False, comment="go").model_version_databricks
    assert (mv.name, mv.version, mv.current_stage) == (name, "1", "Production")
    assert mv.permission_level == PermissionLevel.CAN_MANAGE
    mv2 = admin.model_registry.transition_stage(name, "2", "Production", archive_existing_versions=True).model_version_databricks
    assert mv2.current_stage == "Production"
    assert admin.model_registry.get_model_version(name, "1").model_version.current_stage == "Archived"
