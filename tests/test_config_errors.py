"""Configuration that would silently switch alerting off, as a user meets it: the `fenghuo`
command names the file and the fix (exit 2, no traceback), and the running service keeps scoring
with the last good keyword library while it says, in /readyz and /api/v1/keywords, what is wrong."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEYWORDS = Path(__file__).parents[1] / "keywords"
OUTLETS = "outlets:\n  - {id: forum, name: 江城论坛, kind: rss, url: 'http://127.0.0.1:9/feed', tier: forum}\n"


def fenghuo(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", **env},
    )


def test_keywords_check_of_a_folder_that_does_not_exist_fails(tmp_path):
    result = fenghuo(tmp_path, "keywords", "check", "/nonexistent")
    assert result.returncode == 2  # before: "library valid: 0 groups", exit 0
    assert "/nonexistent: no such folder; point FENGHUO_KEYWORDS_DIR" in result.stderr
    assert "library valid" not in result.stdout and "Traceback" not in result.stderr


def test_keywords_check_of_an_empty_folder_fails(tmp_path):
    (tmp_path / "keywords").mkdir()
    result = fenghuo(tmp_path, "keywords", "check", str(tmp_path / "keywords"))
    assert result.returncode == 2
    assert "no keyword files (*.yaml): an empty library matches nothing and never alerts" in result.stderr


def test_keywords_check_of_a_gbk_file_names_it_and_the_fix(tmp_path):
    folder = tmp_path / "keywords"
    shutil.copytree(KEYWORDS, folder)
    (folder / "incidents.yaml").write_bytes((KEYWORDS / "incidents.yaml").read_text(encoding="utf-8").encode("gbk"))
    result = fenghuo(tmp_path, "keywords", "check", str(folder))
    assert result.returncode == 2, result.stderr  # before: a UnicodeDecodeError traceback, exit 1
    assert f"{folder / 'incidents.yaml'}: is not UTF-8 text (it looks like GBK/GB18030" in result.stderr
    assert "save it as UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_a_gbk_outlets_file_names_it_and_the_fix(tmp_path):
    outlets = tmp_path / "outlets.yaml"
    outlets.write_bytes(OUTLETS.encode("gbk"))
    result = fenghuo(tmp_path, "outlets", "check", "--outlets", str(outlets))
    assert result.returncode == 2, result.stderr  # before: a UnicodeDecodeError traceback, exit 1
    assert f"{outlets}: is not UTF-8 text (it looks like GBK/GB18030" in result.stderr
    assert "save it as UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_the_service_refuses_to_start_with_an_empty_library(tmp_path):
    (tmp_path / "outlets.yaml").write_text(OUTLETS, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for command in ("run", "worker", "api"):
        result = fenghuo(tmp_path, command, FENGHUO_KEYWORDS_DIR=str(tmp_path / "empty"))
        assert result.returncode == 2, (command, result.stderr)
        assert "an empty library matches nothing and never alerts" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_service_refuses_to_start_with_a_gbk_notify_file(tmp_path):
    (tmp_path / "outlets.yaml").write_text(OUTLETS, encoding="utf-8")
    notify = tmp_path / "notify.yaml"
    notify.write_bytes("channels:\n  值班群: {kind: generic, url_env: DUTY_URL}\nroutes:\n  red: [值班群]\n".encode("gbk"))
    for command in ("run", "worker", "api"):
        result = fenghuo(tmp_path, command, FENGHUO_NOTIFY_FILE=str(notify))
        assert result.returncode == 2, (command, result.stderr)  # before: a traceback from serve(), exit 1
        assert f"{notify}: is not UTF-8 text" in result.stderr and "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = condition()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout}s: {condition.__doc__}")


def test_a_gbk_keyword_file_saved_while_the_service_runs(tmp_path):
    folder = tmp_path / "keywords"
    shutil.copytree(KEYWORDS, folder)
    port = free_port()
    env = {
        **os.environ, "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "FENGHUO_KEYWORDS_DIR": str(folder),
        "FENGHUO_SWEEP_INTERVAL": "1", "FENGHUO_ANALYSIS_INTERVAL": "1", "FENGHUO_LOG_FORMAT": "json",
    }
    created = subprocess.run([sys.executable, "-m", "monitor.cli", "token", "create", "tester", "--role", "viewer"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "demo", "--port", str(port), "--step", "2"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def newest_analysis(after: int = 0):
        """an item newer than `after` has been scored"""
        items = httpx.get(f"{base}/api/v1/items", params={"limit": 5}, headers=headers, timeout=5).json()
        for item in items:
            if item["id"] > after:
                analysis = httpx.get(f"{base}/api/v1/items/{item['id']}", headers=headers, timeout=5).json()["analysis"]
                if analysis:
                    return item["id"], analysis
        return None

    try:
        newest, analysis = wait_for(newest_analysis, 90)
        good = analysis["library_version"]
        assert httpx.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"

        organisation = folder / "organisation.yaml"
        original = organisation.read_bytes()
        organisation.write_bytes(original.decode("utf-8").encode("gbk"))  # saved again in Windows Notepad

        def degraded():
            """/readyz says degraded"""
            body = httpx.get(f"{base}/readyz", timeout=5).json()
            return body if body["status"] == "degraded" else None

        body = wait_for(degraded, 30)
        assert body["problems"][0].startswith("organisation.yaml: is not UTF-8 text (it looks like GBK")
        library = httpx.get(f"{base}/api/v1/keywords", headers=headers, timeout=5).json()
        assert library["version"] == good and library["last_problems"] == body["problems"]
        # Items keep being scored, with the last good library (before: none for as long as it lasted).
        later, analysis = wait_for(lambda: newest_analysis(newest), 60)
        assert analysis["library_version"] == good

        organisation.write_bytes(original)
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=5).json()["status"] == "ready", 30)
        assert httpx.get(f"{base}/api/v1/keywords", headers=headers, timeout=5).json()["last_problems"] == []
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-2000:]
    assert '"event": "keyword_library_rejected"' in stderr and "save it as UTF-8" in stderr
    assert "Traceback" not in stderr
