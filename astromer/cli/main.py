"""The ``astromer`` command line."""

import argparse
import sys

import astromer


def build_parser():
    parser = argparse.ArgumentParser(
        prog="astromer",
        description="Astronomy foundation models (Astromer, AstroPT) for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"astromer {astromer.__version__}")
    parser.add_subparsers(dest="command", title="commands")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
