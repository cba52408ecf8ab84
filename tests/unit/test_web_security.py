"""Who may write over HTTP, where the server may listen, and what an upload may do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tests.unit.web_fakes import client
from workers.settings import Settings, load_settings
from workers.web.security import check_bind, is_loopback
from workers.web.uploads import safe_name

TOKEN = "s3cret-token-for-tests-0123456789"
RULE = {"kind": "block", "name": "Reuters"}


def test_the_server_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        check_bind(Settings(data_dir=tmp_path), "0.0.0.0")
    said = refused.value.describe()
    assert "0.0.0.0" in said and "DOCFLOW_WRITE_TOKEN" in said and "127.0.0.1" in said


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_the_server_listens_on_loopback_without_a_token(tmp_path: Path, host: str) -> None:
    check_bind(Settings(data_dir=tmp_path), host)
    assert is_loopback(host)


def test_the_server_listens_anywhere_once_a_token_is_set(tmp_path: Path) -> None:
    check_bind(Settings(data_dir=tmp_path, write_token=TOKEN), "0.0.0.0")


def test_a_short_write_token_is_refused_at_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCFLOW_WRITE_TOKEN", "short")
    with pytest.raises(ConfigError, match=r"DOCFLOW_WRITE_TOKEN: .*at least 16"):
        load_settings()


def test_without_a_token_a_local_client_may_write(tmp_path: Path) -> None:
    answer = client(tmp_path).post("/api/entities/rules", json=RULE)
    assert answer.status_code == 200, answer.text
    assert "Reuters" in (tmp_path / "entities.toml").read_text()


def test_without_a_token_a_remote_client_may_read_but_not_write(tmp_path: Path) -> None:
    remote = client(tmp_path, client=("10.1.2.3", 40000))
    assert remote.get("/api/entities").status_code == 200
    answer = remote.post("/api/entities/rules", json=RULE)
    assert answer.status_code == 403
    assert "DOCFLOW_WRITE_TOKEN" in answer.json()["error"]
    assert not (tmp_path / "entities.toml").exists()


def test_without_a_token_a_rebound_host_name_may_not_write(tmp_path: Path) -> None:
    answer = client(tmp_path).post(
        "/api/entities/rules", json=RULE, headers={"host": "attacker.example:8000"}
    )
    assert answer.status_code == 403


def test_without_a_token_a_form_posted_from_another_site_is_refused(tmp_path: Path) -> None:
    web = client(tmp_path)
    form = {"kind": "block", "name": "Reuters", "back": "ORG:reuters"}
    refused = web.post(
        "/entities/rules",
        data=form,
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    taken = web.post(
        "/entities/rules",
        data=form,
        headers={"origin": "http://127.0.0.1:8000"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert taken.status_code == 303 and taken.headers["location"].startswith("/entities/")


def test_with_a_token_a_write_without_it_or_with_a_wrong_one_is_unauthorised(
    tmp_path: Path,
) -> None:
    web = client(tmp_path, token=TOKEN)
    missing = web.post("/api/entities/rules", json=RULE)
    wrong = web.post("/api/entities/rules", json=RULE, headers={"authorization": "Bearer nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert not (tmp_path / "entities.toml").exists()


def test_with_a_token_any_client_that_sends_it_may_write(tmp_path: Path) -> None:
    remote = client(tmp_path, token=TOKEN, client=("10.1.2.3", 40000))
    answer = remote.post(
        "/api/entities/rules", json=RULE, headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200, answer.text


def test_with_a_token_a_page_form_writes_with_its_token_field(tmp_path: Path) -> None:
    web = client(tmp_path, token=TOKEN)
    form = {"kind": "block", "name": "Reuters", "back": "ORG:reuters"}
    assert web.post("/entities/rules", data=form).status_code == 401
    taken = web.post("/entities/rules", data={**form, "token": TOKEN}, follow_redirects=False)
    assert taken.status_code == 303


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    web = client(tmp_path)
    web.app.state.web.settings = Settings(data_dir=tmp_path, max_file_mb=0.001)  # ~1 KB
    answer = web.post("/api/documents", files={"file": ("big.txt", b"x" * 5000)})
    assert answer.status_code == 413
    assert "DOCFLOW_MAX_FILE_MB" in answer.json()["error"]
    assert not any((tmp_path / "uploads").rglob("*"))


def test_an_upload_with_no_broker_says_how_to_get_one(tmp_path: Path) -> None:
    answer = client(tmp_path).post("/api/documents", files={"file": ("a.txt", b"Hello")})
    assert answer.status_code == 503
    assert "docflow up" in answer.json()["hint"]


def test_an_upload_that_is_neither_a_form_nor_json_is_refused(tmp_path: Path) -> None:
    answer = client(tmp_path).post(
        "/api/documents", content=b"x", headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 415


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".env", "env"),
        ("", "upload.txt"),
        ("a/..", "upload.txt"),
        ("story\x00.txt", "story_.txt"),
        ("Brasília news.md", "Brasília news.md"),
    ],
)
def test_an_uploaded_file_name_is_one_plain_component(sent: str, kept: str) -> None:
    assert safe_name(sent) == kept


def test_a_write_that_is_no_upload_takes_no_files_and_no_large_body(tmp_path: Path) -> None:
    web = client(tmp_path)
    with_file = web.post(
        "/entities/rules", data={"kind": "block"}, files={"name": ("x.txt", b"Reuters")}
    )
    large = web.post("/api/entities/rules", json={**RULE, "other": "x" * 70_000})
    assert with_file.status_code == 415
    assert large.status_code == 413
    assert not (tmp_path / "entities.toml").exists()
