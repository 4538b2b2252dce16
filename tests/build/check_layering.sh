#!/bin/sh
# server/, client/ and fusefs/ depend on core/, proto/ and net/ only, never
# on each other; core/ and net/ on nothing above them. Prints every include
# that breaks this and fails.
cd "$(dirname "$0")/../.." || exit 2
bad=0
check() {  # folder, folders it must not include
  dir=$1
  shift
  for other in "$@"; do
    if grep -rn "#include \"$other/" "$dir" --include='*.h' --include='*.cc'; then bad=1; fi
  done
}
check server client fusefs tools
check client server fusefs tools
check fusefs server client tools
check net server client fusefs tools
check core net server client fusefs tools
if [ $bad -ne 0 ]; then
  echo "layering: the includes above cross folders (see DEVELOPING.md, Where things live)" >&2
  exit 1
fi
echo "layering: clean"
