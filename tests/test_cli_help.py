"""Every --help of the astromer CLI, walked from the parser tree: help text for every option and
positional, true defaults (never "(default: None)"), and an "Examples:" epilog whose examples parse."""

import argparse
import inspect
import re
import shlex

import pandas as pd
import pytest

from astromer.cli import pretrain as pretrain_cli
from astromer.cli.main import build_parser, main


def walk(parser, path=()):
    """``(command path, parser)`` for the parser and every sub-command parser below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))


PARSERS = dict(walk(build_parser()))
COMMANDS = sorted(PARSERS)
# Hidden from --help on purpose: the top-level COMMAND list (its description lists the commands,
# grouped; checked below) and evaluate's --command-line (the command recorded in the report, passed
# by benchmarks/eros1_fewshot.py).
HIDDEN = {((), "command"), (("evaluate",), "--command-line")}


def _id(path):
    return " ".join(("astromer",) + path)


def test_the_walk_finds_every_command():
    assert {_id(p) for p in COMMANDS} == {
        "astromer", "astromer quickstart", "astromer pretrain", "astromer embed", "astromer classify",
        "astromer evaluate", "astromer probe", "astromer records", "astromer records convert", "astromer records inspect",
        "astromer records verify", "astromer records build", "astromer records list", "astromer presets",
        "astromer presets list", "astromer presets download", "astromer presets convert",
        "astromer presets export"}


@pytest.mark.parametrize("path", COMMANDS, ids=_id)
def test_every_option_and_positional_has_help(path):
    parser = PARSERS[path]
    hidden = set()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help and choice.help.strip(), f"{_id(path)} {choice.dest}: no help"
        if action.help == argparse.SUPPRESS:
            hidden.add((path, name))
            continue
        assert action.help and action.help.strip(), f"{_id(path)} {name}: no help"
    assert hidden == {h for h in HIDDEN if h[0] == path}
    if path == ():  # the command list is the description (the sub-parsers action is hidden)
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for choice in commands._choices_actions:
            assert re.search(rf"\n  {choice.dest} +{re.escape(choice.help)}(\n|$)", parser.description)


@pytest.mark.parametrize("path", COMMANDS, ids=_id)
def test_no_meaningless_defaults_and_every_real_default_shown(path):
    parser = PARSERS[path]
    text = parser.format_help()
    assert not re.search(r"\(default: (None|False|\[\])\)", text), text
    formatter = parser._get_formatter()
    for action in parser._actions:
        default = action.default
        if (not action.option_strings or action.help == argparse.SUPPRESS or action.nargs == 0
                or default is None or default is False or default == [] or default == argparse.SUPPRESS):
            continue
        expanded = formatter._expand_help(action)
        assert "default" in expanded, f"{_id(path)} {action.option_strings[0]}: {expanded!r}"
        assert str(default) in expanded.split("default", 1)[1], \
            f"{_id(path)} {action.option_strings[0]} defaults to {default!r}: {expanded!r}"


def _examples(text):
    """The command lines of the help's "Examples:" block (continuations joined, comments dropped)."""
    block = text.split("\nExamples:\n", 1)[1]
    lines, current = [], ""
    for raw in block.splitlines():
        if not raw.startswith("  "):
            break
        current += " " + raw.strip()
        if current.endswith("\\"):
            current = current[:-1]
            continue
        lines.append(shlex.split(current, comments=True))
        current = ""
    return lines


@pytest.mark.parametrize("path", COMMANDS, ids=_id)
def test_every_help_has_examples_that_parse(path):
    text = PARSERS[path].format_help()
    assert "\nExamples:\n" in text
    examples = _examples(text)
    assert examples
    own = [argv for argv in examples if argv[:1 + len(path)] == ["astromer", *path]
           or argv[1:2 + len(path)] == ["astromer", *path]]
    assert own, f"no example of {_id(path)} in {examples}"
    for argv in examples:
        while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):  # ENV=VALUE astromer ...
            argv = argv[1:]
        assert argv[0] == "astromer", argv
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit as exc:  # a usage error: the example is wrong
            pytest.fail(f"example {' '.join(argv)!r} of {_id(path)} does not parse (exit {exc.code})")


