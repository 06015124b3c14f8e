# Sourced by run-all.sh and diagnose.sh.
# stage NAME SECONDS CMD...: runs CMD under a time limit, banners on stderr (stdout is the command's own), so one
# failing stage costs only its own time.
stage() {
  local name=$1 limit=$2 s rc
  shift 2
  echo "=== $name (limit ${limit}s): $*" >&2
  s=$(date +%s)
  timeout -k 5 "$limit" "$@"
  rc=$?
  echo "=== $name: rc=$rc after $(($(date +%s) - s)) s" >&2
  return $rc
}
