# Sourced by the bench/compare_*.sh scripts: one way to time a command as a whole process.
# measure NAME COMMAND...: runs COMMAND (output discarded) and prints "NAME seconds peak_rss_mb".
measure() {
  local name="$1"; shift
  local log; log="$(mktemp)"
  /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>&1 || { echo "$name failed" >&2; cat "$log" >&2; exit 1; }
  read -r secs kb < <(tail -1 "$log"); rm -f "$log"
  local mb=$((kb / 1024))
  # A command whose memory lives in a process it does not wait for (PySpark's JVM) writes that
  # process's peak (MB) to $BENCH_EXTRA_RSS_FILE; it is added.
  if [ -n "${BENCH_EXTRA_RSS_FILE:-}" ] && [ -s "$BENCH_EXTRA_RSS_FILE" ]; then
    mb=$((mb + $(cat "$BENCH_EXTRA_RSS_FILE"))); rm -f "$BENCH_EXTRA_RSS_FILE"
  fi
  echo "$name $secs $mb"
}
