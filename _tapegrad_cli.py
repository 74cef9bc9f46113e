"""The `tapegrad` console script's entry point, outside the package on purpose: importing tapegrad takes a second
or more, and only code that runs before that import can make a Ctrl-C during it end with one line instead of a
traceback. The command line itself is tapegrad/cli.py."""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    # Exit at once rather than raise KeyboardInterrupt: nothing is written before the import ends, and a module
    # under import may turn the exception into an ImportError with a traceback (numpy does).
    sys.stderr.write("tapegrad: interrupted while starting; nothing was written\n")
    sys.stderr.flush()
    os._exit(130)


def main() -> int:
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # not when Ctrl-C is ignored (nohup, a background job)
        signal.signal(signal.SIGINT, _interrupted_while_starting)
    try:
        from tapegrad.cli import main as cli_main
    finally:
        signal.signal(signal.SIGINT, previous)
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
