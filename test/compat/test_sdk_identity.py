"""Identity through the Databricks SDK: SCIM users, groups and service principals, personal access tokens,
on-behalf-of tokens, and what the SDK raises for a revoked or unknown token."""
from __future__ import annotations

import secrets

import pytest
from databricks.sdk.errors import NotFound, PermissionDenied, Unauthenticated
from databricks.sdk.service.iam import Patch, PatchOp, PatchSchema, ServicePrincipal, User

from conftest import Principals, sdk_client
from helpers import unique

PATCH_OP = [PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP]


def test_current_user_me(admin, regate):
    me = admin.current_user.me()
    assert isinstance(me, User)
    assert me.user_name == "admin"
    assert me.id and me.id.isdigit()
    group_names = {g.display for g in me.groups or []}
    assert {"admins", "users"} <= group_names


def test_users_create_get_list_filter_delete(admin, principals: Principals):
    u = principals.user("alice", token=False)
    got = admin.users.get(u.id)
    assert (got.id, got.user_name, got.display_name) == (u.id, u.name, u.name.split("@")[0])
    assert got.active is True

    filtered = list(admin.users.list(filter=f'userName eq "{u.name}"'))
    assert [x.id for x in filtered] == [u.id]
    everyone = {x.user_name for x in admin.users.list()}
    assert {"admin", u.name} <= everyone

    admin.users.delete(u.id)
    with pytest.raises(NotFound):
        admin.users.get(u.id)
    assert list(admin.users.list(filter=f'userName eq "{u.name}"')) == []


def test_groups_create_patch_members_delete(admin, principals: Principals):
    a, b = principals.user("ga", token=False), principals.user("gb", token=False)
    g = principals.group("team", members=[a])
    assert {m.value for m in admin.groups.get(g.id).members or []} == {a.id}

    principals.add_members(g, [b])
    assert {m.value for m in admin.groups.get(g.id).members or []} == {a.id, b.id}
    assert g.id in {x.value for x in admin.users.get(b.id).groups or []}

    principals.remove_member(g, a)
    assert {m.value for m in admin.groups.get(g.id).members or []} == {b.id}

    assert [x.id for x in admin.groups.list(filter=f'displayName eq "{g.name}"')] == [g.id]
    admin.groups.delete(g.id)
    with pytest.raises(NotFound):
        admin.groups.get(g.id)


def test_service_principals_create_get_list_delete(admin, principals: Principals):
    sp = principals.service_principal("robot", token=False)
    got = admin.service_principals.get(sp.id)
    assert isinstance(got, ServicePrincipal)
    assert (got.id, got.application_id, got.display_name) == (sp.id, sp.name, sp.display_name)
    listed = list(admin.service_principals.list(filter=f'applicationId eq "{sp.name}"'))
    assert [x.id for x in listed] == [sp.id]
    admin.service_principals.delete(sp.id)
    with pytest.raises(NotFound):
        admin.service_principals.get(sp.id)


def test_non_admin_cannot_manage_identities(principals: Principals):
    u = principals.user("plain")
    w = principals.sdk(u)
    with pytest.raises(PermissionDenied) as e:
        w.users.create(user_name="someone-else@example.com")
    assert "admin" in str(e.value).lower()
    assert w.current_user.me().user_name == u.name


def test_tokens_create_list_delete_and_revoked_token(regate, principals: Principals):
    u = principals.user("tok")
    w = principals.sdk(u)
    created = w.tokens.create(comment="laptop", lifetime_seconds=600)
    assert created.token_value and created.token_info.token_id
    assert created.token_info.comment == "laptop"
    assert created.token_info.expiry_time - created.token_info.creation_time == pytest.approx(600_000, abs=2_000)

    listed = {t.token_id: t for t in w.tokens.list()}
    assert {created.token_info.token_id, u.token_id} <= set(listed)
    assert listed[created.token_info.token_id].comment == "laptop"

    second = sdk_client(regate.url, created.token_value)
    assert second.current_user.me().user_name == u.name

    w.tokens.delete(created.token_info.token_id)
    assert created.token_info.token_id not in {t.token_id for t in w.tokens.list()}
    with pytest.raises((Unauthenticated, PermissionDenied)) as e:
        second.current_user.me()
    assert "token" in str(e.value).lower()


def test_obo_token_for_service_principal(admin, principals: Principals):
    sp = principals.service_principal("bot")
    w = principals.sdk(sp)
    me = w.current_user.me()
    assert me.id == sp.id

    managed = {t.token_id: t for t in admin.token_management.list()}
    assert sp.token_id in managed
    assert str(managed[sp.token_id].owner_id) == sp.id

    admin.token_management.delete(sp.token_id)
    with pytest.raises((Unauthenticated, PermissionDenied)):
        w.current_user.me()


def test_unknown_token_is_unauthenticated(regate):
    w = sdk_client(regate.url, "dapi" + secrets.token_hex(16))
    with pytest.raises(Unauthenticated) as e:
        w.current_user.me()
    assert e.value.error_code == "UNAUTHENTICATED"
    assert "Invalid access token" in str(e.value)


# Item 18: the SDK's `update` is a PUT (full replace); its Patch.as_dict drops a falsy value, so `active`
# goes as the string "false"; lookups may carry an unquoted filter value.


def test_users_update_is_a_put_that_replaces_the_display_name(admin, principals: Principals):
    u = principals.user("upd", token=False)
    admin.users.update(u.id, user_name=u.name, display_name="Renamed By Update", active=True)
    got = admin.users.get(u.id)
    assert (got.user_name, got.display_name, got.active) == (u.name, "Renamed By Update", True)


def test_service_principals_update_is_a_put(admin, principals: Principals):
    sp = principals.service_principal("upd", token=False)
    admin.service_principals.update(sp.id, application_id=sp.name, display_name="robot renamed", active=True)
    got = admin.service_principals.get(sp.id)
    assert (got.application_id, got.display_name, got.active) == (sp.name, "robot renamed", True)


def test_users_patch_active_false_as_the_sdk_sends_it(admin, principals: Principals):
    u = principals.user("deact")
    w = principals.sdk(u)
    assert w.current_user.me().user_name == u.name

    admin.users.patch(u.id, operations=[Patch(op=PatchOp.REPLACE, path="active", value="false")], schemas=PATCH_OP)
    assert admin.users.get(u.id).active is False
    with pytest.raises((Unauthenticated, PermissionDenied)):
        w.current_user.me()

    admin.users.patch(u.id, operations=[Patch(op=PatchOp.REPLACE, path="active", value="true")], schemas=PATCH_OP)
    assert admin.users.get(u.id).active is True
    assert w.current_user.me().user_name == u.name


def test_list_with_an_unquoted_filter_value(admin, principals: Principals):
    name = unique("some-name")
    u = admin.users.create(user_name=f"{name}@example.com", display_name=name)
    assert [x.id for x in admin.users.list(filter=f"displayName eq {name}")] == [u.id]
    assert list(admin.users.list(filter=f"displayName eq {unique('no-such-name')}")) == []
