"""The container and service files, checked without a container runtime.

compose.yaml validates against the vendored Compose Specification schema (and broken copies
do not); the systemd unit parses strictly (and passes ``systemd-analyze verify`` where it is
installed); the Dockerfile runs as a non-root user with a health check and no secret; its
builder stage — every COPY and RUN, in order — runs in a clean virtualenv, and what it
installed answers ``/health`` through the image's own probe.
"""

from __future__ import annotations

import copy
import hashlib
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.harness.processes import free_port, run_server
from walltrack.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "deploy" / "compose-schema"
UNIT = ROOT / "deploy" / "walltrack.service"
SECRET_WORDS = ("KEY", "TOKEN", "PASSWORD", "SECRET", "AUTH", "DATABASE_URL", "CHAT_ID")


# ---------------------------------------------------------------- compose.yaml


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMA_DIR / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_vendored_schema_is_the_one_the_manifest_names() -> None:
    manifest = (SCHEMA_DIR / "MANIFEST.md").read_text()
    digest = hashlib.sha256((SCHEMA_DIR / "compose-spec.json").read_bytes()).hexdigest()
    assert f"| sha256 | `{digest}` |" in manifest
    assert "Apache License 2.0" in manifest
    assert "Apache License" in (SCHEMA_DIR / "LICENSE").read_text()
    schema = json.loads((SCHEMA_DIR / "compose-spec.json").read_text())
    jsonschema.Draft201909Validator.check_schema(schema)


def test_compose_file_validates_against_the_compose_schema() -> None:
    assert compose_errors(compose()) == []


@pytest.mark.parametrize("breakage", [
    "unknown service key", "bad depends_on condition", "ports as a mapping",
    "unknown healthcheck key", "unknown top-level key", "restart as a list",
])
def test_schema_rejects_broken_copies(breakage: str) -> None:
    doc = copy.deepcopy(compose())
    app = doc["services"]["walltrack"]
    match breakage:
        case "unknown service key":
            app["restrat"] = app.pop("restart")
        case "bad depends_on condition":
            app["depends_on"]["db"]["condition"] = "service_ready"
        case "ports as a mapping":
            app["ports"] = {"8000": 8000}
        case "unknown healthcheck key":
            app["healthcheck"]["every"] = "30s"
        case "unknown top-level key":
            doc["service"] = doc.pop("services")
        case "restart as a list":
            app["restart"] = ["unless-stopped"]
    assert compose_errors(doc), f"{breakage}: the schema accepted it"


def test_compose_services_as_operations_needs_them() -> None:
    doc = compose()
    db, app = doc["services"]["db"], doc["services"]["walltrack"]
    assert db["image"] == "postgres:16"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["volumes"][0].split(":")[0] in doc["volumes"]  # a named volume, not the host
    assert "ports" not in db  # reachable on the compose network only
    assert app["build"] == "."
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["restart"] == "unless-stopped"
    assert app["ports"] == ["127.0.0.1:8000:8000"]
    assert app["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py"]
    assert app["volumes"][0].endswith(":/app/data")
    # Secrets only through the env files, which neither git nor the image takes in.
    for service in (db, app):
        for entry in service.get("environment", []):
            assert not any(w in str(entry).upper() for w in SECRET_WORDS), entry
    env_files = [db["env_file"], app["env_file"]]
    assert env_files == ["./postgres.env", "./walltrack.env"]
    ignored = subprocess.run(["git", "check-ignore", *env_files], cwd=ROOT, text=True,
                             capture_output=True).stdout.split()
    assert ignored == env_files, "git would track an env file"
    patterns = dockerignore()
    assert all(excluded(f.removeprefix("./"), patterns) for f in env_files)
    # The supervisor's grace, plus a margin for its own exit, fits in both stop timeouts.
    unit_stop = unit_values(parse_unit(UNIT.read_text()))["Service"]["TimeoutStopSec"][0]
    assert app["stop_grace_period"] == unit_stop
    grace = Settings.model_fields["service_grace_seconds"].default
    assert float(unit_stop.removesuffix("s")) >= grace + 10


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_env_examples_hold_known_settings_and_agree_on_the_database(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("WALLTRACK_")]:
        monkeypatch.delenv(key)  # the file alone, not the test run's settings
    app_env = env_file(ROOT / "deploy" / "walltrack.env.example")
    known = {f"WALLTRACK_{name.upper()}" for name in Settings.model_fields}
    assert set(app_env) <= known, f"unknown settings: {set(app_env) - known}"
    settings = Settings(_env_file=ROOT / "deploy" / "walltrack.env.example")  # type: ignore[call-arg]
    assert settings.env.value == "production"
    assert settings.log_format.value == "json"
    # The container binds 0.0.0.0: the server refuses that without an operator token.
    assert settings.operator_token is not None
    db_env = env_file(ROOT / "deploy" / "postgres.env.example")
    url = urlsplit(app_env["WALLTRACK_DATABASE_URL"])
    assert (url.username, url.password, url.path.lstrip("/")) == (
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"])
    assert url.hostname in compose()["services"]
    for env in (app_env, db_env):  # placeholders only, nothing that could be a real secret
        for key, value in env.items():
            if any(w in key for w in SECRET_WORDS) and value:
                assert "change-me" in value, key


# ---------------------------------------------------------------- systemd unit

UNIT_LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9]*)=(?P<value>.*)$")


