"""The ``araevent`` command line: one subcommand per module in ``araevent.commands``.

Each command module has a docstring (its help), ``add_arguments(parser)`` and
``run(args) -> int``. Errors meant for the user are printed as one line with no
traceback: exit 1 for data errors, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from araevent.errors import AraEventError, DataError

COMMANDS = {
    "validate": "araevent.commands.validate",
    "convert": "araevent.commands.convert",
    "build-sample": "araevent.commands.build_sample",
    "score": "araevent.commands.score",
    "compare": "araevent.commands.compare",
    "predict": "araevent.commands.predict",
    "publish": "araevent.commands.publish",
    "robustness": "araevent.commands.robustness",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand that is installed."""
    parser = argparse.ArgumentParser(
        prog="araevent", description="Arabic event and entity extraction."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # a command that is not built yet
            raise
        doc = (module.__doc__ or "").strip()
        p = sub.add_parser(
            name,
            help=doc.splitlines()[0] if doc else None,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``araevent`` console script."""
    from araevent.entrypoints import skip_last_collection

    skip_last_collection()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except DataError as exc:
        print(f"araevent {args.command}: {exc}", file=sys.stderr)
        return 1
    except AraEventError as exc:
        print(f"araevent {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
