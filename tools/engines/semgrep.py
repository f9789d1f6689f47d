"""The semgrep engine: where it is found, and a private install of the pinned release.

Discovery (`discover`), first match wins:
1. `SECAUDIT_SEMGREP`, a path to a semgrep executable. When set it is the only candidate: a wrong
   path or a release older than MIN_VERSION makes the engine unavailable, never silently replaced
   by another semgrep the user did not choose.
2. The private environment `secaudit engines install semgrep` made under the engines folder
   (`<engines dir>/semgrep/`; its `manifest.json` says where, which version and when).
3. `semgrep` on PATH, if its version is at least MIN_VERSION.

Install (`install`). A virtualenv of its own, because semgrep pins a dependency set (mcp 1.x among
others) that cannot live beside ours, filled by `pip install --require-hashes --only-binary=:all:
-r semgrep-requirements.txt`: every package pinned to one version and to the sha256 of its files,
and no source distribution built, so nothing fetched from the index runs at install time. The
manifest is written last: an install that stopped half way is never discovered.

Offline. semgrep runs with a scratch HOME and config folder (`engine_environment`), its version
check and metrics off, and none of the caller's variables but PATH and the locale: no semgrep
token (SEMGREP_APP_TOKEN) or proxy setting reaches it, and it is never given a registry config.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secaudit.tools.errors import Conflict, SecauditError
from secaudit.tools.locks import FileLocker
from secaudit.tools.masking import get_redactor
from secaudit.tools.text import clean_text
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = [
    "INSTALL_COMMAND",
    "MIN_VERSION",
    "PINNED_VERSION",
    "REQUIREMENTS_FILE",
    "Engine",
    "EngineError",
    "EngineStatus",
    "EngineUnavailable",
    "InstallReport",
    "Manifest",
    "discover",
    "engine_environment",
    "engine_status",
    "install",
    "kill_group",
    "parse_version",
    "probe_version",
    "read_manifest",
    "wait_group",
]

PINNED_VERSION = "1.185.0"
# The oldest release whose JSON output (`paths.scanned`, per-file errors) and flags
# (`--no-rewrite-rule-ids`, `--scan-unknown-extensions`) the scanner relies on; tested with the pin.
MIN_VERSION = "1.100.0"
INSTALL_COMMAND = "secaudit engines install semgrep"
REQUIREMENTS_FILE = Path(__file__).with_name("semgrep-requirements.txt")
PRIVATE = "private environment"
_MANIFEST = "manifest.json"
_PROBE_TIMEOUT = 120.0
_VENV_TIMEOUT = 300.0
_LOG_TAIL_CHARS = 2000
_VERSION_RE = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\b")


class EngineError(SecauditError):
    code = "engine_error"


class EngineUnavailable(EngineError):
    code = "engine_unavailable"


@dataclass(frozen=True)
class Engine:
    executable: Path
    version: str
    source: str  # "SECAUDIT_SEMGREP", "private environment" or "PATH"
    # semgrep's OCaml binary, in a private install (whose layout we made): `semgrep scan
    # --experimental` is a Python script that only finds this file and execs it as `osemgrep`, so
    # a scan started on it directly (`launch`) saves that interpreter's start-up, a third of a
    # one-file scan. None: always through `executable`.
    core: Path | None = None

    def launch(self, argv: list[str], env: dict[str, str]) -> tuple[str | None, list[str], dict[str, str]]:
        """(the program to start, its argv, its environment) for `argv`, a command line that names
        `executable` first: `core` as `osemgrep` for a scan with the OCaml command line, as the
        Python script would start it (the script's folder appended to PATH, as it does), else
        `argv` unchanged."""
        if self.core is None or argv[1:3] != ["scan", "--experimental"]:
            return None, argv, env
        path = os.pathsep.join(p for p in (env.get("PATH", ""), str(self.executable.parent)) if p)
        return str(self.core), ["osemgrep", *argv[1:]], {**env, "PATH": path}


@dataclass(frozen=True)
class Manifest:
    engine: str
    version: str
    path: str  # the virtualenv
    executable: str
    installed_at: str
    python: str
    requirements_sha256: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class InstallReport:
    manifest: Manifest
    already_installed: bool
    seconds: float


@dataclass(frozen=True)
class EngineStatus:
    name: str
    available: bool
    engine: Engine | None
    reason: str | None  # why it is unavailable
    manifest: Manifest | None  # the private install, if any
    manifest_problem: str | None  # a private install that cannot be used, and why
    explicit: str | None  # SECAUDIT_SEMGREP as configured
    pinned_version: str = PINNED_VERSION
    minimum_version: str = MIN_VERSION
    install_command: str = INSTALL_COMMAND

    def to_json(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "name": self.name,
            "available": self.available,
            "version": engine.version if engine else None,
            "executable": str(engine.executable) if engine else None,
            "source": engine.source if engine else None,
            "reason": self.reason,
            "private": self.manifest.to_json() if self.manifest else None,
            "private_problem": self.manifest_problem,
            "secaudit_semgrep": self.explicit,
            "pinned_version": self.pinned_version,
            "minimum_version": self.minimum_version,
            "install_command": self.install_command,
        }


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _at_least(version: str, minimum: str = MIN_VERSION) -> bool:
    have, need = parse_version(version), parse_version(minimum)
    return have is not None and need is not None and have >= need


def engine_environment(scratch: Path) -> dict[str, str]:
    """The whole environment semgrep runs with: a private HOME under `scratch`, nothing sent out."""
    config = scratch / "config"
    cache = scratch / "cache"
    config.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")}
    env.update(
        HOME=str(scratch),
        XDG_CONFIG_HOME=str(config),
        XDG_CACHE_HOME=str(cache),
        SEMGREP_LOG_FILE=str(scratch / "semgrep.log"),
        SEMGREP_SETTINGS_FILE=str(scratch / "settings.yml"),
        SEMGREP_VERSION_CACHE_PATH=str(cache / "semgrep_version"),
        SEMGREP_ENABLE_VERSION_CHECK="0",
        SEMGREP_SEND_METRICS="off",
        NO_COLOR="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """Kill the process and everything it started (it leads its own session), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _exited(proc: subprocess.Popen[Any]) -> bool:
    """True once the leader has exited, without reaping it: its pid, hence the group id, stays
    reserved, so killing the group afterwards can never hit an unrelated process."""
    if not hasattr(os, "waitid"):
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True  # already reaped


def wait_group(
    proc: subprocess.Popen[Any],
    *,
    deadline: float,
    stop: Callable[[], bool] = lambda: False,
    pause: Callable[[float], object] = time.sleep,
    interval: float = 0.05,
) -> int | None:
    """Wait for a process started with `start_new_session=True`; its exit code, or None when it
    was killed because `stop()` said so or `deadline` (a monotonic time) passed. `pause` waits
    between checks (a cancel token's `wait` wakes up at once on cancellation).

    Whatever happens, the whole group is killed (leftover grandchildren included) and the leader
    reaped before this returns.
    """
    finished = False
    exit_fd = _exit_fd(proc)
    try:
        while not _exited(proc):
            if stop() or time.monotonic() > deadline:
                return None
            if exit_fd is None:
                pause(interval)
            else:
                # Woken the moment the leader exits: a one-file scan (an agent hook's) lasts a few
                # tenths of a second, and sleeping out the interval added up to a fifth of that.
                select.select([exit_fd], [], [], max(0.0, min(interval, deadline - time.monotonic())))
        finished = True
    finally:
        if exit_fd is not None:
            os.close(exit_fd)
        kill_group(proc)  # before the leader is reaped: the group id is still this one's
    return proc.returncode if finished else None


def _exit_fd(proc: subprocess.Popen[Any]) -> int | None:
    """A descriptor that turns readable when `proc` exits (a Linux pidfd), or None where the OS has
    none: the caller then polls."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(proc.pid)
    except OSError:  # an older kernel, or the process is already reaped
        return None
    return fd


def _run(argv: list[str], *, timeout: float, env: dict[str, str], cwd: Path, log: Path | None = None) -> str:
    """Run to completion in its own process group (killed whole on timeout); stdout+stderr text."""
    with tempfile.TemporaryFile() if log is None else open(log, "a+b") as out:
        start = out.tell()
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise EngineError(f"cannot start {Path(argv[0]).name}: {exc.strerror or exc}") from None
        code = wait_group(proc, deadline=time.monotonic() + timeout, interval=0.02)
        if code is None:
            raise EngineError(f"{Path(argv[0]).name} did not finish within {timeout:g} s")
        out.seek(start)
        text = out.read().decode("utf-8", errors="replace")
    if code != 0:
        raise _Failed(code, text)
    return text


class _Failed(Exception):
    def __init__(self, code: int, output: str) -> None:
        super().__init__(code)
        self.code = code
        self.output = output


def _tail(text: str) -> str:
    return clean_text(get_redactor().redact(text[-_LOG_TAIL_CHARS:]), _LOG_TAIL_CHARS)


_PROBED: dict[tuple[str, int, int, int], str] = {}
_PROBED_LOCK = threading.Lock()


def probe_version(executable: Path, *, timeout: float = _PROBE_TIMEOUT) -> str:
    """`semgrep --version`, remembered per executable file (path, inode, size, mtime) in this process."""
    try:
        real = os.path.realpath(executable)
        st = os.stat(real)
    except OSError:
        raise EngineUnavailable("the semgrep executable cannot be found") from None
    key = (real, st.st_ino, st.st_size, st.st_mtime_ns)
    with _PROBED_LOCK:
        known = _PROBED.get(key)
    if known is not None:
        return known
    with tempfile.TemporaryDirectory(prefix="secaudit-semgrep-") as scratch:
        try:
            output = _run(
                [str(executable), "--version"], timeout=timeout, env=engine_environment(Path(scratch)),
                cwd=Path(scratch),
            )  # fmt: skip
        except _Failed as exc:
            raise EngineUnavailable(
                f"`semgrep --version` failed (exit {exc.code}): {_tail(exc.output) or 'no output'}"
            ) from None
        except EngineError as exc:
            raise EngineUnavailable(str(exc)) from None
    parsed = parse_version(output)
    if parsed is None:
        raise EngineUnavailable("`semgrep --version` printed no version number; is it semgrep?")
    version = ".".join(str(n) for n in parsed)
    with _PROBED_LOCK:
        _PROBED[key] = version
    return version


def _home(engines_dir: Path) -> Path:
    return Path(engines_dir) / "semgrep"


def read_manifest(engines_dir: Path) -> Manifest | None:
    """The private install's manifest, or None when there is none or it cannot be read."""
    try:
        data = json.loads((_home(engines_dir) / _MANIFEST).read_text(encoding="utf-8"))
        fields = {f.name for f in dataclasses.fields(Manifest)}
        return Manifest(**{k: str(data[k]) for k in fields})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _manifest_problem(manifest: Manifest, engines_dir: Path) -> str | None:
    exe = Path(manifest.executable)
    venv = Path(manifest.path)
    if manifest.engine != "semgrep" or parse_version(manifest.version) is None:
        return "its manifest is not a semgrep manifest"
    if venv.parent != _home(engines_dir) or venv not in exe.parents:
        return "its manifest points outside the engines folder"
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        return "its semgrep executable is missing"
    # The virtualenv's interpreter is a link to the Python that made it: gone when that Python was
    # upgraded or removed (a CI runner's tool cache moves to a new patch release), which leaves
    # a venv whose scripts cannot start. `install` then makes a new one.
    python = _bin(venv, "python")
    if not (python.exists() and os.access(python, os.X_OK)):
        return "the Python its virtualenv was made with is gone"
    if not _at_least(manifest.version):
        return f"semgrep {manifest.version} is older than {MIN_VERSION}"
    return None


def discover(
    *,
    explicit: Path | None,
    engines_dir: Path | None,
    probe: Callable[[Path], str] = probe_version,
    which: Callable[[str], str | None] = shutil.which,
) -> Engine:
    """The semgrep to run, in the documented order; EngineUnavailable says why none fits."""
    if explicit is not None:
        exe = Path(explicit).expanduser()
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            raise EngineUnavailable(
                "SECAUDIT_SEMGREP is set but does not name an executable file: point it at a semgrep "
                f"executable, or unset it to use the private install (`{INSTALL_COMMAND}`)"
            )
        version = probe(exe)
        if not _at_least(version):
            raise EngineUnavailable(
                f"SECAUDIT_SEMGREP names semgrep {version}, older than {MIN_VERSION}, the oldest release "
                f"secaudit accepts: upgrade it, or unset SECAUDIT_SEMGREP and run `{INSTALL_COMMAND}`"
            )
        return Engine(exe, version, "SECAUDIT_SEMGREP")
    if engines_dir is not None:
        manifest = read_manifest(engines_dir)
        if manifest is not None and _manifest_problem(manifest, engines_dir) is None:
            return Engine(
                Path(manifest.executable), manifest.version, PRIVATE, core=_core_of(Path(manifest.path))
            )
    found = which("semgrep")
    if found:
        version = probe(Path(found))
        if _at_least(version):
            return Engine(Path(found), version, "PATH")
        raise EngineUnavailable(
            f"the semgrep on PATH is {version}, older than {MIN_VERSION}, the oldest release secaudit "
            f"accepts: run `{INSTALL_COMMAND}` (semgrep {PINNED_VERSION} in a private environment)"
        )
    raise EngineUnavailable(
        f"semgrep is not installed: run `{INSTALL_COMMAND}` (semgrep {PINNED_VERSION} in a private "
        "environment), or set SECAUDIT_SEMGREP to a semgrep executable"
    )


def engine_status(*, explicit: Path | None, engines_dir: Path) -> EngineStatus:
    manifest = read_manifest(engines_dir)
    problem = _manifest_problem(manifest, engines_dir) if manifest is not None else None
    try:
        engine: Engine | None = discover(explicit=explicit, engines_dir=engines_dir)
        reason = None
    except EngineUnavailable as exc:
        engine, reason = None, str(exc)
    return EngineStatus(
        name="semgrep",
        available=engine is not None,
        engine=engine,
        reason=reason,
        manifest=manifest,
        manifest_problem=problem,
        explicit=str(explicit) if explicit is not None else None,
    )


def _core_of(venv: Path) -> Path | None:
    """semgrep-core in the private virtualenv `venv` (where the semgrep package ships it), or None."""
    if os.name == "nt":
        return None
    for core in sorted(venv.glob("lib/python3*/site-packages/semgrep/bin/semgrep-core")):
        if core.is_file() and os.access(core, os.X_OK):
            return core
    return None


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(
    engines_dir: Path,
    *,
    force: bool = False,
    python: str | None = None,
    timeout: float = 1800.0,
    requirements: Path = REQUIREMENTS_FILE,
) -> InstallReport:
    """Install the pinned semgrep into `<engines_dir>/semgrep/venv-<version>` and record it.

    Idempotent: an intact install of the pinned version is kept unless `force`. Concurrent installs
    wait for each other (a lock file beside the manifest). Raises EngineError with pip's last lines.
    """
    if sys.platform == "win32":
        raise EngineError("semgrep does not run natively on Windows; run secaudit under WSL")
    started = time.monotonic()
    home = _home(engines_dir)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        with FileLocker(home).hold(["install"], timeout=timeout):
            return _install_locked(home, Path(engines_dir), force, python, timeout, requirements, started)
    except Conflict:
        raise EngineError(
            f"another `{INSTALL_COMMAND}` held the install lock for {timeout:g} s; try again when it is done"
        ) from None


def _install_locked(
    home: Path,
    engines_dir: Path,
    force: bool,
    python: str | None,
    timeout: float,
    requirements: Path,
    started: float,
) -> InstallReport:
    current = read_manifest(engines_dir)
    if (
        not force
        and current is not None
        and current.version == PINNED_VERSION
        and _manifest_problem(current, engines_dir) is None
    ):
        return InstallReport(current, already_installed=True, seconds=time.monotonic() - started)
    venv = home / f"venv-{PINNED_VERSION}"
    if current is not None and Path(current.path) == venv:
        # About to rebuild what the manifest points at: withdraw it first, so a crash in between
        # leaves "not installed", never a manifest naming a half-built environment.
        (home / _MANIFEST).unlink(missing_ok=True)
    if venv.exists():
        shutil.rmtree(venv)
    log = home / "install.log"
    log.write_text(f"{now_iso()} installing semgrep {PINNED_VERSION}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        _run(
            [python or sys.executable, "-m", "venv", str(venv)], timeout=_VENV_TIMEOUT, env=env, cwd=home,
            log=log,
        )  # fmt: skip
        _run(
            [
                str(_bin(venv, "python")), "-m", "pip", "install", "--require-hashes",
                "--only-binary=:all:", "--no-input", "-r", str(requirements),
            ],
            timeout=max(60.0, timeout - (time.monotonic() - started)), env=env, cwd=home, log=log,
        )  # fmt: skip
        exe = _bin(venv, "semgrep")
        version = probe_version(exe)
    except _Failed as exc:
        shutil.rmtree(venv, ignore_errors=True)
        raise EngineError(
            f"installing semgrep {PINNED_VERSION} failed (exit {exc.code}); the full log is {log}. "
            f"Last lines:\n{_tail(exc.output)}"
        ) from None
    except EngineError as exc:
        shutil.rmtree(venv, ignore_errors=True)
        raise EngineError(f"installing semgrep {PINNED_VERSION} failed: {exc} (log: {log})") from None
    if version != PINNED_VERSION:
        shutil.rmtree(venv, ignore_errors=True)
        raise EngineError(f"the installed semgrep reports version {version}, expected {PINNED_VERSION}")
    manifest = Manifest(
        engine="semgrep",
        version=version,
        path=str(venv),
        executable=str(exe),
        installed_at=now_iso(),
        python=".".join(str(n) for n in sys.version_info[:3]) if python is None else python,
        requirements_sha256=_sha256(requirements),
    )
    tmp = home / f".{_MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, home / _MANIFEST)
    for old in home.glob("venv-*"):
        if old != venv:
            shutil.rmtree(old, ignore_errors=True)
    return InstallReport(manifest, already_installed=False, seconds=time.monotonic() - started)
