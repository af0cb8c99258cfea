"""Provisioning from the template's DDL: the copy has every object of the template, its rows, and works."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role, User
from candidates.models import Candidate
from tenants.cloning import TemplateScript, schema_from_script, template_script, tenant_schema_create
from tenants.models import Tenant
from tenants.services import tenant_create, tenant_delete

# PostgreSQL prints a re-parsed expression with its casts placed differently ("('a'::varchar)::text" for
# "(ARRAY['a'::varchar])::text[]"): definitions are compared without casts, parentheses and spaces.
_CASTS = re.compile(r"::[a-z ]+(\[\])?|[()]")


def _normal(value: object, schema: str) -> str:
    text = str(value).replace(f'"{schema}".', "S.").replace(f"{schema}.", "S.")
    return "".join(_CASTS.sub("", text).split())


def _catalog(schema: str) -> dict[str, set]:
    """Every table column, sequence, constraint and index of a schema, with the schema's name taken out."""

    def rows(sql: str) -> set:
        with connection.cursor() as cursor:
            cursor.execute(sql, {"schema": schema})
            return {tuple(_normal(value, schema) for value in row) for row in cursor.fetchall()}

    return {
        "columns": rows(
            """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),
                      -- the order of columns, not attnum (a dropped column leaves a gap in the template)
                      row_number() OVER (PARTITION BY c.relname ORDER BY a.attnum)
                 FROM pg_class c
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
                WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'"""
        ),
        "sequences": rows(
            """SELECT s.sequencename, s.data_type, s.start_value, s.increment_by, s.max_value,
                      s.last_value, owner.relname, owner_column.attname
                 FROM pg_sequences s
                 JOIN pg_class seq ON seq.relname = s.sequencename
                  AND seq.relnamespace = %(schema)s::regnamespace
                 LEFT JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')
                  AND dep.refobjsubid > 0
                 LEFT JOIN pg_class owner ON owner.oid = dep.refobjid
                 LEFT JOIN pg_attribute owner_column
                   ON owner_column.attrelid = dep.refobjid AND owner_column.attnum = dep.refobjsubid
                WHERE s.schemaname = %(schema)s"""
        ),
        "constraints": rows(
            """SELECT conrelid::regclass::text, conname, contype, condeferrable, condeferred,
                      pg_get_constraintdef(oid)
                 FROM pg_constraint WHERE connamespace = %(schema)s::regnamespace"""
        ),
        "indexes": rows(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s"
        ),
        "relations": rows(
            "SELECT relname, relkind, relpersistence FROM pg_class"
            " WHERE relnamespace = %(schema)s::regnamespace"
        ),
    }


