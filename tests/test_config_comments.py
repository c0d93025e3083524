"""Comment lines stay above the key they describe when keys are inserted, replaced or removed."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from ilabfs.config.comments import insert_entry, insert_in_order, remove_entry, replace_entry, set_end_of_line_comment
from ilabfs.config.document import dump, parse


def _load(text: str) -> CommentedMap:
    return parse(text, "config.yaml")[0]


def test_insert_keeps_comment_above_next_key():
    document = _load("a: 1  # one\n# about c\nc: 3\n")
    insert_entry(document, 1, "b", 2)
    assert dump(document) == "a: 1  # one\nb: 2\n# about c\nc: 3\n"


def test_insert_after_section_keeps_comment_above_next_key():
    document = _load("a:\n  x: 1\n  # about y\n  y: 2\n# about c\nc: 3\n")
    insert_entry(document, 1, "b", CommentedMap([("root", None)]))
    assert dump(document) == "a:\n  x: 1\n  # about y\n  y: 2\nb:\n  root:\n# about c\nc: 3\n"


def test_insert_after_block_sequence():
    document = _load("a:\n- 1\n- 2\n# about c\nc: 3\n")
    insert_entry(document, 1, "b", 2)
    assert dump(document) == "a:\n- 1\n- 2\nb: 2\n# about c\nc: 3\n"


def test_insert_in_order_keeps_file_order():
    document = _load("version: 2\nchat: {}\ntrain: {}\n")
    insert_in_order(document, "serve", {}, ["chat", "serve", "train", "version"])
    assert list(document) == ["version", "chat", "serve", "train"]


def test_replace_keeps_comments_above_on_and_below():
    document = _load("# above\nhost_port: 0.0.0.0:9000  # public\n# about next\nnext: 1\n")
    replace_entry(document, "host_port", "server", CommentedMap([("host", "0.0.0.0"), ("port", 9000)]))
    assert dump(document) == "# above\nserver:\n  host: 0.0.0.0\n  port: 9000             # public\n# about next\nnext: 1\n"


def test_remove_returns_end_of_line_comment():
    document = _load("a: 1\nb: 2  # bee\n# about c\nc: 3\n")
    assert remove_entry(document, "b") == "# bee"
    assert dump(document) == "a: 1\n# about c\nc: 3\n"


def test_remove_first_key_keeps_lines_for_next():
    document = _load("section:\n  b: 2\n  # about c\n  c: 3\n")
    assert remove_entry(document["section"], "b") is None
    assert dump(document) == "section:\n  # about c\n  c: 3\n"


def test_end_of_line_comment_keeps_lines_below():
    document = _load("a: 1\n# about b\nb: 2\n")
    set_end_of_line_comment(document, "a", "# note")
    assert dump(document) == "a: 1  # note\n# about b\nb: 2\n"
