"""The README's sample outputs, made by the real commands.

Every fenced block in README.md whose first line is `$ fenghuo …` with a command
listed in RERUN is a sample: the command is run (as a subprocess from the repository's folder, with the shipped defaults, 100 columns wide) and
what it prints is what the block must say. `--write` rewrites the blocks; without it, the differences
are printed and the exit status is 1. tests/test_docs.py runs the check, so a sample cannot drift.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLE = re.compile(r"```\n(\$ (?:[A-Z_]+=\S+ )*fenghuo [^\n]*)\n(.*?)```", re.S)
WIDTH = "100"


def run(command_line: str) -> str:
    """What `[VAR=value …] fenghuo …` prints (stdout, then stderr), run as a user would from the
    repository's folder, with the shipped defaults rather than this shell's FENGHUO_ settings."""
    words = shlex.split(command_line.removeprefix("$ "))
    assignments = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    assert words.pop(0) == "fenghuo", command_line
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")}
    with tempfile.TemporaryDirectory() as folder:
        environment |= {"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb", "PYTHONPATH": str(ROOT),
                        "FENGHUO_DATABASE_URL": f"sqlite:///{folder}/absent.db", **assignments}
        done = subprocess.run([sys.executable, "-m", "monitor.cli", *words], cwd=ROOT, env=environment,
                              capture_output=True, text=True, encoding="utf-8", timeout=120)
    output = done.stdout + done.stderr
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


# Commands whose output depends only on the repository (shipped library and models, the query
# parser): their samples are rerun. Others (a drill against live chat channels, a fetch) print
# times and ids of the run that made them, and stay illustrations.
RERUN = ("score", "search", "keywords check")


def rerun(command_line: str) -> bool:
    words = [word for word in shlex.split(command_line.removeprefix("$ ")) if "=" not in word]
    return words[0] == "fenghuo" and any(" ".join(words[1:]).startswith(command) for command in RERUN)


def rendered(readme: str) -> str:
    return SAMPLE.sub(lambda match: f"```\n{match.group(1)}\n{run(match.group(1))}```"
                      if rerun(match.group(1)) else match.group(0), readme)


def main() -> int:
    readme = README.read_text(encoding="utf-8")
    fresh = rendered(readme)
    if "--write" in sys.argv[1:]:
        README.write_text(fresh, encoding="utf-8")
        return 0
    if fresh == readme:
        return 0
    import difflib

    sys.stdout.writelines(difflib.unified_diff(readme.splitlines(True), fresh.splitlines(True), "README.md", "commands"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
