#!/bin/sh
# Run pytest; exit code 5 ("no tests collected") is a failure of its own with a clear message,
# never a silent green.
"$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests for: $*" >&2
  echo "fix: check the -m/-k selection or the tests/ folder" >&2
fi
exit "$rc"
