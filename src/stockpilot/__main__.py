"""``python -m stockpilot``: the same as the ``stockpilot`` command."""

from stockpilot.cli.main import run

if __name__ == "__main__":
    run()
