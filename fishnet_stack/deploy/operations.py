"""The deployer's Python API; the CLI is a thin layer over it.

    target = open_target(Path("stacks/local.yaml"), echo=print)   # validate, key, node
    built = build_artifacts(target)                                # deterministic archives
    planned = await make_plan(target, built)                       # read state, diff (pure)
    result = await apply(target, planned, built)                   # journal, steps, manifest
    await rollback(target, 1); await gc(target); await destroy(target)

``open_target`` validates everything offline first (a bad stack sends nothing), then resolves
the owner's key (devnet creates a missing key file; other networks never do) and the node
(``network: devnet`` starts the devnet when ``start_devnet`` and it is not running, saying so
through ``echo``). Network errors surface as :class:`~fishnet_stack.errors.AlephError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import fishnet_stack
from fishnet_stack.aleph.accounts import Account, create_key_file, load_key_env, load_key_file
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.build import (
    AppSource,
    CodeArchive,
    PackagesVolume,
    build_code,
    build_packages,
)
from fishnet_stack.deploy.apply import ApplyOptions, ApplyResult, IdentitySource, apply_plan
from fishnet_stack.deploy.desired import ROLES, ArtifactSummary
from fishnet_stack.deploy.journal import ApplyLock, CrashPoint, Journal, journal_path
from fishnet_stack.deploy.lifecycle import plan_destroy, plan_gc, plan_rollback
from fishnet_stack.deploy.plan import plan_apply
from fishnet_stack.deploy.plantypes import Plan, stale_reasons
from fishnet_stack.deploy.state import ObservedState, read_state
from fishnet_stack.devnet import daemon
from fishnet_stack.devnet.config import DevnetConfig, default_data_dir, default_port
from fishnet_stack.errors import ConfigError, DevnetError, StalePlan
from fishnet_stack.stackfile import Stack, check_owner_key, load_stack

__all__ = ["Built", "Target", "app_sources", "apply", "build_artifacts", "destroy",
           "drop_journal", "gc", "is_saved_plan", "load_plan", "lock", "make_plan", "observe",
           "open_target", "plan", "refresh_check", "rollback", "save_plan"]

REPO_ROOT = Path(fishnet_stack.__file__).resolve().parent.parent
BUNDLED_FACTORIES = {"api": "api_app:create_app", "executor": "executor_app.app:create_app"}
# Devnet must accept a ~500 MB packages volume in one upload.
DEVNET_MAX_BODY = 2 * 1024 * 1024 * 1024
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """A validated stack, its file, the owner's account and the node URL to talk to."""

    stack: Stack
    file: Path
    account: Account
    node_url: str
    devnet_dir: Path | None

    def client(self) -> AlephClient:
        return AlephClient(self.node_url, self.account)

    @property
    def cache_dir(self) -> Path:
        """Where packages volumes are cached: ``$FISHNET_CACHE_DIR``, else ``.fishnet/cache``
        next to the stack file (a volume is built once per lock hash)."""
        configured = os.environ.get("FISHNET_CACHE_DIR")
        return Path(configured) if configured else self.file.resolve().parent / ".fishnet" / \
            "cache"


def _account(stack: Stack, echo: Echo, environ: Mapping[str, str]) -> Account:
    if stack.owner.key_env is not None:
        if stack.owner.key_env not in environ:
            raise ConfigError(f"environment variable {stack.owner.key_env} is not set")
        return load_key_env(stack.owner.key_env)
    path = stack.key_path
    assert path is not None
    if not path.exists() and stack.is_devnet:
        account = create_key_file(path)
        echo(f"created owner key {path} ({account.address})")
        return account
    return load_key_file(path)


