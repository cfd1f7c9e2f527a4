"""`claims --help` of every command says what each option does and what it defaults to."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from flows.cli import build_parser


def _options(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.Action]]:
    """(command path, option) of every option of every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            yield path, action


OPTIONS = list(_options(build_parser()))


@pytest.mark.parametrize(
    ("path", "action"),
    OPTIONS,
    ids=[f"{' '.join(p)} {a.option_strings[0]}" for p, a in OPTIONS],
)
def test_every_option_has_help_and_names_its_default(path, action):
    assert action.help, f"claims {' '.join(path)} {action.option_strings[0]} has no help text"
    default = action.default
    if default not in (None, False, True, argparse.SUPPRESS):
        assert "default" in action.help, (
            f"claims {' '.join(path)} {action.option_strings[0]}: the help does not say its "
            f"default ({default})"
        )


def test_out_and_tables_show_their_default_in_help(capsys):
    parser = build_parser()
    for argv in (["run", "--help"], ["report", "--help"], ["review", "serve", "--help"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: outputs)" in text, argv
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-progress no progress bar" in text
