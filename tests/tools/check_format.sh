#!/bin/sh
# Every C and C++ source git tracks is clang-formatted (.clang-format).
#   check_format.sh TOP
set -u
cd "$1" || exit 1
bad=$(git ls-files '*.c' '*.cpp' '*.h' | while read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
[ -z "$bad" ] && { echo "format: every source is clang-formatted"; exit 0; }
echo "format: not clang-formatted (run clang-format -i on them):"
echo "$bad"
exit 1
