"""Settings that fail late or never: what can be checked at start is, in one line.

Real `docflow` and `celery worker` processes; a private redis-server where a broker
must answer, a port nobody listens on where it must not.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, docflow, docflow_env, wait_until
from tests.fixtures.cluster import docflow_background, stop
from workers.broker import free_port
from workers.stack import worker_command

pytestmark = pytest.mark.integration

READ_ONLY = (
    ("search", "x"),
    ("status",),
    ("failed",),
    ("trace", "abc123"),
    ("show", "abc123"),
    ("entities",),
    ("export",),
)


def closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


# ---- the spaCy model ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("worker",), ("worker", "-Q", "parse,tag"), ("run", "seeds"), ("up", "--no-flower")],
    ids=" ".join,
)
def test_an_uninstalled_model_stops_the_command_at_once_in_one_line(
    data_dir: Path, args: tuple[str, ...]
) -> None:
    """Given DOCFLOW_SPACY_MODEL names a model that is not installed
    When a command that starts tagging workers runs
    Then it exits non-zero within seconds, with one line naming the model and how to install it
    """
    env = docflow_env(data_dir, closed_port_url(), DOCFLOW_SPACY_MODEL="no_such_model")
    started = time.monotonic()
    result = docflow(env, *args, timeout=60)
    assert result.returncode != 0, result.stdout + result.stderr
    assert time.monotonic() - started < 15
    (line,) = error_lines(result)
    assert "no_such_model" in line and "pip install no-such-model" in line, line


def test_a_celery_worker_with_an_uninstalled_model_refuses_to_start(data_dir: Path) -> None:
    """Given DOCFLOW_SPACY_MODEL names a model that is not installed
    When `celery -A workers.app worker` starts (the worker_init check, main process)
    Then it exits non-zero before forking a child, the error naming the model
    """
    env = docflow_env(data_dir, closed_port_url(), DOCFLOW_SPACY_MODEL="no_such_model")
    result = subprocess.run(
        worker_command(concurrency=1), env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "docflow: error: DOCFLOW_SPACY_MODEL: spaCy model 'no_such_model'" in result.stderr
    assert "Traceback" not in result.stderr and "ready." not in result.stderr


def test_a_parse_only_worker_does_not_need_the_model(data_dir: Path, private_redis) -> None:
    """Given an uninstalled model and a worker that only parses (never loads the model)
    When it starts
    Then it runs as usual
    """
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SPACY_MODEL="no_such_model")
    log = data_dir / "worker.log"
    proc = docflow_background(env, log, "worker", "-Q", "parse", "-c", "1")
    try:
        assert wait_until(lambda: " ready." in log.read_text(errors="replace"), 60), log.read_text()
    finally:
        stop(proc)


# ---- the store ------------------------------------------------------------------------


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_a_read_only_command_on_a_missing_store_says_so_and_creates_nothing(
    tmp_path: Path, data_dir: Path, args: tuple[str, ...]
) -> None:
    """Given DOCFLOW_STORE_URL points into a folder that does not exist
    When a read-only command runs
    Then it exits non-zero saying there is no store there and what to do, and creates nothing
    """
    missing = tmp_path / "missing" / "db.sqlite"
    env = docflow_env(data_dir, DOCFLOW_STORE_URL=f"sqlite:///{missing}")
    result = docflow(env, *args, timeout=60)
    assert result.returncode != 0
    (line,) = error_lines(result)
    assert f"no docflow store at {missing}" in line and "docflow up" in line, line
    assert not (tmp_path / "missing").exists()
    assert files_under(data_dir) == []


def test_status_on_a_data_dir_with_no_store_says_so_instead_of_reading_empty(
    data_dir: Path,
) -> None:
    """Given a data dir nothing has run in
    When `docflow status` runs
    Then it says there is no store under the data dir rather than showing zero documents
    """
    result = docflow(docflow_env(data_dir), "status", "--json", timeout=60)
    assert result.returncode != 0 and result.stdout == ""
    assert f"no docflow store at {data_dir / 'docflow.db'}" in result.stderr
    assert files_under(data_dir) == []


@pytest.mark.parametrize(
    "command",
    [("docflow", "run", "--no-workers", "seeds"), ("docflow", "worker"), ("celery",)],
    ids=" ".join,
)
def test_a_write_command_refuses_an_explicit_store_url_in_a_missing_folder(
    tmp_path: Path, data_dir: Path, command: tuple[str, ...]
) -> None:
    """Given DOCFLOW_STORE_URL=sqlite:///<a folder that does not exist>/docflow.db
    When a command that writes the store starts
    Then it exits non-zero naming the folder, and no folder is created
    """
    url = f"sqlite:///{tmp_path}/typo/docflow.db"
    env = docflow_env(data_dir, closed_port_url(), DOCFLOW_STORE_URL=url)
    if command[0] == "celery":
        result = subprocess.run(
            worker_command(concurrency=1),
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    else:
        result = docflow(env, *command[1:], timeout=60)
    assert result.returncode != 0
    assert f"the folder {tmp_path / 'typo'} does not exist" in result.stderr, result.stderr
    assert not (tmp_path / "typo").exists()


def test_ingest_refuses_an_explicit_store_url_in_a_missing_folder(
    tmp_path: Path, data_dir: Path, private_redis
) -> None:
    """Given a broker that answers and DOCFLOW_STORE_URL in a folder that does not exist
    When `docflow ingest` runs
    Then it exits non-zero naming the folder, sends nothing and creates no folder
    """
    url = f"sqlite:///{tmp_path}/typo/docflow.db"
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_STORE_URL=url)
    result = docflow(env, "ingest", "seeds", timeout=60)
    assert result.returncode != 0
    assert f"the folder {tmp_path / 'typo'} does not exist" in result.stderr, result.stderr
    assert not (tmp_path / "typo").exists()


# ---- misspelled settings --------------------------------------------------------------


def test_a_misspelled_setting_gets_one_warning_with_the_closest_name(data_dir: Path) -> None:
    """Given DOCFLOW_CONCURENCY=2 (a typo) in the environment and DOCFLOW_LOGLEVEL in .env
    When `docflow status` runs
    Then stderr names each, once, with the setting it probably meant; the command still runs
    """
    docflow(docflow_env(data_dir), "migrate")
    cwd_env = data_dir / ".env"
    cwd_env.write_text("DOCFLOW_LOGLEVEL=DEBUG\n")
    env = docflow_env(data_dir, DOCFLOW_CONCURENCY="2", DOCFLOW_TEST_ANYTHING="1")
    result = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "python"),
            "-c",
            "from workers.cli import main; main()",
            "status",
            "--json",
        ],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"]["indexed"] == 0
    assert error_lines(result) == [
        "docflow: warning: unknown setting DOCFLOW_CONCURENCY "
        "(did you mean DOCFLOW_CONCURRENCY?), ignored",
        "docflow: warning: unknown setting DOCFLOW_LOGLEVEL "
        "(did you mean DOCFLOW_LOG_LEVEL?), ignored",
    ]


# ---- the watcher's broker -------------------------------------------------------------


def test_watch_with_an_unreachable_broker_exits_at_once_in_one_line(data_dir: Path) -> None:
    """Given DOCFLOW_BROKER_URL points at a port nobody listens on
    When `docflow watch` starts
    Then it exits non-zero within seconds with one line naming the masked URL, taking nothing
    """
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    inbox = data_dir / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text("Title\n\nSome text about Lisbon.\n")
    started = time.monotonic()
    result = docflow(docflow_env(data_dir, url), "watch", timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - started < 15
    (line,) = error_lines(result)
    assert "no Redis answers at redis://:***@127.0.0.1" in line and "secret" not in line, line
    assert (inbox / "a.txt").exists()
