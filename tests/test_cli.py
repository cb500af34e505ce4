"""The `platehub` command: help everywhere, read, token and webhook management, bench."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
from helpers import settings_changes

from platehub.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    """Every command and subcommand of the parser, by name (so a new one cannot miss its --help)."""
    out = {" ".join(prefix): parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out |= _parsers(sub, (*prefix, name))
    return out


PARSERS = _parsers(build_parser())
COMMANDS = [name.split() for name in PARSERS]


def test_every_command_is_covered():
    names = {" ".join(c) for c in COMMANDS}
    assert {"devices set", "lists import", "lots count", "visits export", "user passwd", "simulate push"} <= names


def run(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "platehub.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "platehub")
def test_help(command):
    r = run(*command, "--help")
    assert r.returncode == 0 and "usage: platehub" in r.stdout


def test_help_states_the_declared_defaults():
    """Flag help shows the default argparse or the settings hold, never one written again by hand."""
    from platehub.config import Settings
    from platehub.core.store.channels import Channel

    texts = {name: p.format_help() for name, p in PARSERS.items()}
    for name, text in texts.items():
        assert "%(" not in text and "default None" not in text, name
    serve, default = " ".join(texts["serve"].split()), Settings()
    assert f"$PLATEHUB_PORT, else {default.port})" in serve and f"$PLATEHUB_HOST, else {default.host})" in serve
    for name in ("lists add", "lots list", "user add", "purge", "devices set"):  # every store-opening command
        assert "$PLATEHUB_DATA, else ./data" in " ".join(texts[name].split()), name
    video = " ".join(texts["video"].split())
    assert f"(default {Channel.sample_rate:g})" in video and f"(default {Channel.mode})" in video
    assert "(default merge)" in " ".join(texts["lists import"].split())


def test_read_prints_the_api_json(dev_data):
    r = run("read", str(dev_data / "images" / "hr-01.jpg"), "--regions", "hr")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["results"][0]["plate"] == "zg9757hg" and body["filename"] == "hr-01.jpg"


def test_read_reports_bad_files_and_options(tmp_path, dev_data):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"not an image")
    r = run("read", str(bad), str(dev_data / "images" / "hr-01.jpg"))
    assert r.returncode == 1 and "not a supported image" in r.stderr
    assert json.loads(r.stdout)["results"]  # the good image is still read
    r = run("read", str(bad), "--regions", "zz")
    assert r.returncode == 2 and "Unknown region code" in r.stderr


def test_tokens_and_webhooks_cli(tmp_path):
    data = ["--data", str(tmp_path / "d")]
    key = run("token", "create", "ci", *data).stdout.strip()
    assert len(key) == 40
    assert "ci" in run("token", "list", *data).stdout
    assert run("token", "revoke", "ci", *data).returncode == 0
    assert "revoked" in run("token", "list", *data).stdout
    assert run("token", "revoke", "ci", *data).returncode == 1
    assert run("webhook", "add", "http://example.invalid/h", "--with-image", *data).returncode == 0
    assert "with image" in run("webhook", "list", *data).stdout
    assert run("webhook", "add", "file:///etc/passwd", *data).returncode == 2
    assert run("webhook", "remove", "1", *data).returncode == 0
    assert run("webhook", "remove", "1", *data).returncode == 1


def test_bench_prints_accuracy_and_speed(tmp_path, dev_data):
    lines = (dev_data / "manifest.jsonl").read_text().splitlines()
    manifest = tmp_path / "m.jsonl"
    picked = [x for x in lines if 'hr-01.jpg"' in x or "ro-dashcam-dayride_type1_001-t1058" in x]
    manifest.write_text("\n".join(json.dumps({**json.loads(x),
                        "image": str(dev_data / json.loads(x)["image"])}) for x in picked))
    out = tmp_path / "bench.json"
    r = run("bench", str(manifest), "--sizes", "800x600", "--calls", "4", "--clients", "2", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "hr " in r.stdout and "800x600" in r.stdout
    report = json.loads(out.read_text())
    assert report["accuracy"]["hr"]["exact"] == 1
    assert report["accuracy"]["ro"]["boxes_found"] == 1
    assert {row["mode"] for row in report["speed"]} == {"regular", "fast"}
    assert all(row["calls"] == 4 and row["ms_per_call"] > 0 for row in report["speed"])


def test_command_queue_cli(tmp_path):
    data = ["--data", str(tmp_path / "d")]
    r = run("command", "add", "SN-1", "serial_data", "--text", "hello", *data)
    assert r.returncode == 0 and "pending" in r.stdout
    assert run("command", "add", "SN-1", "whitelist_add", *data).returncode == 2  # needs --plate
    listed = run("command", "list", "SN-1", *data).stdout
    assert "serial_data" in listed and '"data": "aGVsbG8="' in listed
    assert run("command", "cancel", "1", *data).returncode == 0
    assert "cancelled" in run("command", "list", *data).stdout
    assert run("devices", "set", "nope", "--policy", "always", *data).returncode == 1
    assert run("devices", "add", "SN-1", *data).returncode == 0
    assert run("devices", "set", "SN-1", "--policy", "ajar", *data).returncode == 2
    r = run("devices", "set", "SN-1", "--policy", "deny_list", "--whitelist-sync", "on", *data)
    assert r.returncode == 0 and "gate_policy deny_list" in r.stdout, r.stderr
    assert "gate deny_list" in run("devices", "list", *data).stdout
    assert run("devices", "whitelist", "SN-1", "--reset", *data).returncode == 0
    # each change is a settings entry of the event log, by "cli"; refused ones are not
    assert settings_changes(tmp_path / "d", "device SN-1") == [
        ("cli", {"setting": "device SN-1", "after": {"added": "allinone"}}),
        ("cli", {"setting": "device SN-1", "before": {"gate_policy": None, "whitelist_sync": None},
                 "after": {"gate_policy": "deny_list", "whitelist_sync": True}})]
    assert settings_changes(tmp_path / "d", "device SN-1 whitelist") == [
        ("cli", {"setting": "device SN-1 whitelist", "after": "reset"})]
