#!/usr/bin/env bash
# Incremental editable build of ember (C++ library + Python module).
# Serialized with a lock so several shells can call it safely.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/ember-build.lock pip install --no-build-isolation -q -e . "$@"
