#!/usr/bin/env bash
# Proof that the BYEL change passes Lightly's own checks.
#
# Usage: upstream/check.sh LIGHTLY_CHECKOUT [LOG]
#
# Clones LIGHTLY_CHECKOUT (a clone of lightly-ai/lightly) into a temporary folder at
# the commit upstream/apply.py pins, applies the change there, and runs with
# Lightly's own configuration:
#   1. ruff 0.12.7: `ruff check --select I` and `ruff format --check` on Lightly's
#      Python folders (its `make format-check`), and `ruff check lightly tests`
#      (its `make lint`);
#   2. mypy 1.4.1 on every file the change adds or edits;
#   3. Lightly's tests of every package the change touches (tests/loss,
#      tests/models/modules, tests/transforms, tests/utils, the added tests among
#      them) with --runslow as its CI does, under Python 3.12 with current torch and
#      under Python 3.7 with torch 1.10.2 and torchvision 0.11.3 on the CPU;
#   4. both examples for a few steps under both Pythons (upstream/short_run.py).
# The output goes to the terminal and to LOG (default: upstream-check.log).
#
# Virtual environments: PY312_ENV and PY37_ENV name existing ones to use. Unset,
# they are made once under ${UPSTREAM_ENVS:-$HOME/.cache/lightly-byel-upstream}
# from the interpreters PYTHON312 and PYTHON37 (default: python3.12, python3.7).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
source=$(realpath "${1:?usage: upstream/check.sh LIGHTLY_CHECKOUT [LOG]}")
log=$(realpath "${2:-upstream-check.log}")
pin=$(sed -n 's/^PINNED_COMMIT = "\([0-9a-f]*\)"$/\1/p' "$here/upstream/apply.py")
envs=${UPSTREAM_ENVS:-$HOME/.cache/lightly-byel-upstream}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$log"
exec > >(tee -a "$log") 2>&1

step() { printf '\n== %s (%s s so far)\n' "$1" "$SECONDS"; }

# An environment with Lightly's test dependencies, made once and reused.
make_env() {
    local dir=$1 python=$2
    shift 2
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
        "$dir/bin/pip" install -q "$@" pytest pytest-forked pytest-xdist \
            pytest-mock scipy opencv-python-headless scikit-learn pandas matplotlib \
            toml hydra-core six
    fi
}

step "environments"
py312=${PY312_ENV:-$envs/py312}
py37=${PY37_ENV:-$envs/py37}
# numpy as Lightly's CI pins it (newest before 2025-08-07): mypy 1.4.1 crashes on the
# stubs of current numpy (2.5).
make_env "$py312" "${PYTHON312:-python3.12}" torch torchvision pytorch_lightning \
    torchmetrics timm ruff==0.12.7 mypy==1.4.1 types-toml types-PyYAML numpy==2.3.2
make_env "$py37" "${PYTHON37:-python3.7}" torch==1.10.2 torchvision==0.11.3 \
    "pytorch_lightning==1.6.*" "torchmetrics<0.11" "numpy<1.22" "protobuf<3.21" \
    "setuptools<60" "timm==0.9.9" "scikit-learn<1.1"
for env in "$py312" "$py37"; do
    "$env/bin/python" -c 'import sys, torch, torchvision, pytorch_lightning as pl
print(sys.version.split()[0], "torch", torch.__version__, "torchvision",
      torchvision.__version__, "pytorch_lightning", pl.__version__)'
done

step "clean checkout at $pin"
git clone -q "$source" "$work/lightly"
git -C "$work/lightly" checkout -q "$pin"
cd "$work/lightly"

step "apply"
PATH="$py312/bin:$PATH" "$py312/bin/python" "$here/upstream/apply.py" . | tee "$work/changed"
git add -N .
git diff --stat | tail -1

step "ruff $("$py312/bin/ruff" --version)"
"$py312/bin/ruff" check --select I benchmarks docs examples lightly tests
"$py312/bin/ruff" format --check benchmarks docs examples lightly tests | tail -1
"$py312/bin/ruff" check lightly tests

step "mypy $("$py312/bin/mypy" --version)"
grep '\.py$' "$work/changed" | grep -v '^examples/' | xargs "$py312/bin/mypy"

# Lightly's tests can fail without the change (a new torch breaking an old test):
# a failure counts only if the same test passes on the unchanged commit.
git clone -q "$source" "$work/unchanged"
git -C "$work/unchanged" checkout -q "$pin"
tests=(tests/loss tests/models/modules tests/transforms tests/utils)
failures() {  # env folder -> the failed test ids, sorted
    (cd "$2" && PYTHONPATH=. "$1/bin/python" -m pytest -q -p no:cacheprovider -n 2 \
        --runslow -rf "${tests[@]}" >"$work/pytest.log" 2>&1 || true)
    tail -1 "$work/pytest.log" >&2
    grep '^FAILED' "$work/pytest.log" | sed 's/ - .*//' | sort || true
}
for env in "$py312" "$py37"; do
    step "pytest, $("$env/bin/python" --version)"
    failures "$env" . >"$work/with"
    new=$(grep -v -x -F -f <(failures "$env" "$work/unchanged") "$work/with" || true)
    if [ -n "$new" ]; then
        printf 'failing with the change only:\n%s\n' "$new"
        exit 1
    fi
    echo "$(wc -l <"$work/with") failures, all also on the unchanged commit"
    step "examples, $("$env/bin/python" --version)"
    for example in examples/pytorch/byel.py examples/pytorch_lightning/byel.py; do
        PYTHONPATH=. "$env/bin/python" "$here/upstream/short_run.py" "$example" \
            "$work/data" 2>&1 | tail -1
    done
done

step "all checks passed"
