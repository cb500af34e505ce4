"""Each PLATEHUB_* variable is declared once, in config.py; `Settings.from_env`, its errors, the README's
table and `platehub serve --help` all come from that declaration (STYLE.md change 3)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from platehub import config
from platehub.cli import build_parser
from platehub.config import OBSOLETE, PREFIX, SETTINGS, Settings, read_env, settings_markdown

REPO = Path(__file__).resolve().parent.parent
NAME = re.compile(r"PLATEHUB_[A-Z0-9_]+")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        monkeypatch.delenv(name)


def readme_configuration() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## Configuration (environment)")
    return text[start:text.index("\n## ", start)]


def test_the_readme_documents_every_setting_and_no_other():
    documented = set(NAME.findall(readme_configuration()))
    declared = {s.var for s in SETTINGS} | {PREFIX + o.env for o in OBSOLETE}
    assert declared - documented == set(), "declared in config.py, missing from the README"
    assert documented - declared == set(), "in the README, declared nowhere"


def test_the_readme_table_is_the_declaration():
    assert settings_markdown() in readme_configuration(), (
        "the README's table differs from config.py: paste the output of "
        "`python -c 'from platehub.config import settings_markdown; print(settings_markdown())'`")


def test_serve_help_lists_every_setting_and_the_flags_still_override(capsys, monkeypatch):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    shown = capsys.readouterr().out
    assert all(s.var in shown for s in SETTINGS)
    args = build_parser().parse_args(["serve", "--port", "9001", "--host", "127.0.0.1", "--data", "/srv/lpr"])
    assert (args.port, args.host, args.data) == (9001, "127.0.0.1", "/srv/lpr")
    monkeypatch.setenv("PLATEHUB_PORT", "9000")
    monkeypatch.setenv("PLATEHUB_HOST", "10.0.0.1")
    s = Settings.from_env(port=9001, host=None)  # a flag not given is None: the environment's value stays
    assert (s.port, s.host) == (9001, "10.0.0.1")


def test_no_module_reads_a_platehub_variable_outside_config():
    read = re.compile(r"""(environ\.get|getenv|environ\[)\(?\s*["']PLATEHUB_""")
    readers = [str(p.relative_to(REPO)) for p in (REPO / "src/platehub").rglob("*.py")
               if p.name != "config.py" and read.search(p.read_text())]
    assert readers == []


@pytest.mark.parametrize(("env", "value", "allowed"), [
    ("PORT", "abc", "whole number"),
    ("WORKERS", "two", "whole number"),
    ("RATE_LIMIT", "fast", "number"),
    ("MATCH_EDITS", "3", "0 to 2"),
    ("MATCH_EDITS", "1.5", "0 to 2"),
    ("UPLOAD_URL_DEADLINE", "0", "> 0"),
    ("RETAIN_INTERVAL", "-5", "> 0"),
    ("RETAIN_IMAGES_GB", "nan", "≥ 0"),
    ("GATE_POLICY", "open", "allow_list, deny_list, always, never, manual"),
    ("IMAGE_RETENTION", "Plate", "none, plate, full"),
    ("METRICS", "public", "local, open, token, off"),
    ("RETAIN_KEEP_LISTS", "allow,vip", "allow, deny"),
    ("TIMEZONE", "Mars/Olympus_Mons", "IANA time zone name"),
    ("MQTT_URL", "tcp://broker:1883", "mqtt[s]://user:password@host:port/prefix"),
    ("GATE_DEFAULT", "ajar", "open, closed"),  # obsolete, still read: GATE_POLICY is unset
])
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_allows(monkeypatch, env, value, allowed):
    monkeypatch.setenv(PREFIX + env, value)
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert f"{PREFIX}{env}=" in str(refused.value) and allowed in str(refused.value)


@pytest.mark.parametrize(("env", "attribute", "expected"), [
    ({}, "port", 8080),
    ({"PLATEHUB_PORT": "9000"}, "port", 9000),
    ({"PLATEHUB_UPLOAD_LIMIT": " 300000 "}, "upload_limit", 300000),
    ({"PLATEHUB_DATA": "/srv/lpr"}, "data_dir", Path("/srv/lpr")),
    ({"PLATEHUB_HOST": ""}, "host", ""),
    ({"PLATEHUB_REQUIRE_TOKEN": "Yes"}, "require_token", True),
    ({"PLATEHUB_MATCH_LOOKALIKES": "off"}, "match_lookalikes", False),
    ({"PLATEHUB_MATCH_LOOKALIKES": ""}, "match_lookalikes", False),  # set but empty: no
    ({"PLATEHUB_SITE_NAME": " Gate 3 "}, "site_name", "Gate 3"),
    ({"PLATEHUB_SITE_NAME": "  "}, "site_name", "platehub"),  # blank: the default
    ({"PLATEHUB_METRICS": " Open "}, "metrics", "open"),
    ({"PLATEHUB_MQTT_URL": " mqtt://broker "}, "mqtt_url", "mqtt://broker"),
    ({"PLATEHUB_RETAIN_KEEP_LISTS": " Allow, ,DENY"}, "retain_keep_lists", ("allow", "deny")),
    ({"PLATEHUB_UPLOAD_URL_HOSTS": ",cams.example,"}, "upload_url_hosts", ("cams.example",)),
    ({"PLATEHUB_ALLOWED_ORIGINS": "https://LPR.example.com/ , http://b"}, "allowed_origins",
     ("https://lpr.example.com", "http://b")),
    ({"PLATEHUB_RETAIN_READS_DAYS": "30"}, "retain_reads_days", 30.0),
    ({"PLATEHUB_GATE_POLICY": ""}, "gate_policy", "allow_list"),
    ({"PLATEHUB_GATE_DEFAULT": "open"}, "gate_policy", "always"),  # obsolete, documented
    ({"PLATEHUB_GATE_DEFAULT": "closed"}, "gate_policy", "allow_list"),
    ({"PLATEHUB_GATE_DEFAULT": "open", "PLATEHUB_GATE_POLICY": ""}, "gate_policy", "always"),
    ({"PLATEHUB_GATE_DEFAULT": "open", "PLATEHUB_GATE_POLICY": "never"}, "gate_policy", "never"),
])
def test_values_are_read_as_declared(monkeypatch, env, attribute, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert getattr(Settings.from_env(), attribute) == expected


def test_unset_variables_give_the_declared_defaults(monkeypatch):
    assert Settings.from_env() == Settings()
    assert read_env(config.ADMIN_PASSWORD) == "" and read_env(config.CHROMIUM) == "/usr/bin/chromium"
    monkeypatch.setenv("PLATEHUB_ADMIN_PASSWORD", "s3cret")
    assert read_env(config.ADMIN_PASSWORD) == "s3cret"
