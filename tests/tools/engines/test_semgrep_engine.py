"""Finding semgrep (SECAUDIT_SEMGREP, the private install, PATH) and installing it privately."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from secaudit.tools.engines import (
    INSTALL_COMMAND,
    PINNED_VERSION,
    EngineUnavailable,
    discover,
    engine_status,
    install,
    probe_version,
    read_manifest,
)
from secaudit.tools.engines.semgrep import REQUIREMENTS_FILE, engine_environment
from tests.support.semgrep import fake_private_install, fake_semgrep


def _fake(path: Path, version: str) -> Path:
    return fake_semgrep(path, version)


def _private(engines: Path, version: str = PINNED_VERSION) -> Path:
    return fake_private_install(engines, version)


def test_explicit_path_comes_first(tmp_path: Path) -> None:
    explicit = _fake(tmp_path / "mine" / "semgrep", "1.150.0")
    _private(tmp_path / "engines")
    on_path = _fake(tmp_path / "path" / "semgrep", "1.185.0")
    engine = discover(explicit=explicit, engines_dir=tmp_path / "engines", which=lambda _n: str(on_path))
    assert (engine.executable, engine.version, engine.source) == (explicit, "1.150.0", "SECAUDIT_SEMGREP")


def test_a_bad_explicit_path_is_never_replaced_silently(tmp_path: Path) -> None:
    _private(tmp_path / "engines")
    with pytest.raises(EngineUnavailable, match="SECAUDIT_SEMGREP is set but does not name an executable"):
        discover(explicit=tmp_path / "nope", engines_dir=tmp_path / "engines")
    old = _fake(tmp_path / "old" / "semgrep", "1.50.0")
    with pytest.raises(EngineUnavailable, match=r"1\.50\.0, older than 1\.100\.0"):
        discover(explicit=old, engines_dir=tmp_path / "engines")


def test_private_install_before_path(tmp_path: Path) -> None:
    exe = _private(tmp_path / "engines")
    on_path = _fake(tmp_path / "path" / "semgrep", "1.185.0")
    engine = discover(explicit=None, engines_dir=tmp_path / "engines", which=lambda _n: str(on_path))
    assert (engine.executable, engine.source) == (exe, "private environment")


def test_a_private_install_scans_through_its_ocaml_binary_directly(tmp_path: Path) -> None:
    # `semgrep scan --experimental` only execs semgrep-core as `osemgrep`: a private install (whose
    # layout we made) starts that binary itself and saves the Python wrapper's start-up.
    exe = _private(tmp_path / "engines")
    venv = exe.parent.parent
    assert discover(explicit=None, engines_dir=tmp_path / "engines").core is None  # no binary: wrapper
    core = _fake(venv / "lib" / "python3.11" / "site-packages" / "semgrep" / "bin" / "semgrep-core", "x")
    engine = discover(explicit=None, engines_dir=tmp_path / "engines")
    assert engine.core == core
    env = {"PATH": "/usr/bin", "HOME": "/h"}
    program, argv, launched_env = engine.launch(
        [str(exe), "scan", "--experimental", "--json", "--", "a.js"], env
    )
    assert (program, argv) == (str(core), ["osemgrep", "scan", "--experimental", "--json", "--", "a.js"])
    assert launched_env == {"PATH": f"/usr/bin{os.pathsep}{exe.parent}", "HOME": "/h"}  # as the wrapper
    # The Python command line (the exit-99 fallback) and anything else go through the wrapper.
    legacy = [str(exe), "scan", "--json", "--", "a.js"]
    assert engine.launch(legacy, env) == (None, legacy, env)
    # An engine named by SECAUDIT_SEMGREP or found on PATH is never second-guessed.
    explicit = discover(explicit=exe, engines_dir=None)
    assert explicit.core is None


def test_a_broken_private_install_falls_through_to_path(tmp_path: Path) -> None:
    exe = _private(tmp_path / "engines")
    exe.unlink()
    on_path = _fake(tmp_path / "path" / "semgrep", "1.120.3")
    engine = discover(explicit=None, engines_dir=tmp_path / "engines", which=lambda _n: str(on_path))
    assert (engine.source, engine.version) == ("PATH", "1.120.3")
    status = engine_status(explicit=None, engines_dir=tmp_path / "engines")
    assert status.manifest_problem == "its semgrep executable is missing"


def test_a_private_install_whose_python_is_gone_is_not_intact(tmp_path: Path) -> None:
    # A CI runner's tool cache moved to a new Python patch release: the cached venv's interpreter
    # link dangles, its scripts cannot start, and `install` must rebuild it rather than reuse it.
    exe = _private(tmp_path / "engines")
    (exe.parent / "python").unlink()
    (exe.parent / "python").symlink_to(tmp_path / "python3.12.7-removed")
    status = engine_status(explicit=None, engines_dir=tmp_path / "engines")
    assert status.manifest_problem == "the Python its virtualenv was made with is gone"
    on_path = _fake(tmp_path / "path" / "semgrep", "1.185.0")
    engine = discover(explicit=None, engines_dir=tmp_path / "engines", which=lambda _n: str(on_path))
    assert engine.source == "PATH"


def test_path_needs_the_minimum_version(tmp_path: Path) -> None:
    old = _fake(tmp_path / "path" / "semgrep", "1.99.9")
    with pytest.raises(EngineUnavailable, match=f"older than 1.100.0.*{INSTALL_COMMAND}"):
        discover(explicit=None, engines_dir=tmp_path / "engines", which=lambda _n: str(old))


def test_nothing_found_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=f"not installed: run `{INSTALL_COMMAND}`"):
        discover(explicit=None, engines_dir=tmp_path / "engines", which=lambda _n: None)
    status = engine_status(explicit=None, engines_dir=tmp_path / "engines")
    assert not status.available and status.manifest is None
    assert status.to_json()["install_command"] == INSTALL_COMMAND


def test_probe_refuses_a_program_that_is_not_semgrep(tmp_path: Path) -> None:
    liar = tmp_path / "semgrep"
    liar.write_text("#!/bin/sh\necho hello\n", encoding="utf-8")
    liar.chmod(0o755)
    with pytest.raises(EngineUnavailable, match="no version number"):
        probe_version(liar)


def test_semgrep_sees_a_scratch_home_and_no_caller_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEMGREP_APP_TOKEN", "t0ken-that-must-not-leak")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    env = engine_environment(tmp_path)
    assert "SEMGREP_APP_TOKEN" not in env and "HTTPS_PROXY" not in env
    assert env["HOME"] == str(tmp_path)
    assert env["SEMGREP_SEND_METRICS"] == "off" and env["SEMGREP_ENABLE_VERSION_CHECK"] == "0"
    assert Path(env["XDG_CONFIG_HOME"]).is_dir()


def test_requirements_pin_every_package_with_hashes() -> None:
    lines = REQUIREMENTS_FILE.read_text(encoding="utf-8").splitlines()
    pins = [ln for ln in lines if ln and not ln[0].isspace() and not ln.startswith("#")]
    assert f"semgrep=={PINNED_VERSION} \\" in pins
    assert len(pins) > 30 and all("==" in p and p.endswith("\\") for p in pins)


@pytest.mark.slow
def test_install_creates_a_working_private_semgrep(tmp_path: Path) -> None:
    engines = tmp_path / "engines"
    report = install(engines, timeout=1500)
    assert not report.already_installed
    manifest = read_manifest(engines)
    assert manifest is not None and manifest == report.manifest
    assert manifest.version == PINNED_VERSION
    assert Path(manifest.executable).is_file()
    out = subprocess.run(
        [manifest.executable, "--version"], capture_output=True, text=True, timeout=300,
        env=engine_environment(tmp_path / "scratch"), check=True,
    )  # fmt: skip
    assert out.stdout.strip() == PINNED_VERSION
    engine = discover(explicit=None, engines_dir=engines, which=lambda _n: None)
    assert engine.source == "private environment" and engine.version == PINNED_VERSION
    again = install(engines)
    assert again.already_installed and again.manifest == manifest
    assert oct(os.stat(engines / "semgrep").st_mode & 0o777) == "0o700"
