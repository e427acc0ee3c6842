"""config.toml: the shipped file works; every mistake names the key, the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from triage.config import SCHEMA, load_config, parse_config, read_secret, reference_markdown
from triage.errors import ConfigError, SecretError

BASE = """
[[programs]]
id = "p"
name = "P"

[[clinicians]]
email = "c@dmh.example.org"
name = "C"
program = "p"
"""


def fail(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="x.toml")
    return str(err.value)


def test_shipped_config_loads_and_points_at_the_sample_inbox() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.store.url.startswith("sqlite:///") and config.store.url.endswith("triage.db")
    [mb] = config.mailboxes
    assert mb.kind == "maildir" and Path(mb.path).is_dir()
    assert {p.id for p in config.programs} == {"adult-op", "youth"}
    adult = config.program("adult-op")
    assert adult.email_approved and adult.approved_by and adult.approved_on
    assert adult.on_call[0].days == frozenset(range(5)) and adult.on_call[1].start is None


def test_unknown_key_names_key_file_line_and_allowed() -> None:
    msg = fail(BASE + '\n[worker]\nbatch_size = 10\npoll_intervall = 30\n')
    assert "x.toml, line 13" in msg
    assert "worker.poll_intervall" in msg
    assert "allowed here:" in msg and "poll_interval_seconds" in msg


def test_inline_password_is_not_a_setting() -> None:
    text = BASE + """
[servers.office]
host = "imap.example.org"
password = "hunter2"
"""
    msg = fail(text)
    assert "servers.office.password" in msg and "line 13" in msg and "password_env" in msg


def test_missing_required_key_names_the_table_and_line() -> None:
    msg = fail(BASE + '\n[[mailboxes]]\nname = "m"\nkind = "maildir"\npath = "/tmp"\n')
    assert "mailboxes[0]" in msg and "line 11" in msg and "`clinician`" in msg


def test_wrong_type_and_choice() -> None:
    assert "expected a whole number" in fail("[worker]\nbatch_size = \"ten\"\n".replace('"ten"', "1.5"))
    msg = fail("[worker]\nlog_format = \"xml\"\n")
    assert "line 2" in msg and "json, text" in msg


def test_second_array_table_entry_gets_its_own_line() -> None:
    text = BASE + """
[[mailboxes]]
name = "a"
clinician = "c@dmh.example.org"
kind = "maildir"
path = "/tmp"

[[mailboxes]]
name = "b"
clinician = "nobody@dmh.example.org"
kind = "maildir"
path = "/tmp"
"""
    msg = fail(text)
    assert "mailboxes[1].clinician" in msg and "line 19" in msg


def test_nested_on_call_line_is_found() -> None:
    text = BASE.replace('name = "P"\n', 'name = "P"\n\n  [[programs.on_call]]\n  address = "not-an-address"\n', 1)
    msg = fail(text)
    assert "programs[0].on_call[0].address" in msg and "line 7" in msg


def test_plain_imap_only_on_loopback() -> None:
    ok = parse_config(BASE + '[servers.t]\nhost = "127.0.0.1"\nsecurity = "plain"\n')
    assert ok.servers["t"].port == 143
    msg = fail(BASE + '[servers.t]\nhost = "imap.example.org"\nsecurity = "plain"\n')
    assert "not loopback" in msg and "servers.t.security" in msg


def test_poll_interval_cannot_exceed_the_ceiling() -> None:
    msg = fail(BASE + '[[mailboxes]]\nname = "m"\nclinician = "c@dmh.example.org"\nkind = "maildir"\n'
               'path = "/tmp"\npoll_interval_seconds = 900\n')
    assert "max_poll_interval_seconds" in msg and "line 15" in msg


def test_approved_program_needs_who_and_when() -> None:
    msg = fail(BASE.replace('name = "P"\n', 'name = "P"\nemail_approved = true\n', 1))
    assert "approved_by" in msg and "1a" in msg


def test_imap_mailbox_needs_a_password_source_and_a_known_server() -> None:
    text = BASE + '[servers.s]\nhost = "imap.example.org"\n\n[[mailboxes]]\nname = "m"\n' \
                  'clinician = "c@dmh.example.org"\nkind = "imap"\nserver = "s"\nuser = "c@dmh.example.org"\n'
    assert "password_env or password_file" in fail(text)
    assert "expected one of the [servers.*]: s" in fail(text.replace('server = "s"', 'server = "t"'))


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in fail("[store\n")
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_read_secret_from_env_and_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    assert read_secret("PW", "", what="m", environ={"PW": "x"}) == "x"
    assert read_secret("", "pw", what="m", base=tmp_path) == "s3cret"
    with pytest.raises(SecretError, match="PW is not set"):
        read_secret("PW", "", what="m", environ={})


def test_the_readme_holds_the_current_configuration_reference() -> None:
    """Every setting is declared once; the README's reference is that declaration, verbatim."""
    readme = (ROOT / "README.md").read_text()
    assert reference_markdown() in readme, "regenerate it: python -m triage.config"
    for _table, settings in SCHEMA.items():
        for s in settings:
            assert s.help, f"{s.name} has no help text"
