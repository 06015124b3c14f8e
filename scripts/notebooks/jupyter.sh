#!/bin/sh
# Runs Jupyter with this project's kernel spec visible (see install-kernel.js), e.g.
#   scripts/notebooks/jupyter.sh notebook notebooks/
#   scripts/notebooks/jupyter.sh kernelspec list
# The same folder serves nbextensions/mla-lab/plotly-<version>.js, which figure outputs load (lib/notebook/plot.ts
# serveBundle copies it there), so figures draw after a page reload.
# Uses Debian's Jupyter (/usr/bin/jupyter) when it is there: a `python3` earlier on PATH (pyenv) may have none.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
# Quiets debugpy's "frozen modules" warning that Python 3.11 Jupyter processes print.
export PYDEVD_DISABLE_FILE_VALIDATION=1
export JUPYTER_PATH="$root/.jupyter-env/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
jupyter=${MLA_JUPYTER:-/usr/bin/jupyter}
if [ ! -x "$jupyter" ]; then
  jupyter=$(command -v jupyter || true)
fi
if [ -z "$jupyter" ]; then
  echo "jupyter.sh: no Jupyter found; install it (Debian: apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel) or set MLA_JUPYTER" >&2
  exit 1
fi
if [ ! -f "$root/.jupyter-env/share/jupyter/kernels/tslab/kernel.json" ]; then
  echo "jupyter.sh: the project kernel is not installed; run: node scripts/notebooks/install-kernel.js" >&2
  exit 1
fi
exec "$jupyter" "$@"
