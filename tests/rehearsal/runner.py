"""Run a workflow of .github/workflows as GitHub Actions would, on this machine.

Each job gets a fresh runner directory; its `run:` steps execute in order in bash (the
`shell: bash` command line GitHub uses) with GitHub's files (GITHUB_OUTPUT, GITHUB_ENV,
GITHUB_PATH, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH), its default variables and the
`env:` the workflow, job and step map, with secrets and variables of the job's GitHub
environment. `actions/checkout` fetches from the test's `origin` as the action does;
`actions/setup-python` and the install step are replaced by this virtualenv first on
PATH. Anything the rehearsal does not know (a key, an action, an install command, an
expression) raises `WorkflowError` instead of being skipped.

The process environment of a step is built from scratch: nothing of the test process
(its DATABASE_URL, say) reaches the step unless the workflow maps it.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

import syncbot
from rehearsal.expressions import Context, evaluate_condition, interpolate
from rehearsal.forge import Event, git

__all__ = [
    "Annotation",
    "GitHubEnvironment",
    "JobRun",
    "Rehearsal",
    "StepRun",
    "WorkflowError",
    "WorkflowRun",
    "triggers",
]

BASH_STRICT = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # `shell: bash`
BASH_DEFAULT = ["bash", "-e"]  # no `shell:` anywhere, bash present
INSTALL = "python -m pip install -e ."
SYNCBOT_SOURCE = Path(syncbot.__file__).resolve().parents[1]
STEP_TIMEOUT = 120
_WORKFLOW_KEYS = {"name", "on", "permissions", "concurrency", "defaults", "jobs", "env"}
_JOB_KEYS = {
    "name",
    "needs",
    "if",
    "runs-on",
    "timeout-minutes",
    "environment",
    "concurrency",
    "permissions",
    "outputs",
    "env",
    "steps",
    "strategy",
    "defaults",
}
_STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell", "continue-on-error"}
_COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


class WorkflowError(Exception):
    """The workflow uses something the rehearsal cannot run faithfully."""


@dataclass(frozen=True)
class GitHubEnvironment:
    """The secrets and variables of one GitHub environment (or of the repository)."""

    secrets: Mapping[str, str] = field(default_factory=dict)
    vars: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Annotation:
    level: str  # error, warning, notice
    properties: str
    message: str

    @property
    def fields(self) -> dict[str, str]:
        """file, line, title ... with the runner's escaping undone."""
        pairs = (item.split("=", 1) for item in self.properties.split(",") if "=" in item)
        return {key: _unescape(value) for key, value in pairs}

    @property
    def text(self) -> str:
        return _unescape(self.message)


def _unescape(value: str) -> str:
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, plain)
    return value


@dataclass
class StepRun:
    name: str
    id: str | None
    outcome: str  # success, failure, skipped
    conclusion: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class JobRun:
    job_id: str
    name: str
    matrix: dict[str, Any]
    environment: str | None
    result: str  # success, failure, skipped
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    annotations: list[Annotation] = field(default_factory=list)
    token: str = field(default="", repr=False)

    def step(self, name: str) -> StepRun:
        [found] = [s for s in self.steps if s.name == name]
        return found

    @property
    def log(self) -> str:
        return "\n".join(s.stdout + s.stderr for s in self.steps)


@dataclass
class WorkflowRun:
    workflow: str
    triggered: bool
    world: Rehearsal
    jobs: dict[str, list[JobRun]] = field(default_factory=dict)

    def job(self, job_id: str, **matrix: Any) -> JobRun:
        [found] = [j for j in self.jobs[job_id] if matrix.items() <= j.matrix.items()]
        return found

    @property
    def conclusion(self) -> str:
        results = {j.result for runs in self.jobs.values() for j in runs}
        return "failure" if "failure" in results else "success"

    @property
    def log(self) -> str:
        return "\n".join(j.log for runs in self.jobs.values() for j in runs)

    @property
    def tokens(self) -> list[str]:
        return [j.token for runs in self.jobs.values() for j in runs if j.token]


