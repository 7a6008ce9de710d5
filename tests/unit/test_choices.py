"""The choices `python -m mmembed --help` lists are the ones the library accepts: one torch-free home for both."""

from mmembed import choices, cli, index, precision
from mmembed.training import query_forms


def test_the_library_takes_the_same_choices():
    assert precision.PRECISIONS == choices.PRECISIONS
    assert index.KINDS == choices.INDEX_KINDS
    assert query_forms.LANGUAGES == choices.LANGUAGES


def test_the_command_line_offers_them():
    commands = next(action for action in cli.parser()._actions if action.dest == "command").choices
    offered = {
        (command, action.dest): tuple(action.choices)
        for command, subparser in commands.items()
        for action in subparser._actions
        if action.choices is not None
    }
    assert offered == {
        ("search", "precision"): choices.PRECISIONS,
        ("index", "precision"): choices.PRECISIONS,
        ("index", "kind"): choices.INDEX_KINDS,
        ("index", "engine"): choices.ENGINES,
        ("cache", "action"): ("info", "clear"),
        ("viz", "lang"): choices.LANGUAGES,
    }
