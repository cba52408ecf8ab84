"""Worker node names are unique per process; publishing needs a configured broker.

No services: the heartbeat-ownership rules are checked on the values a heartbeat key
holds, and the broker guard on an app built with no broker.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.errors import ConfigError
from workers.app import NO_BROKER, QUEUES, create_app, is_unconfigured
from workers.nodes import PID_TOKEN, expand, node_template
from workers.recovery import heartbeat_value, node_owner
from workers.settings import Settings
from workers.stack import worker_command


def node_arg(cmd: list[str]) -> str:
    return cmd[cmd.index("-n") + 1]


def test_the_default_node_name_carries_the_queues_and_becomes_unique_per_process() -> None:
    template = node_arg(worker_command())
    assert template == f"docflow-all-{PID_TOKEN}@%h"
    assert expand(template, 101) != expand(template, 102)
    assert expand(template, 101) == "docflow-all-101@%h"
    assert node_arg(worker_command(("tag",))) == f"docflow-tag-{PID_TOKEN}@%h"
    assert node_template(["ingest", "parse"], QUEUES) == f"docflow-ingest.parse-{PID_TOKEN}@%h"


def test_two_docflow_workers_with_default_settings_get_different_node_names() -> None:
    # the command line is the same for both; the pid each process expands makes them differ
    first = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from workers.nodes import expand; print(expand({node_arg(worker_command())!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    second = expand(node_arg(worker_command()))
    assert first.strip() != second and first.startswith("docflow-all-")


def test_a_name_prefix_is_made_unique_and_a_full_name_is_kept_as_given() -> None:
    assert node_template(list(QUEUES), QUEUES, "tagger") == f"tagger-{PID_TOKEN}@%h"
    assert node_template(list(QUEUES), QUEUES, "alpha@%h") == "alpha@%h"
    assert node_arg(worker_command(name="alpha")) == "alpha@%h"


def test_a_heartbeat_of_another_live_process_holds_the_name() -> None:
    parent = json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "at": 1.0})
    elsewhere = json.dumps({"pid": os.getpid(), "host": "another-host", "at": 1.0})
    assert node_owner(parent) == json.loads(parent)
    assert node_owner(elsewhere) == json.loads(elsewhere)


def test_a_heartbeat_of_this_process_or_of_a_dead_one_here_does_not_hold_the_name() -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "at": 1.0})
    assert node_owner(heartbeat_value()) is None
    assert node_owner(gone) is None
    assert node_owner(None) is None


def test_an_app_with_no_broker_configured_refuses_to_publish(tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, broker_url=None))  # type: ignore[call-arg]
    assert app.conf.broker_url == NO_BROKER and is_unconfigured(app.conf.broker_url)
    with pytest.raises(ConfigError, match="no broker is configured") as raised:
        app.send_task("docflow.parse", ("doc-1",))
    assert "DOCFLOW_BROKER_URL" in raised.value.describe()


def test_an_explicit_connection_to_no_broker_is_refused_too(tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, broker_url=None))  # type: ignore[call-arg]
    with app.connection_for_write(NO_BROKER) as connection, pytest.raises(ConfigError):
        app.send_task("docflow.parse", ("doc-1",), connection=connection)
