"""Execute the notebooks and write copies with their outputs (figures as PNG) to docs/notebooks/.

    python notebooks/execute.py                  # all of them, 50,000 agents, 4 replicates
    python notebooks/execute.py 01_quickstart    # one (name or prefix)
    python notebooks/execute.py --agents 20000   # smaller populations (MIGSIM_NB_AGENTS)

The notebooks in this directory stay committed with outputs cleared (tests/test_notebooks.py
checks it); the executed copies are what the documentation site and a code host show. Re-run
this after changing a notebook or a default that moves its results, and commit the copies.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbclient.exceptions
import nbformat

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "docs" / "notebooks"
ENV = {"MIGSIM_NB_AGENTS": "50000", "MIGSIM_NB_REPLICATES": "4", "MPLBACKEND": "Agg"}


def execute(src: Path, out_dir: Path = OUT) -> Path:
    """Run ``src`` top to bottom in a fresh kernel; write the executed copy into ``out_dir``."""
    nb = nbformat.read(src, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**ENV, "TMPDIR": tmp}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                    resources={"metadata": {"path": str(HERE)}}).execute()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    nb.metadata.pop("widgets", None)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / src.name
    nbformat.write(nb, dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebooks to run (name or prefix); default all")
    ap.add_argument("--agents", default=ENV["MIGSIM_NB_AGENTS"])
    ap.add_argument("--replicates", default=ENV["MIGSIM_NB_REPLICATES"])
    args = ap.parse_args(argv)
    ENV.update(MIGSIM_NB_AGENTS=str(args.agents), MIGSIM_NB_REPLICATES=str(args.replicates))
    names = sorted(HERE.glob("*.ipynb"))
    if args.names:
        names = [p for p in names if any(p.stem.startswith(a) for a in args.names)]
    failed = []
    for src in names:
        t0 = time.perf_counter()
        try:
            dest = execute(src)
        except nbclient.exceptions.CellExecutionError as exc:
            failed.append(src.name)
            print(f"{src.name}: FAILED, copy not written\n{str(exc)[-2000:]}", file=sys.stderr)
            continue
        kb = dest.stat().st_size / 1024
        print(f"{dest.relative_to(HERE.parent)}: {time.perf_counter() - t0:.0f} s, {kb:.0f} kB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
