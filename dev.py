#!/usr/bin/env python3
"""Cordon's developer entry point; needs nothing but Python 3.11+.

    python3 dev.py demo [--keep-running]   set up, then run the three-agency demo
    python3 dev.py test [pytest args]      set up, then run the whole test suite
    python3 dev.py lint                    ruff and mypy --strict
    python3 dev.py bench NAME              run bench/NAME.py

Set-up creates ``.venv`` and installs Cordon with its pinned dependencies (constraints.txt)
the first time, and again whenever pyproject.toml or constraints.txt change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".cordon-installed"


def _run(*args: str | Path) -> None:
    process = subprocess.Popen([str(a) for a in args], cwd=ROOT)  # noqa: S603
    while True:
        try:
            returncode = process.wait()
            break
        except KeyboardInterrupt:
            # Ctrl-C reached the child too: let it shut down in its own time (the demo stops
            # its three nodes), instead of killing it mid-cleanup.
            continue
    if returncode != 0:
        sys.exit(returncode)


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py itself must run on any python3
        sys.exit(f"Cordon needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing Cordon and its dependencies into .venv ...", flush=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[dev]")
    STAMP.write_text(wanted + "\n")


def main(argv: list[str]) -> None:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    setup()
    if command == "demo":
        _run(BIN / "cordon", "demo", *rest)
    elif command == "test":
        _run(BIN / "python", "-m", "pytest", *rest)
    elif command == "lint":
        _run(BIN / "ruff", "check", "gateway", "policies", "connectors", "crypto", "tests", "bench")
        _run(BIN / "mypy")
    elif command == "bench":
        if not rest:
            sys.exit("usage: python3 dev.py bench NAME [args]")
        _run(BIN / "python", f"bench/{rest[0]}.py", *rest[1:])
    elif command == "setup":
        return
    else:
        sys.exit(f"unknown command {command!r}; see python3 dev.py --help")


if __name__ == "__main__":
    main(sys.argv[1:])
