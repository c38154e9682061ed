#!/bin/sh
# The layers of init/ depend one way only: core <- sys <- ops <- pid1. Every
# quoted include of a layer's sources must name a header of its own layer or
# of one below; the on-device CLI may reach ops, the host bundle tool sys, and
# neither the PID-1's own code. The build enforces most of this through each
# library's include path; this also catches relative paths ("../pid1/x.h").
#   check_layers.sh TOP
set -u
top=$1
rank() {
  case $1 in core) echo 0 ;; sys) echo 1 ;; ops) echo 2 ;; pid1) echo 3 ;; *) echo 9 ;; esac
}
# layer_of HEADER: the init/ folder holding it, or nothing.
layer_of() {
  for d in core sys ops pid1; do
    [ -f "$top/init/$d/$1" ] && { echo "$d"; return; }
  done
}
bad=0
check() {  # check FILE MAX_RANK WHO
  grep -o '^#include "[^"]*"' "$1" | sed 's/^#include "\(.*\)"$/\1/' | while read -r inc; do
    case $inc in
      */*) echo "$1: #include \"$inc\": a path; include by name, the layer's include directory decides"; echo x ;;
      *)
        own=$(dirname "$1")
        [ -f "$own/$inc" ] && [ "${own#"$top"/init/}" = "$own" ] && continue  # the tool's own header
        l=$(layer_of "$inc")
        [ -n "$l" ] || { echo "$1: #include \"$inc\": no such header in init/"; echo x; continue; }
        if [ "$(rank "$l")" -gt "$2" ]; then echo "$1: #include \"$inc\" from init/$l/, above $3"; echo x; fi ;;
    esac
  done
}
out=$(
  for d in core sys ops pid1; do
    for f in "$top"/init/$d/*.h "$top"/init/$d/*.cpp; do check "$f" "$(rank $d)" "init/$d/"; done
  done
  for f in "$top"/tools/cli/*.h "$top"/tools/cli/*.cpp; do check "$f" 2 "the CLI (up to init/ops/)"; done
  for f in "$top"/tools/bundle/*.cpp; do check "$f" 1 "the bundle tool (up to init/sys/)"; done
)
printf '%s\n' "$out" | grep -v '^x$' | grep . && bad=1
n=$(printf '%s\n' "$out" | grep -c '^x$')
[ "$bad" = 0 ] && { echo "layers: every include goes down or sideways"; exit 0; }
echo "layers: $n include(s) break the direction"
exit 1