def resolve_node(stack: Stack, echo: Echo, start_devnet: bool) -> tuple[str, Path | None]:
    """The node URL (and devnet data dir). Raises DevnetError when devnet is needed, not
    running and ``start_devnet`` is false."""
    if not stack.is_devnet:
        return stack.network, None
    data_dir = default_data_dir()
    running = daemon.find_devnet(data_dir)
    if running is not None:
        return running.url, data_dir
    if not start_devnet:
        raise DevnetError(f"no devnet is running on {data_dir}; start it with "
                          "`fishnet-stack devnet up --detach` (plan and apply start it)")
    config = DevnetConfig(port=default_port(), data_dir=data_dir, max_body_bytes=DEVNET_MAX_BODY)
    started = daemon.start_devnet(config)
    echo(f"devnet was not running: started it at {started.url} (data in {data_dir})")
    return started.url, data_dir


def open_target(file: Path, *, echo: Echo = lambda _: None, start_devnet: bool = False,
                environ: Mapping[str, str] | None = None) -> Target:
    """Validate ``file`` (raises StackError), load the owner's key, find the node."""
    env = os.environ if environ is None else environ
    stack = load_stack(file, env)
    check_owner_key(stack, str(file), env)
    account = _account(stack, echo, env)
    url, devnet_dir = resolve_node(stack, echo, start_devnet)
    return Target(stack=stack, file=file, account=account, node_url=url, devnet_dir=devnet_dir)


def app_sources(stack: Stack) -> dict[str, AppSource]:
    """Each role's app: ``apps.<role>`` of the stack file, else the bundled ``<role>_app``
    with ``templates/requirements/<role>.txt`` as its packages lock."""
    sources: dict[str, AppSource] = {}
    for role in ROLES:
        configured = getattr(stack.apps, role)
        if configured is not None:
            requirements = configured.requirements
            sources[role] = AppSource(
                package=(stack.base_dir / configured.path).resolve(), factory=configured.factory,
                requirements=(stack.base_dir / requirements).resolve() if requirements else None)
            continue
        package = REPO_ROOT / f"{role}_app"
        lock = REPO_ROOT / "templates" / "requirements" / f"{role}.txt"
        if not (package / "__init__.py").is_file():
            raise ConfigError(f"the bundled {role} app is missing ({package}); set "
                              f"apps.{role} in the stack file")
        sources[role] = AppSource(package=package, factory=BUNDLED_FACTORIES[role],
                                  requirements=lock if lock.is_file() else None)
    return sources


@dataclass(frozen=True)
class Built:
    """A role's build: what plan sees (``summary``) and the bytes apply uploads."""

    summary: ArtifactSummary
    code: CodeArchive
    packages: PackagesVolume | None


def build_artifacts(target: Target) -> dict[str, Built]:
    """Build both apps (zip on devnet, squashfs elsewhere); packages volumes are cached."""
    encoding = "zip" if target.stack.is_devnet else "squashfs"
    built: dict[str, Built] = {}
    for role, source in app_sources(target.stack).items():
        code = build_code(source, encoding)
        packages = (build_packages(source.requirements, target.cache_dir)
                    if source.requirements else None)
        version = getattr(target.stack.versions, role)
        summary = ArtifactSummary(
            role=role, version=version, tree_hash=code.tree_hash, file_hash=code.file_hash,
            encoding=encoding, packages_lock=packages.lock_hash if packages else None,
            packages_file_hash=packages.file_hash if packages else None)
        built[role] = Built(summary, code, packages)
    return built


async def observe(target: Target) -> ObservedState:
    """The stack's live state, read from the node."""
    async with AlephClient(target.node_url) as client:
        return await read_state(client, target.stack.stack, target.stack.channel,
                                target.account.address)


async def make_plan(target: Target, built: Mapping[str, Built]) -> Plan:
    state = await observe(target)
    return plan_apply(target.stack, target.account.address,
                      {r: b.summary for r, b in built.items()}, state)


async def refresh_check(target: Target, plan: Plan) -> None:
    """Raise :class:`StalePlan` (saying what changed) when the network moved since ``plan``."""
    now = await observe(target)
    if now.fingerprint != plan.base_fingerprint:
        raise StalePlan("the saved plan is stale: " + "; ".join(stale_reasons(plan.base, now))
                        + "; run plan again")