@dataclass
class Section:
    name: str
    entries: list[tuple[str, str]] = field(default_factory=list)


def parse_unit(text: str) -> list[Section]:
    """systemd's unit syntax, strictly: sections, Key=value, comments, backslash joins."""
    sections: list[Section] = []
    pending = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"line {number}: broken section header {line!r}"
            sections.append(Section(line[1:-1]))
            continue
        match = UNIT_LINE.match(line)
        assert match, f"line {number}: not Key=value: {line!r}"
        assert sections, f"line {number}: a setting before any section"
        sections[-1].entries.append((match["key"], match["value"].strip()))
    assert not pending, "the file ends in a line continuation"
    return sections


def unit_values(sections: list[Section]) -> dict[str, dict[str, list[str]]]:
    values: dict[str, dict[str, list[str]]] = {}
    for section in sections:
        assert section.name not in values, f"[{section.name}] twice"
        by_key = values.setdefault(section.name, {})
        for key, value in section.entries:
            by_key.setdefault(key, []).append(value)
    return values


def test_systemd_unit_parses_and_runs_the_service_as_documented() -> None:
    values = unit_values(parse_unit(UNIT.read_text()))
    assert list(values) == ["Unit", "Service", "Install"]
    service = values["Service"]
    single = {k: v[0] for k, v in service.items() if len(v) == 1}
    assert single["Type"] == "simple"
    assert single["User"] not in ("root", "0")
    exec_start = shlex.split(single["ExecStart"])
    assert exec_start[0].startswith("/") and exec_start[0].endswith("/bin/python")
    assert exec_start[1:] == ["-m", "walltrack", "serve"]
    assert Path(single["WorkingDirectory"]).is_absolute()
    assert single["EnvironmentFile"] == "/etc/walltrack/walltrack.env"
    assert single["Restart"] == "on-failure"
    assert single["KillSignal"] == "SIGTERM"
    assert re.fullmatch(r"\d+s", single["TimeoutStopSec"])
    for option in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert option in single, option
    assert values["Install"]["WantedBy"] == ["multi-user.target"]
    inline = " ".join(service.get("Environment", []))
    assert not any(w in inline.upper() for w in SECRET_WORDS), "a secret set in the unit"
    data_dir = dict(shlex.split(e)[0].split("=", 1) for e in service["Environment"]
                    if e.startswith("WALLTRACK_DATA_DIR"))["WALLTRACK_DATA_DIR"]
    assert data_dir == "/var/lib/" + single["StateDirectory"]


def test_unit_parser_refuses_what_systemd_would_not_read() -> None:
    with pytest.raises(AssertionError, match="not Key=value"):
        parse_unit("[Service]\nExecStart /bin/true\n")
    with pytest.raises(AssertionError, match="before any section"):
        parse_unit("Type=simple\n[Service]\n")
    with pytest.raises(AssertionError, match="twice"):
        unit_values(parse_unit("[Unit]\n[Service]\n[Unit]\n"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    # ExecStart must exist for verify: point it at a real interpreter, keep the rest as is.
    text = UNIT.read_text()
    python = shlex.split(re.search(r"^ExecStart=(.*)$", text, re.M)[1])[0]  # type: ignore[index]
    unit = tmp_path / "walltrack.service"
    unit.write_text(text.replace(python, sys.executable))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    # A typo is reported (so this test can fail).
    unit.write_text(text.replace(python, sys.executable).replace("Restart=", "Restrat="))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert "Unknown key" in done.stderr


# ---------------------------------------------------------------- Dockerfile


@dataclass
class Instruction:
    op: str
    args: str


@dataclass
class Stage:
    base: str
    name: str
    steps: list[Instruction] = field(default_factory=list)


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    for line in logical:
        op, _, rest = line.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], words[0])
            stages.append(Stage(base, words[2] if len(words) == 3 else str(len(stages))))
        elif not stages and op == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            stages[-1].steps.append(Instruction(op, rest))
    return args, stages


