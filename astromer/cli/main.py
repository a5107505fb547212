"""The ``astromer`` command line.

Each sub-command lives in its own module of ``astromer.cli`` exposing
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed ``args`` and returning an exit code) with ``set_defaults``.
"""

import argparse
import importlib
import os
import sys

# Keep TensorFlow's C++ start-up chatter off the terminal (set before anything imports TF).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import astromer  # noqa: E402  (light: heavy modules load lazily)

# Sub-command modules, in the order ``astromer --help`` lists them.
COMMAND_MODULES = ("presets", "evaluate", "records")


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="astromer",
        description="Astronomy foundation models (Astromer, AstroPT) for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"astromer {astromer.__version__}")
    subparsers = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"astromer.cli.{name}").register(subparsers)
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    _import_tensorflow_quietly()
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, FileNotFoundError, KeyError, TypeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"astromer {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"astromer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
