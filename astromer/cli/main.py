"""The ``astromer`` command line.

Each sub-command lives in its own module of ``astromer.cli`` exposing
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed ``args`` and returning an exit code) with ``set_defaults``.
"""

import argparse
import importlib
import logging
import os
import sys

# Keep TensorFlow's C++ start-up chatter off the terminal (set before anything imports TF).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import astromer  # noqa: E402  (light: heavy modules load lazily)
from astromer.errors import AstromerError  # noqa: E402

# Sub-command modules, in the order ``astromer --help`` lists them.
COMMAND_MODULES = ("quickstart", "pretrain", "embed", "classify", "evaluate", "probe", "records", "presets")

# How ``astromer --help`` groups the commands (astropy/lightkurve style: short lines, examples below).
COMMAND_GROUPS = (
    ("Getting started", ("quickstart",)),
    ("Models", ("pretrain", "embed", "classify", "evaluate", "probe")),
    ("Data and weights", ("records", "presets")),
)

EPILOG = """Examples:
  astromer quickstart                                # the main job: simulate, pretrain, classify, report
  astromer presets list                              # published weights
  astromer records convert lightcurves.csv --labels labels.csv -o my_records
  astromer pretrain my_records -o my_model --epochs 20
  astromer embed my_records -o embeddings.parquet --preset astromer_v1
  astromer classify my_records -o my_classifier --preset astromer_v1 --scenario a
  astromer evaluate ../shared/data/eros1 -o eros1_report --shots 20,100
  astromer pretrain galaxies/ -o my_astropt --minutes 20     # AstroPT on a folder of class subfolders
  astromer embed galaxies/ -o galaxy_embeddings.parquet --model my_astropt
  astromer probe galaxies/ --model my_astropt -o probe_report   # vs random init and raw pixels

Run 'astromer COMMAND --help' for the options of a command. Python API and tutorials:
README.md and tutorials/ (also https://github.com/astromer-science)."""


class CLIError(AstromerError):
    """An error reported to the user as one line, without a traceback."""


class HelpFormatter(argparse.HelpFormatter):
    """The help layout of every astromer (sub)command.

    Descriptions and epilogs: a paragraph (blank-line separated) with an
    indented line is printed as written (the "Examples:" blocks, command
    lists); other paragraphs are wrapped to the terminal width.
    An option's help gets "(default: X)" appended when X is a real value:
    not when the help already states its default (it mentions "default"),
    nor for None (nothing given means "not used" or a default chosen in code,
    which the help then states), False (flags), empty lists or suppressed values.
    """

    def _fill_text(self, text, width, indent):
        blocks = []
        for block in text.split("\n\n"):
            lines = block.splitlines()
            if any(line[:1].isspace() for line in lines):
                blocks.append("\n".join(indent + line for line in lines))
            else:
                blocks.append(super()._fill_text(block, width, indent))
        return "\n\n".join(blocks)

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or not action.option_strings or action.nargs == 0
                or default is None or default is False or default is argparse.SUPPRESS
                or (isinstance(default, (list, tuple)) and not default)):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


# argparse's stock formatters become HelpFormatter, so that every sub-command shows defaults alike.
_STOCK_FORMATTERS = (argparse.HelpFormatter, argparse.RawDescriptionHelpFormatter,
                     argparse.ArgumentDefaultsHelpFormatter)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``astromer CMD: error: ... (see 'astromer CMD --help')``,
    and :class:`HelpFormatter` for every (sub)command."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        if formatter_class in _STOCK_FORMATTERS:
            formatter_class = HelpFormatter
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _command_list(subparsers):
    helps = {a.dest: a.help for a in subparsers._choices_actions}
    width = max(len(n) for n in helps) + 2
    lines = []
    for title, names in COMMAND_GROUPS:
        names = [n for n in names if n in helps]
        if names:
            lines.append(f"{title}:" if not lines else f"\n{title}:")
            lines += [f"  {n.ljust(width)}{helps[n]}" for n in names]
    rest = [n for n in helps if not any(n in g for _, g in COMMAND_GROUPS)]
    if rest:
        lines.append("Other:")
        lines += [f"  {n.ljust(width)}{helps[n]}" for n in rest]
    return "\n".join(lines)


def build_parser():
    parser = ArgumentParser(
        prog="astromer",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"astromer {astromer.__version__}")
    subparsers = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                       help=argparse.SUPPRESS)
    parser.usage = "astromer [-h] [--version] COMMAND [options]"  # after add_subparsers: keeps sub-command progs
    for name in COMMAND_MODULES:
        importlib.import_module(f"astromer.cli.{name}").register(subparsers)
    parser.description = (
        "Astronomy foundation models for Keras 3: Astromer (light curves) and AstroPT (galaxy images).\n\n"
        + _command_list(subparsers))
    return parser


def _import_tensorflow_quietly():
    """Import TensorFlow with the process's stderr closed: its native start-up logging
    ignores TF_CPP_MIN_LOG_LEVEL and would drown one-line error messages."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _subparser_for(parser, argv):
    """The deepest sub-command parser named in ``argv`` (for its usage errors)."""
    current = parser
    for token in argv:
        actions = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if actions and token in actions[0].choices:
            current = actions[0].choices[token]
    return current


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        _subparser_for(parser, argv).error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    args.argv = argv  # what was parsed, for commands that record their own command line
    _show_package_log()
    _import_tensorflow_quietly()
    import warnings

    # Keras notes that are noise on a terminal (tf.data inputs of unknown length, shuffled upstream).
    warnings.filterwarnings("ignore", message=".*input ran out of data.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
    shown = warnings.showwarning
    _SHOWN.clear()
    if os.environ.get("ASTROMER_DEBUG") != "1":
        warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except (AstromerError, ValueError, FileNotFoundError, KeyError, TypeError, OSError) as exc:
        if os.environ.get("ASTROMER_DEBUG") == "1":
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"astromer {args.command}: error: {_one_line(message)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"astromer {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # anything else: still one line (ASTROMER_DEBUG=1 shows the traceback)
        if os.environ.get("ASTROMER_DEBUG") == "1":
            raise
        print(f"astromer {args.command}: error: {type(exc).__name__}: {_one_line(exc)} "
              "(set ASTROMER_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown


_SHOWN = set()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning on the terminal as one ``[warning] ...`` line, each text once per command (the
    cleaning report of the same curves would otherwise repeat at every step that cleans them),
    above any progress bar. ``ASTROMER_DEBUG=1`` keeps Python's format, with the source line."""
    from tqdm import tqdm

    text = _one_line(message)
    if text not in _SHOWN:
        _SHOWN.add(text)
        tqdm.write(f"[warning] {text}", file=sys.stderr)


class _TerminalLog(logging.Handler):
    """The package's log lines on the terminal as ``[evaluate] message`` (the logger's last name),
    written to whatever ``sys.stdout`` is at the time."""

    def emit(self, record):
        print(f"[{record.name.rsplit('.', 1)[-1]}] {record.getMessage()}", flush=True)


def _show_package_log():
    logger = logging.getLogger("astromer")
    if not any(isinstance(h, _TerminalLog) for h in logger.handlers):
        logger.addHandler(_TerminalLog())
    logger.setLevel(logging.INFO)


def command_line(argv=None):
    """The command as typed (``astromer ...``, arguments shell-quoted), for result files."""
    import shlex

    return "astromer " + " ".join(shlex.quote(str(a)) for a in (sys.argv[1:] if argv is None else argv))


def _one_line(message):
    text = " ".join(str(message).split())
    return text if len(text) <= 600 else text[:597] + "..."


if __name__ == "__main__":
    sys.exit(main())