def dockerfile() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())[1]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec form: {args}"
    return value


def env_pairs(args: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(args))


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def _pattern(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def excluded(relpath: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = relpath.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            verdict = not negate
    return verdict


def test_dockerignore_keeps_secrets_and_state_out_of_the_context() -> None:
    patterns = dockerignore()
    for path in (".env", ".env.local", "walltrack.env", "postgres.env", "deploy/x.env",
                 "data", "data/pg/PG_VERSION", ".venv/bin/python", ".git/config",
                 "walltrack/__pycache__/cli.cpython-311.pyc", "tests/conftest.py"):
        assert excluded(path, patterns), path
    for path in ("walltrack/settings.py", "server.py", "jobs/scheduler.py",
                 "requirements.lock", "deploy/install.sh", "README.md"):
        assert not excluded(path, patterns), path
    assert excluded("a/b", ["a"]) and not excluded("a/b", ["a", "!a/b"])  # the matcher itself


def test_dockerfile_runs_unprivileged_with_a_health_check_and_no_secret() -> None:
    stages = dockerfile()
    assert [s.name for s in stages] == ["builder", "runtime"]
    builder, runtime = stages
    assert runtime.base == builder.base and re.fullmatch(r"python:3\.11-slim\S*", runtime.base)
    ops = [s.op for s in runtime.steps]
    users = [s.args for s in runtime.steps if s.op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ops.index("USER") < ops.index("CMD")
    health = [s.args for s in runtime.steps if s.op == "HEALTHCHECK"]
    assert len(health) == 1 and '["python", "deploy/healthcheck.py"]' in health[0]
    cmd = [exec_form(s.args) for s in runtime.steps if s.op == "CMD"]
    assert cmd == [["python", "-m", "walltrack", "serve", "--host", "0.0.0.0"]]
    env = {k: v for s in runtime.steps if s.op == "ENV" for k, v in env_pairs(s.args).items()}
    assert env["WALLTRACK_LOG_FORMAT"] == "json" and env["WALLTRACK_ENV"] == "production"
    assert env["WALLTRACK_DATA_DIR"] == "/app/data"
    copies = [s.args for s in runtime.steps if s.op == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv", "--from=builder /app /app"]
    for stage in stages:
        for step in stage.steps:
            if step.op in ("ENV", "ARG"):
                assert not any(w in step.args.upper() for w in SECRET_WORDS), step
            if step.op in ("COPY", "ADD"):
                assert ".env" not in step.args and "data" not in step.args.split(), step
    # Every builder source is in the build context and not ignored: the build would stop.
    for step in builder.steps:
        if step.op == "COPY":
            for source in shlex.split(step.args)[:-1]:
                assert (ROOT / source).exists(), source
                assert not excluded(source, dockerignore()), source


# ---------------------------------------------------------------- health probe


class _Health(http.server.BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes]]

    def do_GET(self) -> None:
        status, body = self.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[tuple[int, bytes]]]]:
    answers: list[tuple[int, bytes]] = []
    handler = type("Handler", (_Health,), {"answers": answers})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], answers
    server.shutdown()
    server.server_close()


def probe(port: int) -> int:
    env = {**os.environ, "WALLTRACK_SERVER_PORT": str(port)}
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py")], env=env,
                          capture_output=True, timeout=30).returncode


def test_health_probe_passes_only_a_healthy_answer(health_server: Any) -> None:
    port, answers = health_server
    answers.extend([(200, b'{"ok": true}'), (503, b'{"ok": false}'), (200, b'{"ok": false}'),
                    (200, b"<html>")])
    assert [probe(port) for _ in range(4)] == [0, 1, 1, 1]
    assert probe(free_port()) == 1  # nothing listening


# ---------------------------------------------------------------- the image's install steps