def _row_counts(schema: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'", [schema]
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db
def test_copy_has_every_object_and_row_of_the_template(tenants):
    template = settings.TENANT_BASE_SCHEMA
    script = template_script()
    assert script is not None, "no pg_dump fits the server: provisioning would fall back to clone_schema"
    schema_from_script(script=script, schema_name="t_copy_check")  # rolled back with the test
    expected, copied = _catalog(template), _catalog("t_copy_check")
    for kind in expected:
        assert expected[kind], kind
        assert copied[kind] == expected[kind], kind
    assert len({row[0] for row in copied["columns"]}) == script.tables
    assert len(copied["sequences"]) == script.sequences
    # Identity sequences belong to their new columns, not to the template's.
    assert all(row[6] is not None and row[6] != "None" for row in copied["sequences"])
    counts = _row_counts(template)
    assert counts["django_migrations"] > 0 and counts["auth_permission"] > 0
    assert _row_counts("t_copy_check") == counts


@pytest.mark.django_db
def test_copy_keeps_names_that_clone_schema_renames(tenants):
    """clone_schema() renames some unique constraints and widens integer sequences; a later migration that
    drops such a constraint by name would fail on those companies. The copy keeps the template's names."""
    template = _catalog(settings.TENANT_BASE_SCHEMA)
    schema_from_script(script=template_script(), schema_name="t_by_dump")
    with override_settings(TENANT_SCHEMA_FROM_DUMP=False):
        method = tenant_schema_create(tenant=Tenant(schema_name="t_by_clone", slug="by-clone", name="x"))
    assert method == "clone"  # the fallback still works
    by_dump, by_clone = _catalog("t_by_dump"), _catalog("t_by_clone")
    assert {row[0] for row in by_clone["columns"]} == {row[0] for row in template["columns"]}
    assert _row_counts("t_by_clone") == _row_counts(settings.TENANT_BASE_SCHEMA)
    assert by_dump["constraints"] == template["constraints"]
    assert by_clone["constraints"] != template["constraints"]


@pytest.mark.django_db
def test_copy_works_sequences_constraints_and_foreign_keys(tenants):
    schema_from_script(script=template_script(), schema_name="t_copy_works")
    with schema_context("t_copy_works"):
        # Sequences continue after the template's copied rows instead of colliding with them.
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM auth_permission")
            highest = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO auth_permission (name, content_type_id, codename) VALUES ('x', 1, 'x_copy')"
                " RETURNING id"
            )
            assert cursor.fetchone()[0] > highest
        user = User.objects.create_user(
            username="a@copy.jp", email="a@copy.jp", password=None, role=Role.ADMIN
        )
        assert User.objects.get(pk=user.pk).email == "a@copy.jp"
        # Unique constraints and foreign keys of the template hold in the copy.
        with pytest.raises(DatabaseError), transaction.atomic():
            User.objects.create_user(username="a@copy.jp", email="b@copy.jp", password=None)
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "INSERT INTO accounts_user_groups (user_id, group_id) VALUES (%s, 999999)", [user.pk]
            )
    # Rows stay in the new schema: the template and another company do not see them.
    with schema_context(settings.TENANT_BASE_SCHEMA):
        assert not User.objects.filter(email="a@copy.jp").exists()
    with schema_context(tenants["acme"].schema):
        assert not User.objects.filter(email="a@copy.jp").exists()


@pytest.mark.django_db
def test_failed_replay_leaves_no_schema(tenants):
    script = template_script()
    broken = TemplateScript(
        key=script.key,
        pre_data=script.pre_data,
        copy_data=script.copy_data,
        post_data=script.post_data + "\nSELECT 1 / 0;",
        tables=script.tables,
        sequences=script.sequences,
    )
    with pytest.raises(DatabaseError):
        schema_from_script(script=broken, schema_name="t_copy_broken")
    assert not schema_exists("t_copy_broken")


@pytest.mark.django_db
def test_script_is_cached_and_follows_the_template_migrations(tenants):
    first = template_script()
    assert template_script() is first
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{settings.TENANT_BASE_SCHEMA}".django_migrations (app, name, applied)'
                " VALUES ('tests', '9999_probe', now())"
            )
        changed = template_script()
        assert changed is not first and changed.key != first.key
        transaction.set_rollback(True)
    assert template_script().key == first.key


def test_tenant_create_by_copy_gives_a_working_company(tenants, committed, mailoutbox, tmp_path):
    created = tenant_create(name="コピー検証株式会社", slug="tmp-copy", admin_email="admin@tmp-copy.jp")
    try:
        assert created.seconds < 5
        schema = created.tenant.schema_name
        copied, expected = _catalog(schema), _catalog(settings.TENANT_BASE_SCHEMA)
        for kind in ("columns", "constraints", "indexes", "relations"):  # the admin moved one sequence
            assert copied[kind] == expected[kind], kind
        with schema_context(schema):
            assert User.objects.get().email == "admin@tmp-copy.jp"
            candidate = Candidate.objects.create(
                family_name="山田", given_name="太郎", email="taro@example.jp"
            )
            assert Candidate.objects.get(pk=candidate.pk).family_name == "山田"
        with schema_context(tenants["acme"].schema):
            assert not Candidate.objects.filter(email="taro@example.jp").exists()
        assert len(mailoutbox) == 1 and mailoutbox[0].to == ["admin@tmp-copy.jp"]
    finally:
        tenant_delete(tenant=created.tenant, confirm_slug="tmp-copy", export_directory=tmp_path)
    assert not schema_exists("t_tmp_copy")