@dataclass
class Rehearsal:
    """The runner's world: the repository, the GitHub API and the configured environments."""

    origin: Path
    workdir: Path
    repository: str
    api_url: str
    token: str
    venv_bin: Path
    environments: dict[str, GitHubEnvironment]
    repository_level: GitHubEnvironment = field(default_factory=GitHubEnvironment)
    # Mints the GITHUB_TOKEN of one job from the `permissions` it is granted, so that the
    # GitHub API can refuse what the job was not granted (None: `token` for every job).
    mint_token: Callable[[Mapping[str, str]], str] | None = None
    _runs: int = 0

    def run(self, workflow: str, event: Event) -> WorkflowRun:
        """Run `.github/workflows/<workflow>.yml` as of the event's commit."""
        text = git(self.origin, "show", f"{event.sha}:.github/workflows/{workflow}.yml")
        spec: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
        _known(spec, _WORKFLOW_KEYS, f"workflow {workflow}")
        if not triggers(spec["on"], event):
            return WorkflowRun(workflow, False, self)
        self._runs += 1
        run = WorkflowRun(workflow, True, self)
        _JobsRun(self, spec, event, run, self.workdir / f"run-{self._runs}-{workflow}").all()
        return run


# --- triggers -----------------------------------------------------------------------


def _path_matches(pattern: str, path: str) -> bool:
    if pattern.endswith("/**") and "*" not in pattern[:-3]:
        return path.startswith(pattern[:-2])
    if "*" in pattern or "?" in pattern or "[" in pattern:
        raise WorkflowError(f"paths pattern not supported by the rehearsal: {pattern!r}")
    return path == pattern


def triggers(on: Any, event: Event) -> bool:
    """Whether the event starts the workflow (its `branches:` and `paths:` filters)."""
    if event.name not in on:
        return False
    if event.name in ("schedule", "workflow_dispatch"):
        return True  # the cron itself is not rehearsed; the event says it fired
    config = on[event.name] or {}
    _known(config, {"paths", "branches"}, f"on.{event.name}")
    if "branches" in config:
        base = event.payload.get("pull_request", {}).get("base", {}).get("ref")
        target = base if event.name == "pull_request" else event.ref.removeprefix("refs/heads/")
        if not any(fnmatchcase(target, p) for p in config["branches"]):
            return False
    if "paths" in config:
        if event.changed is None:
            raise WorkflowError(f"{event.name} event without changed files for `paths:`")
        return any(_path_matches(p, f) for p in config["paths"] for f in event.changed)
    return True


