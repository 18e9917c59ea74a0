"""Checks of --output destinations, made before flense connects to an engine."""

from __future__ import annotations

import os
import pty
import sys
from pathlib import Path

import pytest

from flense import llb
from flense.build import BuildRequest, run_build
from flense.engine.outputs import check_destinations, parse_output
from flense.errors import UsageError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file.txt").write_text("a file")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    return tmp_path


VALID = [
    "type=local,dest=dir",
    "type=local,dest=new",
    "type=local,dest=dir/new",
    "dir",
    "type=tar,dest=image.tar",
    "type=tar,dest=file.txt",
    "type=tar,dest=dir/image.tar",
    "type=oci,dest=dir/image.tar",
    "type=tar,dest=-",
    "-",
    "type=image,name=wiki",
]


@pytest.mark.parametrize("text", VALID)
def test_destination_valid(
    tree: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tree)
    check_destinations([parse_output(text)])


INVALID = [
    (
        "type=local,dest=file.txt",
        "invalid --output type=local,dest=file.txt: file.txt exists and is not "
        "a directory",
    ),
    ("type=local,dest=dangling", "dangling exists and is not a directory"),
    (
        "type=local,dest=missing/out",
        "invalid --output type=local,dest=missing/out: the directory "
        "{tree}/missing does not exist; create it first",
    ),
    ("type=local,dest=file.txt/out", "the directory {tree}/file.txt does not exist"),
    (
        "type=tar,dest=dir",
        "invalid --output type=tar,dest=dir: dir is a directory; give a file path "
        "such as dir/image.tar",
    ),
    (
        "type=tar,dest=missing/image.tar",
        "invalid --output type=tar,dest=missing/image.tar: the directory "
        "{tree}/missing does not exist",
    ),
    ("type=docker,dest=.", "type=docker,dest=.: . is a directory"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_destination_invalid(
    tree: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tree)
    with pytest.raises(UsageError) as raised:
        check_destinations([parse_output(text)])
    assert message.format(tree=tree) in str(raised.value)
    assert raised.value.exit_code == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_destination_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(UsageError, match="is not writable by this user"):
        check_destinations([parse_output(f"type=tar,dest={locked}/image.tar")])


@pytest.mark.parametrize("text", ["type=tar,dest=-", "-"])
def test_destination_stdout_terminal(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    controller, terminal = pty.openpty()
    with open(terminal, "w") as stdout, open(controller, "rb"):
        monkeypatch.setattr(sys, "stdout", stdout)
        with pytest.raises(UsageError) as raised:
            check_destinations([parse_output(text)])

    message = str(raised.value)
    assert "invalid --output type=tar,dest=-: standard output is a terminal" in message
    assert "redirect stdout" in message
    assert "dest=FILE" in message


def test_build_checks_destination_before_connecting(tmp_path: Path) -> None:
    """A bad dest fails with UsageError even though no engine is reachable."""
    request = BuildRequest(
        definition=llb.marshal(llb.local("context")),
        context=tmp_path,
        address=f"unix://{tmp_path}/no-buildkitd.sock",
        outputs=(f"type=tar,dest={tmp_path}/missing/image.tar",),
        progress="quiet",
    )

    with pytest.raises(UsageError, match="missing does not exist"):
        run_build(request)
