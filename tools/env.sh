# shellcheck shell=bash
# Sourced by the project's tools: the pinned virtualenv first on PATH and the collection under
# test on the collections path (see tools/dev-setup).
kubeha_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$kubeha_root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$kubeha_root/.venv/collections"
export ANSIBLE_FORCE_COLOR=0
export PY_COLORS=0