def test_help_output_of_the_command_line_is_the_walked_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["records", "convert", "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == PARSERS[("records", "convert")].format_help()


def _option_help(path, option):
    parser = PARSERS[path]
    action = next(a for a in parser._actions if option in a.option_strings)
    return " ".join(parser._get_formatter()._expand_help(action).split())


def test_convert_states_the_defaults_its_code_applies(tmp_path):
    """--splits/--seed/--shard-size are None in argparse (build passes None for "the recipe's");
    convert applies its own defaults: the ones its help states, as a real conversion records."""
    from astromer.data.splits import parse_split_spec

    stated = {opt: re.search(r"\(default: ([^)]+)\)", _option_help(("records", "convert"), opt)).group(1)
              for opt in ("--splits", "--seed", "--shard-size")}
    assert stated == {"--splits": "0.8,0.1,0.1", "--seed": "0", "--shard-size": "1000"}
    rows = [(f"s{k}", "r", float(t), 15.0 + 0.1 * t, 0.05) for k in range(20) for t in range(5)]
    pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"]).to_csv(tmp_path / "lc.csv",
                                                                                       index=False)
    pd.DataFrame({"object_id": [f"s{k}" for k in range(20)], "label": ["a", "b"] * 10}).to_csv(
        tmp_path / "labels.csv", index=False)
    code = main(["records", "convert", str(tmp_path / "lc.csv"), "--labels", str(tmp_path / "labels.csv"),
                 "-o", str(tmp_path / "ds"), "--quiet"])
    assert code == 0
    from astromer.records import read_metadata

    options = read_metadata(tmp_path / "ds")["options"]
    assert options["seed"] == int(stated["--seed"])
    assert options["shard_size"] == int(stated["--shard-size"])
    assert options["splits"] == parse_split_spec(stated["--splits"]).to_dict()
    for opt in ("--splits", "--seed", "--shard-size"):
        assert _option_help(("records", "build"), opt).endswith("(default: the recipe's)")


def test_cleaning_defaults_stated_are_the_library_defaults():
    from astromer.data.cleaning import ABSURD_MAG, ABSURD_MAX_ERR, ABSURD_TIME, DEFAULT_SENTINELS
    from astromer.records.sources import raw_folder_source

    path = ("records", "convert")
    low, high = re.search(r"\(default: (-?[\d.]+),(-?[\d.]+);", _option_help(path, "--absurd-mag")).groups()
    assert (float(low), float(high)) == ABSURD_MAG
    assert float(re.search(r"\(default: ([\d.]+);", _option_help(path, "--absurd-max-err")).group(1)) \
        == ABSURD_MAX_ERR
    assert float(re.search(r"\(default: ([\d.e]+),", _option_help(path, "--absurd-time")).group(1)) == ABSURD_TIME
    listed = re.search(r"\(default: ([^;]+);", _option_help(path, "--err-sentinels")).group(1)
    values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", listed)]
    assert len(values) >= 6 and set(values) <= set(DEFAULT_SENTINELS)
    assert "the same list as --err-sentinels" in _option_help(path, "--mag-sentinels")
    metadata_default = inspect.signature(raw_folder_source).parameters["metadata"].default
    assert _option_help(path, "--metadata").endswith(f"(default: {metadata_default})")


def test_pretrain_window_size_default_is_the_model_s():
    stated = _option_help(("pretrain",), "--window-size")
    assert stated.endswith("(default: 100 for 'small', 200 for the others; a preset keeps its own)")
    for architecture, window in (("small", 100), ("modern", 200), ("astromer_v1", 200)):
        args = argparse.Namespace(preset=None, model=None, architecture=architecture, window_size=None)
        assert pretrain_cli._model(args).window_size == window


def test_quickstart_tiny_lists_what_it_changes():
    from astromer.cli.quickstart import TINY

    stated = _option_help(("quickstart",), "--tiny")
    for key, value in TINY.items():
        assert re.search(rf"--{key.replace('_', '-')} {value}(,| \(options not given on the command line\))",
                         stated), key


def test_quickstart_tiny_keeps_the_options_given():
    """``--tiny`` fills only what the command line left out; without it the parser's defaults hold."""
    from astromer.cli.main import build_parser
    from astromer.cli.quickstart import PARSER_DEFAULTS, TINY, _fill_defaults

    tiny = _fill_defaults(build_parser().parse_args(["quickstart", "--tiny", "--shots", "20", "--folds", "3"]))
    assert (tiny.shots, tiny.folds, tiny.objects, tiny.epochs) == (20, 3, TINY["objects"], TINY["epochs"])
    plain = _fill_defaults(build_parser().parse_args(["quickstart", "--shots", "5"]))
    assert plain.shots == 5 and all(getattr(plain, k) == v for k, v in PARSER_DEFAULTS.items() if k != "shots")


def test_light_curve_commands_default_to_one_preset():
    """classify, evaluate, embed and AstromerEmbedder share astromer.defaults.LIGHT_CURVE_PRESET,
    a light-curve (Astromer) preset that exists."""
    import astromer
    from astromer.defaults import LIGHT_CURVE_PRESET
    from astromer.presets.registry import get_preset

    assert LIGHT_CURVE_PRESET == "astromer_v1_atlas" and get_preset(LIGHT_CURVE_PRESET)["class"] == "Astromer"
    for command in ("classify", "evaluate", "embed"):
        defaults = {a.dest: a.default for a in PARSERS[(command,)]._actions}
        assert defaults["preset"] == LIGHT_CURVE_PRESET, command
    assert astromer.AstromerEmbedder().get_params()["preset"] == LIGHT_CURVE_PRESET
