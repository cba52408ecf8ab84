"""One masking rule hides every secret form, and nothing but secrets, everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tasks.masking import mask_secrets, mask_url
from tests.unit import regex_probe

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2"

MASKED = {
    "a URL user and password": (
        "postgresql://docflow:hunter2@db:5432/docflow",
        "postgresql://docflow:***@db:5432/docflow",
    ),
    "a password without a user": ("redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"),
    "a password= query parameter": (
        "postgresql://docflow@db/docflow?sslmode=require&password=hunter2&application_name=x",
        "postgresql://docflow@db/docflow?sslmode=require&password=***&application_name=x",
    ),
    "a password in the URL and in the query": (
        "postgres://u:hunter2@db/d?password=hunter2",
        "postgres://u:***@db/d?password=***",
    ),
    "a libpq conninfo password": (
        "host=db port=5432 password=hunter2 user=docflow",
        "host=db port=5432 password=*** user=docflow",
    ),
    "a quoted conninfo password with blanks and an escaped quote": (
        r"host=db password='hunter2 is \'long\'' user=docflow",
        "host=db password='***' user=docflow",
    ),
    "passwd= and sslpassword=": (
        "sslpassword=hunter2 passwd=hunter2 sslmode=verify-full",
        "sslpassword=*** passwd=*** sslmode=verify-full",
    ),
    "URL-encoded specials in the password": (
        "postgresql://u:hun%40ter%3A2%2F@db/d",
        "postgresql://u:***@db/d",
    ),
    "an unencoded @ and : inside the password": (
        "postgresql://u:hun@ter:2@db/d",
        "postgresql://u:***@db/d",
    ),
    "a JSON password value": ('{"password": "hunter2 x"}', '{"password": "***"}'),
    "several URLs in one log line": (
        "Cannot connect to redis://docflow:hunter2@host:6379// nor postgresql://pg:hunter2@db/x;"
        " retrying",
        "Cannot connect to redis://docflow:***@host:6379// nor postgresql://pg:***@db/x; retrying",
    ),
    "a URL inside a Python repr in a traceback": (
        "ConnectionError('rediss://u:hunter2@h:6380/0 refused')",
        "ConnectionError('rediss://u:***@h:6380/0 refused')",
    ),
}

UNCHANGED = {
    "a URL without a password": "postgresql://docflow@db:5432/docflow?sslmode=require",
    "a URL with a port and no user": "http://example.com:8080/path?q=a:b@c",
    "a SQLite URL": "sqlite:////srv/docflow/data/docflow.db",
    "a log line with an e-mail address and times": "mail ops@example.com at 12:30:05 (retry 3)",
    "a log line without secrets": "parsed doc=4f2a stage=tag took=0.031s ok",
    "an empty string": "",
}


@pytest.mark.parametrize(("text", "masked"), MASKED.values(), ids=list(MASKED))
def test_every_secret_form_is_masked_and_the_rest_of_the_text_is_left_as_it_was(
    text: str, masked: str
) -> None:
    assert mask_secrets(text) == masked
    assert SECRET not in mask_secrets(text)


@pytest.mark.parametrize("text", UNCHANGED.values(), ids=list(UNCHANGED))
def test_text_without_a_secret_comes_back_unchanged(text: str) -> None:
    assert mask_secrets(text) == text


def test_masking_twice_changes_nothing_more() -> None:
    for text, _ in MASKED.values():
        assert mask_secrets(mask_secrets(text)) == mask_secrets(text)


def test_an_unset_url_is_shown_as_an_empty_string() -> None:
    assert mask_secrets(None) == ""


def test_mask_url_is_the_same_function_not_a_second_rule() -> None:
    assert mask_url is mask_secrets


def _python_files() -> list[Path]:
    return sorted(p for pkg in ("tasks", "workers") for p in (ROOT / pkg).rglob("*.py"))


def _calls_the_masker(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name in ("mask_secrets", "mask_url"):
                return True
    return False


def test_there_is_one_masking_function_and_every_other_mask_helper_delegates_to_it() -> None:
    own_rules = []
    for path in _python_files():
        if path == ROOT / "tasks" / "masking.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and "mask" in node.name.lower()
                and not _calls_the_masker(node)
            ):
                own_rules.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert own_rules == []


def test_no_regex_about_passwords_or_url_credentials_lives_outside_the_masking_module() -> None:
    elsewhere = [
        f"{found.where} {found.pattern.pattern!r}"
        for found in regex_probe.collect_patterns()
        if not found.where.startswith(("tasks.masking", "tasks/masking.py"))
        and any(word in found.pattern.pattern.lower() for word in ("pass", "pwd", "://"))
    ]
    assert elsewhere == []