async def apply(target: Target, plan: Plan, built: Mapping[str, Built] | None = None, *,
                echo: Echo = lambda _: None, health_timeout: float = 180.0,
                environ: Mapping[str, str] | None = None,
                identities: IdentitySource | None = None) -> ApplyResult:
    """Carry out ``plan`` against ``target`` (see :mod:`fishnet_stack.deploy.apply`).

    ``identities`` replaces asking each VM for its address (benchmarks on ``--no-compute``
    nodes, where no VM runs)."""
    env = os.environ if environ is None else environ
    if built is None and any(s.item_hash is None for s in plan.stores):
        built = build_artifacts(target)
    payloads: dict[str, Callable[[], bytes]] = {}
    for role, item in (built or {}).items():
        payloads[f"code:{role}"] = _constant(item.code.data)
        if item.packages is not None:
            payloads[f"packages:{item.packages.lock_hash}"] = item.packages.path.read_bytes
    journal = Journal(journal_path(target.file, target.stack.stack))
    async with target.client() as client:
        options = ApplyOptions(client=client, channel=target.stack.channel,
                               node_url=target.node_url, devnet=target.stack.is_devnet,
                               journal=journal, payloads=payloads,
                               crash=CrashPoint.from_env(env), health_timeout=health_timeout,
                               echo=echo, identities=identities)
        return await apply_plan(plan, options)


def lock(target: Target) -> ApplyLock:
    """The lock every writing command holds (see :class:`ApplyLock`)."""
    return ApplyLock(journal_path(target.file, target.stack.stack))


def drop_journal(target: Target) -> None:
    """Remove the apply journal of ``target`` (call when a plan shows no changes: whatever it
    held has reached the network)."""
    Journal(journal_path(target.file, target.stack.stack)).clear()


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def save_plan(plan: Plan, path: Path, stack_file: Path) -> None:
    """Write ``plan`` (with its base state and the stack file's path) to ``path``."""
    document = {"fishnet_stack_plan": plan.to_json(), "stack_file": str(stack_file.resolve())}
    try:
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the plan: {exc.strerror}") from exc


def is_saved_plan(path: Path) -> bool:
    """Whether ``path`` looks like a file written by :func:`save_plan`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b"fishnet_stack_plan" in head


def load_plan(path: Path) -> tuple[Plan, Path]:
    """A plan saved by ``plan -out`` and its stack file; raises ConfigError otherwise."""
    try:
        document = json.loads(path.read_text())
        return Plan.from_json(document["fishnet_stack_plan"]), Path(document["stack_file"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a saved plan ({exc})") from exc


async def plan(target: Target, built: Mapping[str, Built] | None = None) -> Plan:
    """Build (unless ``built`` is given), read the network and plan an apply."""
    return await make_plan(target, built if built is not None else build_artifacts(target))


async def rollback(target: Target, serial: int, *, echo: Echo = lambda _: None) -> ApplyResult:
    """Activate release ``serial`` again (no new PROGRAM); raises PlanError when it cannot."""
    with lock(target):
        planned = plan_rollback(target.stack.stack, await observe(target), serial)
        return await apply(target, planned, None, echo=echo)


async def destroy(target: Target, *, echo: Echo = lambda _: None) -> ApplyResult:
    """Forget every program and STORE of the stack, empty its manifest, revoke its VMs."""
    with lock(target):
        planned = plan_destroy(target.stack.stack, await observe(target))
        return await apply(target, planned, None, echo=echo)


async def gc(target: Target, *, echo: Echo = lambda _: None) -> ApplyResult:
    """Forget the releases beyond ``retain`` and what only they used."""
    with lock(target):
        planned = plan_gc(target.stack.stack, await observe(target), target.stack.retain)
        return await apply(target, planned, None, echo=echo)