def build_like_docker(stage: Stage, context: Path, app: Path, venv: Path, bin_dir: Path) -> dict[
        str, str]:
    """Run the stage's COPY and RUN steps in order, /app and /opt/venv moved under tmp."""
    def local(path: str) -> str:
        return path.replace("/opt/venv", str(venv)).replace("/app", str(app))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    workdir = app
    patterns = dockerignore()
    for step in stage.steps:
        if step.op == "WORKDIR":
            workdir = Path(local(step.args))
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.op == "ENV":
            env.update({k: local(v) for k, v in env_pairs(step.args).items()})
        elif step.op == "COPY":
            *sources, dest = shlex.split(step.args)
            target = workdir / dest
            for source in sources:  # Docker's rules: a directory's contents go into dest
                if (context / source).is_dir():
                    shutil.copytree(context / source, target, dirs_exist_ok=True,
                                    ignore=lambda d, names: [
                        n for n in names
                        if excluded(str((Path(d) / n).relative_to(context)), patterns)])
                else:
                    into = target / Path(source).name if dest.endswith("/") else target
                    into.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(context / source, into)
        elif step.op == "RUN":
            command = " ".join(w for w in shlex.split(step.args) if not w.startswith("--mount"))
            done = subprocess.run(["sh", "-c", local(command)], cwd=workdir, env=env,
                                  capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"RUN {step.args}\n{done.stdout}\n{done.stderr}"
        else:
            raise AssertionError(f"the builder stage grew a {step.op} this test cannot run")
    return env


@pytest.mark.slow
def test_image_install_steps_run_in_a_clean_virtualenv(tmp_path: Path, db_url: str) -> None:
    builder, runtime = dockerfile()
    app, venv, bin_dir = tmp_path / "app", tmp_path / "venv", tmp_path / "bin"
    bin_dir.mkdir()
    # `python` of the base image: this interpreter's own base, outside the repo's .venv.
    base_python = getattr(sys, "_base_executable", sys.executable)
    for name in ("python", "python3"):
        (bin_dir / name).symlink_to(base_python)
    started = time.monotonic()
    env = build_like_docker(builder, ROOT, app, venv, bin_dir)
    seconds = time.monotonic() - started
    py = str(venv / "bin" / "python")

    def run(*args: str) -> str:
        done = subprocess.run([py, *args], cwd=app, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    assert run("-c", "import walltrack; print(walltrack.__file__)").strip() == str(
        app / "walltrack" / "__init__.py")
    assert re.search(r"\bserve\b", run("-m", "walltrack", "--help"))
    assert "--host" in run("-m", "walltrack", "serve", "--help")
    # Runtime dependencies only, each at its locked version.
    lock = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
            for line in (ROOT / "requirements.lock").read_text().split() if "==" in line}
    frozen = json.loads(run("-m", "pip", "list", "--format", "json", "--exclude-editable"))
    installed = {p["name"].lower().replace("_", "-"): p["version"] for p in frozen}
    for seed in ("pip", "setuptools"):  # what `python -m venv` puts in every venv
        installed.pop(seed, None)
    off_lock = {n: v for n, v in installed.items() if lock.get(n) != v}
    assert not off_lock, f"installed outside requirements.lock: {off_lock}"
    assert not {"pytest", "playwright", "ruff", "hypothesis"} & set(installed)

    # What the image holds serves: its CMD (the scheduler left out: it would reach the
    # internet) from /app answers the image's own probe.
    runtime_env = {k: v for s in runtime.steps if s.op == "ENV"
                   for k, v in env_pairs(s.args).items() if k.startswith("WALLTRACK_")}
    port = free_port()
    serve_env = {**env, **runtime_env, "WALLTRACK_DATA_DIR": str(tmp_path / "data"),
                 "WALLTRACK_SERVER_PORT": str(port), "WALLTRACK_DATABASE_URL": db_url,
                 "WALLTRACK_SIGNAL_SOURCE": "webhook", "WALLTRACK_WEBHOOK_AUTH_HEADER": "t",
                 "WALLTRACK_TRADING_ENABLED": "false"}
    command = [py, *exec_form(next(s.args for s in runtime.steps if s.op == "CMD"))[1:]]
    command[command.index("0.0.0.0")] = "127.0.0.1"  # no operator token in this test
    with run_server([*command, "--no-scheduler"], ready_path="/health", env=serve_env,
                    cwd=app, port=port) as server:
        probe_env = {**serve_env, "PATH": env["PATH"]}
        done = subprocess.run([py, "deploy/healthcheck.py"], cwd=app, env=probe_env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr + server.log_tail()
        logs = [line for line in server.log_tail(400).splitlines() if line.strip()]
    # The image's WALLTRACK_LOG_FORMAT: one JSON object per line, for `docker logs` and jq.
    assert logs and all(json.loads(line).get("event") for line in logs), logs[:5]
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"builder steps in a clean venv: {seconds:.1f} s, venv {size / 1e6:,.0f} MB")