def _known(mapping: Any, keys: set[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise WorkflowError(f"{where}: expected a mapping, found {mapping!r}")
    unknown = set(mapping) - keys
    if unknown:
        raise WorkflowError(f"{where}: keys the rehearsal does not run: {sorted(unknown)}")


# --- jobs ---------------------------------------------------------------------------


class _JobsRun:
    def __init__(
        self, world: Rehearsal, spec: dict[str, Any], event: Event, run: WorkflowRun, root: Path
    ) -> None:
        self.world, self.spec, self.event, self.run_ = world, spec, event, run
        self.root = root
        root.mkdir(parents=True)
        self.event_path = root / "event.json"
        self.event_path.write_text(json.dumps(event.payload), encoding="utf-8")

    def github(self, job_id: str, token: str = "") -> dict[str, Any]:
        pull = self.event.payload.get("pull_request") or {}
        return {
            "event": self.event.payload,
            "event_name": self.event.name,
            "sha": self.event.sha,
            "ref": self.event.ref,
            "ref_name": re.sub(r"^refs/(heads|tags|pull)/", "", self.event.ref),
            "head_ref": pull.get("head", {}).get("ref", ""),
            "base_ref": pull.get("base", {}).get("ref", ""),
            "repository": self.world.repository,
            "repository_owner": self.world.repository.split("/")[0],
            "api_url": self.world.api_url,
            "server_url": "https://github.com",
            "run_id": "4242",
            "run_number": "1",
            "actor": "dev",
            "job": job_id,
            "workflow": self.spec.get("name", ""),
            "token": token,
        }

    def all(self) -> None:
        _walk_interpolate(self.spec.get("concurrency"), Context({"github": self.github("")}))
        jobs: dict[str, Any] = self.spec["jobs"]
        for job_id in _in_order(jobs):
            self.run_.jobs[job_id] = self.job(job_id, jobs[job_id])

    def needs(self, job: Mapping[str, Any]) -> dict[str, Any]:
        names = job.get("needs", [])
        names = [names] if isinstance(names, str) else names
        found: dict[str, Any] = {}
        for name in names:
            [ran] = self.run_.jobs[name]  # a matrix job's outputs are not merged here
            found[name] = {"result": ran.result, "outputs": ran.outputs}
        return found

    def job(self, job_id: str, job: Mapping[str, Any]) -> list[JobRun]:
        """Each matrix leg on its own runner, at the same time, as on GitHub."""
        _known(job, _JOB_KEYS, f"job {job_id}")
        needs = self.needs(job)
        legs = [
            _JobRunner(self, job_id, job, needs, m) for m in _matrix(job.get("strategy"), job_id)
        ]
        if len(legs) == 1:
            return [legs[0].run()]
        with ThreadPoolExecutor(max_workers=len(legs)) as pool:
            return list(pool.map(_JobRunner.run, legs))


def _in_order(jobs: Mapping[str, Any]) -> list[str]:
    done: list[str] = []
    while len(done) < len(jobs):
        ready = [
            j
            for j, spec in jobs.items()
            if j not in done and all(n in done for n in _as_list(spec.get("needs", [])))
        ]
        if not ready:
            raise WorkflowError(
                f"jobs with circular or unknown needs: {sorted(set(jobs) - set(done))}"
            )
        done.extend(ready)
    return done


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _matrix(strategy: Any, job_id: str) -> list[dict[str, Any]]:
    if strategy is None:
        return [{}]
    _known(strategy, {"matrix", "fail-fast"}, f"job {job_id} strategy")
    axes = strategy["matrix"]
    _known(axes, {k for k, v in axes.items() if isinstance(v, list)}, f"job {job_id} matrix")
    legs = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    if len(legs) > 1 and strategy.get("fail-fast", True) is not False:
        # GitHub would cancel the legs still running when one fails; which ones depends
        # on timing, so the rehearsal cannot say what a run would have done.
        raise WorkflowError(f"job {job_id}: a fail-fast matrix; set `fail-fast: false`")
    return legs


class _JobRunner:
    def __init__(
        self,
        jobs: _JobsRun,
        job_id: str,
        job: Mapping[str, Any],
        needs: dict[str, Any],
        matrix: dict[str, Any],
    ) -> None:
        self.jobs, self.job_id, self.job, self.needs, self.matrix = jobs, job_id, job, needs, matrix
        world = jobs.world
        self.token = world.token
        if world.mint_token is not None:
            self.token = world.mint_token(self.permissions())
        self.values: dict[str, Any] = {
            "github": jobs.github(job_id, self.token),
            "needs": needs,
            "vars": dict(world.repository_level.vars),
            "matrix": matrix,
        }
        self.steps: dict[str, Any] = {}
        self.failed = False
        label = "-".join(str(v) for v in matrix.values())
        self.dir = jobs.root / (f"{job_id}-{label}" if label else job_id)

    def permissions(self) -> dict[str, str]:
        """The job's `permissions`, else the workflow's; GitHub's default is not guessed."""
        granted = self.job.get("permissions", self.jobs.spec.get("permissions"))
        if not isinstance(granted, Mapping):
            raise WorkflowError(f"job {self.job_id}: no `permissions` mapping to grant")
        return {str(k): str(v) for k, v in granted.items()}

    def context(self, *, status: bool = False, **extra: Any) -> Context:
        def job_status(name: str) -> bool:
            return {
                "success": not self.failed,
                "failure": self.failed,
                "always": True,
                "cancelled": False,
            }[name]

        return Context({**self.values, **extra}, status=job_status if status else None)

    def needs_status(self, name: str) -> bool:
        failed = any(n["result"] != "success" for n in self.needs.values())
        return {"success": not failed, "failure": failed, "always": True, "cancelled": False}[name]

    def run(self) -> JobRun:
        job, world = self.job, self.jobs.world
        name = interpolate(job.get("name", self.job_id), self.context())
        allowed = True
        if "if" in job or self.needs:
            ctx = Context(self.values, status=self.needs_status)
            allowed = evaluate_condition(job.get("if", "success()"), ctx)
        if not allowed:
            return JobRun(self.job_id, name, self.matrix, None, "skipped")
        environment = self.environment()
        scoped = world.environments[environment] if environment else GitHubEnvironment()
        self.values["secrets"] = {
            "GITHUB_TOKEN": self.token,
            **world.repository_level.secrets,
            **scoped.secrets,
        }
        self.values["vars"] = {**world.repository_level.vars, **scoped.vars}
        for key in ("concurrency", "runs-on", "timeout-minutes"):
            if isinstance(job.get(key), str | dict):
                _walk_interpolate(job[key], self.context())
        env = self.mapping(self.jobs.spec.get("env"), self.context(env={}))
        env.update(self.mapping(job.get("env"), self.context(env=env)))
        record = JobRun(self.job_id, name, self.matrix, environment, "success", token=self.token)
        _StepsRunner(self, record, env).all()
        record.result = "failure" if self.failed else "success"
        record.outputs = self.mapping(job.get("outputs"), self.context(steps=self.steps, env=env))
        return record

    def environment(self) -> str | None:
        spec = self.job.get("environment")
        if spec is None:
            return None
        if isinstance(spec, Mapping):
            _known(spec, {"name"}, f"job {self.job_id} environment")
            spec = spec["name"]
        name = interpolate(spec, self.context())
        if name not in self.jobs.world.environments:
            raise WorkflowError(f"job {self.job_id}: GitHub environment {name!r} not configured")
        return str(name)

    @staticmethod
    def mapping(spec: Any, ctx: Context) -> dict[str, str]:
        if spec is None:
            return {}
        if not isinstance(spec, Mapping):
            raise WorkflowError(f"expected a mapping, found {spec!r}")
        return {str(k): interpolate(v, ctx) for k, v in spec.items()}


def _walk_interpolate(value: Any, ctx: Context) -> None:
    """Evaluate expressions the rehearsal does not act on, so that they still must parse."""
    if isinstance(value, Mapping):
        for item in value.values():
            _walk_interpolate(item, ctx)
    elif isinstance(value, str):
        interpolate(value, ctx)


# --- steps --------------------------------------------------------------------------


def _read_file_commands(path: Path) -> dict[str, str]:
    """NAME=value lines and NAME<<DELIMITER heredocs, as GITHUB_OUTPUT and GITHUB_ENV hold."""
    found: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for item in lines:
                if item == delimiter:
                    break
                body.append(item)
            else:
                raise WorkflowError(f"{path.name}: heredoc {delimiter!r} never closed")
            found[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
        else:
            raise WorkflowError(f"{path.name}: invalid line {line!r}")
    return found


class _StepsRunner:
    def __init__(self, job: _JobRunner, record: JobRun, env: dict[str, str]) -> None:
        self.job, self.record, self.env = job, record, env
        self.world = job.jobs.world
        self.workspace = job.dir / "workspace"
        self.temp = job.dir / "temp"
        self.workspace.mkdir(parents=True)
        self.temp.mkdir()
        self.path_extra: list[str] = []
        self.shell = BASH_DEFAULT
        defaults = {**job.jobs.spec.get("defaults", {}), **job.job.get("defaults", {})}
        if defaults:
            _known(defaults, {"run"}, "defaults")
            _known(defaults["run"], {"shell"}, "defaults.run")
            self.shell = self.shell_of(defaults["run"]["shell"])

    @staticmethod
    def shell_of(name: str) -> list[str]:
        if name != "bash":
            raise WorkflowError(f"shell {name!r} is not supported by the rehearsal")
        return BASH_STRICT

    def all(self) -> None:
        for index, step in enumerate(self.job.job.get("steps", [])):
            _known(step, _STEP_KEYS, f"job {self.job.job_id} step {index + 1}")
            self.record.steps.append(self.step(step, index))

    def context(self, *, status: bool = False) -> Context:
        return self.job.context(status=status, steps=self.job.steps, env=self.env)

    def step(self, step: Mapping[str, Any], index: int) -> StepRun:
        name = str(step.get("name") or step.get("uses") or step.get("run", "")).strip()
        step_id = step.get("id")
        if not evaluate_condition(step.get("if", "success()"), self.context(status=True)):
            run = StepRun(name, step_id, "skipped", "skipped")
        else:
            started = time.monotonic()
            run = self.execute(step, name)
            run.seconds = time.monotonic() - started
        if run.outcome == "failure" and not self.continue_on_error(step):
            self.job.failed = True
        elif run.outcome == "failure":
            run.conclusion = "success"
        if step_id:
            self.job.steps[step_id] = {
                "outputs": run.outputs,
                "outcome": run.outcome,
                "conclusion": run.conclusion,
            }
        return run

    def continue_on_error(self, step: Mapping[str, Any]) -> bool:
        value = step.get("continue-on-error", False)
        if isinstance(value, bool):
            return value
        return interpolate(value, self.context()) == "true"

    def execute(self, step: Mapping[str, Any], name: str) -> StepRun:
        step_env = _JobRunner.mapping(step.get("env"), self.context())
        if "uses" in step:
            if "run" in step or "shell" in step:
                raise WorkflowError(f"step {name!r}: `uses` with `run` or `shell`")
            inputs = _JobRunner.mapping(step.get("with"), self.context())
            return self.action(str(step["uses"]), inputs, name, step.get("id"))
        if "with" in step:
            raise WorkflowError(f"step {name!r}: `with` on a `run` step")
        script = interpolate(step["run"], self.context())
        if "pip install" in script or "uv pip" in script:
            if script.strip() != INSTALL:
                raise WorkflowError(f"step {name!r}: an install the rehearsal cannot replace")
            return StepRun(name, step.get("id"), "success", "success", 0, "(virtualenv on PATH)\n")
        shell = self.shell_of(step["shell"]) if "shell" in step else self.shell
        return self.bash(name, step.get("id"), script, shell, {**self.env, **step_env})

    # --- actions -----------------------------------------------------------------------

    def action(self, uses: str, inputs: dict[str, str], name: str, step_id: str | None) -> StepRun:
        action, _, pin = uses.partition("@")
        if not re.fullmatch(r"[0-9a-f]{40}", pin):
            raise WorkflowError(f"{uses}: not pinned by commit sha")
        if action == "actions/checkout":
            _known(inputs, {"ref", "fetch-depth", "persist-credentials"}, uses)
            log = self.checkout(inputs.get("ref", ""), int(inputs.get("fetch-depth") or 1))
        elif action == "actions/setup-python":
            _known(inputs, {"python-version"}, uses)
            wanted = tuple(int(p) for p in inputs["python-version"].split("."))
            if sys.version_info[: len(wanted)] < wanted:
                raise WorkflowError(f"{uses}: Python {wanted} wanted, {sys.version} here")
            log = f"(using {self.world.venv_bin / 'python'})\n"
        else:
            raise WorkflowError(f"action {action!r} is not supported by the rehearsal")
        return StepRun(name, step_id, "success", "success", 0, log)

    def checkout(self, ref: str, depth: int) -> str:
        """What actions/checkout does: init, fetch the one ref (or all with depth 0),
        check out a branch by name or a commit detached."""
        event = self.job.jobs.event
        ws = self.workspace
        git(ws, "init", "-q")
        git(ws, "remote", "add", "origin", self.world.origin.as_uri())
        if not ref:
            target, name = event.sha, event.ref
        elif re.fullmatch(r"[0-9a-f]{40}", ref):
            target, name = ref, ""
        else:
            name = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
            target = git(self.world.origin, "rev-parse", name)
        branch = name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else ""
        if branch:
            refspec = f"+{target}:refs/remotes/origin/{branch}"
        elif name.startswith("refs/pull/"):
            refspec = f"+{target}:refs/remotes/pull/{name.removeprefix('refs/pull/')}"
        else:
            refspec = target
        if depth > 0:
            git(ws, "fetch", "-q", "--no-tags", f"--depth={depth}", "origin", refspec)
        else:
            git(ws, "fetch", "-q", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
            git(ws, "fetch", "-q", "--no-tags", "origin", refspec)
        if branch:
            git(ws, "checkout", "-q", "--force", "-B", branch, f"refs/remotes/origin/{branch}")
        else:
            git(ws, "checkout", "-q", "--force", "--detach", target)
        return f"checked out {name or target} at {git(ws, 'rev-parse', 'HEAD')}\n"

    # --- run: ----------------------------------------------------------------------------

    def defaults(self, files: Mapping[str, Path]) -> dict[str, str]:
        github = self.job.values["github"]
        path = [*self.path_extra, str(self.world.venv_bin), "/usr/local/bin", "/usr/bin", "/bin"]
        return {
            "PATH": ":".join(path),
            # the syncbot the tests imported, whichever way it is installed
            "PYTHONPATH": str(SYNCBOT_SOURCE),
            "HOME": str(self.job.dir),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_SHA": github["sha"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_HEAD_REF": github["head_ref"],
            "GITHUB_BASE_REF": github["base_ref"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_EVENT_PATH": str(self.job.jobs.event_path),
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_NUMBER": github["run_number"],
            "GITHUB_ACTOR": github["actor"],
            "GITHUB_JOB": github["job"],
            "GITHUB_WORKFLOW": github["workflow"],
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
            **{f"GITHUB_{key.upper()}": str(path_) for key, path_ in files.items()},
        }

    def bash(
        self, name: str, step_id: str | None, script: str, shell: list[str], env: dict[str, str]
    ) -> StepRun:
        tag = uuid.uuid4().hex
        files = {k: self.temp / f"{k}_{tag}" for k in ("output", "env", "path", "step_summary")}
        for path in files.values():
            path.touch()
        script_path = self.temp / f"{tag}.sh"
        script_path.write_text(script, encoding="utf-8")
        done = subprocess.run(
            [*shell, str(script_path)],
            cwd=self.workspace,
            env={**self.defaults(files), **env},
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        self.commands(done.stdout)
        self.commands(done.stderr)
        outputs = _read_file_commands(files["output"])
        self.env.update(_read_file_commands(files["env"]))
        self.path_extra[:0] = files["path"].read_text(encoding="utf-8").split()
        self.record.summary += files["step_summary"].read_text(encoding="utf-8")
        outcome = "success" if done.returncode == 0 else "failure"
        return StepRun(
            name, step_id, outcome, outcome, done.returncode, done.stdout, done.stderr, outputs
        )

    def commands(self, text: str) -> None:
        """Workflow commands in a step's output: annotations and masks, honouring
        `::stop-commands::TOKEN` ... `::TOKEN::` as the runner does."""
        stopped: str | None = None
        for line in text.splitlines():
            match = _COMMAND.match(line)
            if match is None:
                continue
            command, props, message = match.group(1), match.group(2) or "", match.group(3)
            if stopped is not None:
                stopped = None if command == stopped else stopped
                continue
            if command == "stop-commands":
                stopped = message
            elif command in ("error", "warning", "notice"):
                self.record.annotations.append(Annotation(command, props, message))
            elif command in ("set-output", "save-state", "set-env", "add-path"):
                raise WorkflowError(f"deprecated workflow command ::{command}:: in a step")
