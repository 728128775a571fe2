"""The README documents what a user can set and run."""

import re
from pathlib import Path

import typer.main

from monitor.cli import app
from monitor.config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    missing = [
        f"FENGHUO_{name.upper()}" for name in Settings.model_fields
        if f"FENGHUO_{name.upper()}" not in README
    ]
    assert missing == []


def test_every_command_is_documented_in_the_readme():
    command = typer.main.get_command(app)
    names = []
    for name, sub in command.commands.items():
        if hasattr(sub, "commands"):
            names += [f"fenghuo {name} {inner}" for inner in sub.commands]
        else:
            names.append(f"fenghuo {name}")
    assert [name for name in names if name not in README] == []


def test_readme_has_the_two_setup_commands():
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", README, re.S)
    assert any("scripts/demo.sh" in block for block in blocks)
    assert any("scripts/test.sh" in block for block in blocks)


def test_docker_compose_names_real_commands_and_settings():
    """docker-compose.yml cannot be run on the development machine (no Docker engine): at least
    every command it runs exists and every FENGHUO_ variable it sets is a setting."""
    import yaml

    compose = yaml.safe_load((Path(__file__).parent.parent / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "api", "worker"}
    assert services["worker"]["deploy"]["replicas"] == 2
    commands = typer.main.get_command(app).commands
    for name in ("api", "worker"):
        assert services[name]["command"][0] in commands
        for variable in services[name]["environment"]:
            assert variable.startswith("FENGHUO_")
            assert variable.removeprefix("FENGHUO_").lower() in Settings.model_fields, variable
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_readmes_sample_outputs_are_what_the_commands_print():
    """Each ```$ fenghuo …``` block in the README is rerun; `python scripts/readme_samples.py --write`
    refreshes them after a deliberate change."""
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    done = subprocess.run([sys.executable, str(root / "scripts" / "readme_samples.py")],
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
