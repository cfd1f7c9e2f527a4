#!/usr/bin/env bash
# Train the two trainable parts side by side (one core each) and fail if either fails.
set -euo pipefail
python=${PYTHON:-python}
build=${BUILD:-models/build/train}
mkdir -p "$build"
"$python" -m spacy train models/configs/syntax.cfg --output "$build/syntax" > "$build/syntax.log" 2>&1 &
syntax=$!
"$python" -m spacy train models/configs/ner.cfg --output "$build/ner" > "$build/ner.log" 2>&1 &
ner=$!
status=0
wait $syntax || { echo "syntax training failed: see $build/syntax.log"; status=1; }
wait $ner || { echo "ner training failed: see $build/ner.log"; status=1; }
tail -n 3 "$build/syntax.log" "$build/ner.log"
exit $status
