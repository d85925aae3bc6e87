"""kg.review and `kg review`: the queue (what no decision covers, most valuable first,
filters), the review card (evidence highlighted, document text escaped), the session driven
as a user would (CliRunner keys, Ctrl-C), resuming, and the ledger surviving a killed
process and two sessions at once."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from kg.cli import main
from kg.curate import load_ledger, record
from kg.review import Filters, Item, Review, Workspace, pending, render, run

TINY_CORPUS = Path(__file__).parent / "fixtures" / "tiny_corpus"  # quantum.md, bci.md


@pytest.fixture(autouse=True)
def rules_only(monkeypatch):
    """The queue's behaviour is the subject here, not the learned relations: rules alone."""
    monkeypatch.setenv("TECHKG_RELATION_MODEL", "none")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "corpus"
    shutil.copytree(TINY_CORPUS, corpus)
    return tmp_path


def review(*args: str, input: str = ""):
    return CliRunner().invoke(main, ["review", "corpus", "--curation", "data/curation", "--who", "ann", "-q", *args],
                              input=input)


def ledger_records(project: Path) -> list[dict]:
    path = project / "data/curation/ann.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_queue_is_what_no_decision_covers_most_valuable_first(project):
    ws = Workspace(["corpus"], curation_dir="data/curation")
    items = pending(ws)
    assert items[0] == Item("entity", "product:zorblax", 0.5, 1, ("quantum.md",))  # the least certain
    assert len(items) == len(ws.entities) + len(ws.relations)
    record("data/curation/x.jsonl", "accept", who="ann", target="product:zorblax")
    record("data/curation/x.jsonl", "reject", who="ann", target="organization:ibm|develops|product:heron")
    record("data/curation/x.jsonl", "note", who="ann", target="organization:谷歌", text="a note decides nothing")
    ws.refresh()
    keys = [i.key for i in pending(ws)]
    assert "product:zorblax" not in keys and "organization:ibm|develops|product:heron" not in keys
    assert "organization:谷歌" in keys and len(keys) == len(items) - 2


def test_filters(project):
    ws = Workspace(["corpus"], curation_dir="data/curation")
    assert {i.kind for i in pending(ws, Filters(predicate="develops"))} == {"relation"}
    assert {i.key.split("|")[1] for i in pending(ws, Filters(predicate="develops"))} == {"develops"}
    assert all("bci.md" in i.docs for i in pending(ws, Filters(doc="bci")))
    people = pending(ws, Filters(type="person"))
    assert [i.key for i in people if i.kind == "entity"] == ["person:埃隆·马斯克"]
    assert [i.key for i in people if i.kind == "relation"] == ["person:埃隆·马斯克|affiliatedWith|organization:neuralink"]
    assert [i.key for i in pending(ws, Filters(max_confidence=0.6))] == [
        "product:zorblax", "event:世界人工智能大会|participant|organization:商汤科技"]
    assert all(i.confidence >= 0.9 for i in pending(ws, Filters(min_confidence=0.9)))
    assert {i.kind for i in pending(ws, Filters(kind="entity"))} == {"entity"}


def test_the_card_highlights_the_mention_and_escapes_the_text(project):
    ws = Workspace(["corpus"], curation_dir="data/curation")
    item = next(i for i in pending(ws) if i.key == "organization:商汤科技")
    markup = render(ws, item)
    assert "[reverse]商汤科技[/reverse]参加了大会\\[bold]。" in markup
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(markup)
    assert "商汤科技参加了大会[bold]。" in out.getvalue()
    assert "bci.md · sentence 3 · bci.md#100-104 · lexicon 0.95" in out.getvalue()
    relation = next(i for i in pending(ws) if i.key == "organization:ibm|develops|product:heron")
    markup = render(ws, relation)
    assert "[reverse]IBM[/reverse]" in markup and "[underline]Heron[/underline]" in markup


def test_a_session_driven_by_keys(project):
    keys = "t1" + "mHeron\n" + "u" + "nWukong 量子计算机\n" + "a" + "es" + "r"
    done = review("--kind", "entity", "--type", "Product", input=keys)
    assert done.exit_code == 0, done.output
    assert "Nothing left to review" in done.output and "6 decision(s) saved in data/curation/ann.jsonl" in done.output
    records = ledger_records(project)
    assert [(r["op"], r.get("target"), r.get("type") or r.get("label") or r.get("into")) for r in records] == [
        ("retype", "product:zorblax", "Organization"),
        ("merge", "product:悟空", "product:heron"),
        ("undo", records[1]["id"], None),
        ("rename", "product:悟空", "Wukong 量子计算机"),
        ("accept", "product:heron", None),
        ("reject", "product:sora", None),
    ]
    assert all(r["who"] == "ann" and r["why"] == "kg review" for r in records)
    assert "undone: merge product:悟空 → product:heron" in done.output
    # the next session resumes: only what was skipped is left
    again = review("--kind", "entity", "--type", "Product", input="q")
    assert again.exit_code == 0 and "Willow" in again.output
    assert "Zorblax" not in again.output and "Heron" not in again.output
    assert "0 decision(s) saved in data/curation/ann.jsonl; 1 left to review" in again.output


