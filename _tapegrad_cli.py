"""The `tapegrad` console script's entry point, outside the package on purpose: importing tapegrad takes a second
or more, and only code that runs before that import can turn a Ctrl-C during it into one line instead of a
traceback from deep inside the import. The command line itself is tapegrad/cli.py."""

import sys


def main() -> int:
    try:
        from tapegrad.cli import main as cli_main
    except KeyboardInterrupt:
        print("tapegrad: interrupted while starting; nothing was written", file=sys.stderr)
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
