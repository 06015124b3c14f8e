"""Executes one notebook with a real Jupyter kernel (nbclient) and writes the executed copy.

    /usr/bin/python3 scripts/notebooks/execute.py IN.ipynb OUT.ipynb --kernel tslab --timeout 900

Run by scripts/notebooks/run-all.js, which sets JUPYTER_PATH so the project's kernel spec is found. Cells run
one by one so a failure names its cell; the executed copy is written even when a cell fails, so its outputs can
be read. The last line on stdout is a JSON summary: {"ok", "seconds", "cells": [{"index", "seconds"}],
"failed": {"index", "source", "stderr"} | null}.

tslab answers a failed cell with status "error" but no traceback; the error text is in the cell's stderr
stream, so that is what the summary reports.
"""
import argparse
import json
import os
import sys
import time

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
except ImportError as err:  # pragma: no cover - depends on the machine
    print(
        f"execute.py: {err}; run this with a Python that has nbclient "
        "(Debian: apt-get install python3-nbclient python3-ipykernel, then use /usr/bin/python3)",
        file=sys.stderr,
    )
    sys.exit(3)


def cell_stderr(cell):
    """The text a cell wrote to stderr plus any error outputs, which is where tslab puts its messages."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("dest")
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    ap.add_argument("--cwd", default=None, help="kernel working directory (default: the notebook's folder)")
    args = ap.parse_args()

    nb = nbformat.read(args.source, as_version=4)
    cwd = args.cwd
    if cwd is None:
        cwd = os.path.dirname(os.path.abspath(args.source))
    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=120,
        # Kill the kernel at the end instead of asking it to quit: a kernel that still holds the figure
        # browser (lib/notebook/browser.ts) would otherwise keep Jupyter waiting its 5 s grace period.
        shutdown_kernel="immediate",
        resources={"metadata": {"path": cwd}},
    )
    summary = {"ok": True, "seconds": 0.0, "cells": [], "failed": None}
    start = time.monotonic()
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t0 = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except (CellExecutionError, CellTimeoutError) as err:
                    summary["ok"] = False
                    reason = "timed out" if isinstance(err, CellTimeoutError) else "failed"
                    summary["failed"] = {
                        "index": index,
                        "reason": reason,
                        "source": cell.source,
                        "stderr": cell_stderr(cell) or str(err),
                    }
                    break
                finally:
                    summary["cells"].append({"index": index, "seconds": round(time.monotonic() - t0, 3)})
    finally:
        summary["seconds"] = round(time.monotonic() - start, 3)
        nbformat.write(nb, args.dest)
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