def test_mention_reject_and_relation_keys(project):
    done = review("--doc", "quantum", "--kind", "entity", "--type", "Technology", input="x" + "q")
    assert done.exit_code == 0, done.output
    first = ledger_records(project)[0]
    assert first["op"] == "reject" and "#" in first["target"] and first["entity"].startswith("technology:")
    done = review("--predicate", "develops", input="t" + "a" + "q")
    assert "relations can be accepted (a), rejected (r) or skipped (s)" in done.output
    assert ledger_records(project)[1]["op"] == "accept" and "|develops|" in ledger_records(project)[1]["target"]


def test_a_bad_merge_target_is_reported_and_nothing_is_written(project):
    done = review("--kind", "entity", input="mnobody\n" + "m\n" + "q")
    assert done.exit_code == 0
    assert "unknown entity 'nobody'" in done.output and "merge cancelled" in done.output
    assert ledger_records(project) == []


def test_ctrl_c_keeps_every_decision_made(project):
    done = review("--kind", "entity", input="a" + "a" + "\x03" + "a")
    assert done.exit_code == 130
    assert "Interrupted: 2 decision(s) saved in data/curation/ann.jsonl" in done.output
    assert [d.op for d in load_ledger("data/curation")] == ["accept", "accept"]


def test_end_of_input_in_a_prompt_is_an_interrupt_too(project):
    done = review("--kind", "entity", input="a" + "n")  # the rename prompt never gets its line
    assert done.exit_code == 130 and "Interrupted: 1 decision(s)" in done.output
    assert [d.op for d in load_ledger("data/curation")] == ["accept"]


class KeysThenInterrupt:
    """A terminal whose user presses some keys, then Ctrl-C (KeyboardInterrupt)."""

    def __init__(self, keys: str) -> None:
        self.keys = list(keys)
        self.shown: list[str] = []

    def show(self, markup: str) -> None:
        self.shown.append(markup)

    def key(self) -> str:
        if not self.keys:
            raise KeyboardInterrupt
        return self.keys.pop(0)

    def prompt(self, text: str) -> str:
        raise KeyboardInterrupt


def test_keyboard_interrupt_leaves_a_valid_ledger(project):
    ws = Workspace(["corpus"], curation_dir="data/curation")
    session = Review(ws, ledger=Path("data/curation/ann.jsonl"), who="ann", filters=Filters(kind="entity"))
    with pytest.raises(KeyboardInterrupt):
        run(session, KeysThenInterrupt("arn"))
    assert [d.op for d in load_ledger("data/curation")] == ["accept", "reject"]
    assert [d.id for d in session.made] == [d.id for d in load_ledger("data/curation")]


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline, seen.decode("utf-8", "replace")[-2000:]
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen.extend(os.read(fd, 65536))
            except OSError:
                break


def _wait_for_raw_mode(fd: int, timeout: float = 30) -> None:
    """click.getchar puts the terminal in raw mode (flushing typeahead): type only then."""
    deadline = time.monotonic() + timeout
    while termios.tcgetattr(fd)[3] & termios.ICANON:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _wait_lines(path: Path, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or len(path.read_bytes().splitlines()) < n:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_killed_review_loses_no_decision(project):
    """A real `kg review` in a terminal (a pty), killed with SIGKILL in the middle of a session."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "kg.cli", "review", "corpus", "--curation", "data/curation",
                                "--who", "ann", "-q", "--kind", "entity"], stdin=slave, stdout=slave, stderr=slave,
                               env=ENV, start_new_session=True)
    os.close(slave)
    ledger = project / "data/curation/ann.jsonl"
    seen = bytearray()
    try:
        for n, key in enumerate(("a", "r", "a"), 1):
            _read_until(master, b"to review)", seen)
            seen.clear()
            _wait_for_raw_mode(master)
            os.write(master, key.encode())
            _wait_lines(ledger, n)
        _read_until(master, b"to review)", seen)  # the next card is waiting for a key
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.returncode == -signal.SIGKILL
    decisions = load_ledger("data/curation")
    assert [d.op for d in decisions] == ["accept", "reject", "accept"]
    assert ledger.read_bytes().endswith(b"\n")
    ws = Workspace(["corpus"], curation_dir="data/curation")
    decided = {d.target for d in decisions}
    assert not decided & {i.key for i in pending(ws)}  # the next session resumes after them


def test_two_sessions_at_once_lose_nothing(project):
    """Two `kg review` processes appending to the same ledger file (keys piped in)."""
    command = [sys.executable, "-m", "kg.cli", "review", "corpus", "--curation", "data/curation", "-q",
               "--file", "data/curation/shared.jsonl", "--kind", "entity"]
    sessions = [subprocess.Popen([*command, "--who", who, "--type", type_], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
                for who, type_ in (("ann", "Technology"), ("bob", "Organization"))]
    outputs = [s.communicate(input=b"aaaaa", timeout=120) for s in sessions]
    assert [s.returncode for s in sessions] == [0, 0], outputs
    decisions = load_ledger("data/curation")
    assert sorted((d.who, d.op) for d in decisions) == [("ann", "accept")] * 5 + [("bob", "accept")] * 5
    assert len({d.target for d in decisions}) == 10
    for out, _ in outputs:
        assert b"5 decision(s) saved in data/curation/shared.jsonl" in out
