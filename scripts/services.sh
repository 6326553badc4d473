#!/usr/bin/env bash
# scripts/services.sh - run REAL Kafka and HDFS locally (no Docker) for examlake.
#
# Usage:
#   scripts/services.sh up     [kafka|hdfs|all]   start (idempotent), wait until healthy
#   scripts/services.sh down   [kafka|hdfs|all]   stop (SIGTERM, then SIGKILL after a timeout)
#   scripts/services.sh status [kafka|hdfs|all]   one line per service; exit 0 iff all listed run
#   scripts/services.sh reset  [kafka|hdfs|all]   down, then delete the data (jars are kept)
#   scripts/services.sh fetch  [kafka|hdfs|all]   only download the jars (Maven Central -> ~/.m2)
#   scripts/services.sh env                       print export lines (KAFKA_BOOTSTRAP, HDFS_URL, ...)
#   scripts/services.sh kafka-topics ARGS...      org.apache.kafka.tools.TopicCommand
#                                                 (--bootstrap-server is added if absent)
#   scripts/services.sh kafka-console-producer ARGS...
#                                                 org.apache.kafka.tools.ConsoleProducer
#   scripts/services.sh kafka-console-consumer ARGS...
#                                                 org.apache.kafka.tools.consumer.ConsoleConsumer
#                                                 (--bootstrap-server added if absent)
#   scripts/services.sh kafka-class CLASS ARGS... any class on the Kafka classpath, e.g.
#                                                 org.apache.kafka.tools.AclCommand
#                                                 With KAFKA_AUTH=scram, kafka-topics and kafka-console-*
#                                                 (not kafka-class) act as the admin: they add
#                                                 --command-config <admin config> unless ARGS give one
#   scripts/services.sh kafka-tenant add NAME [PASSWORD]
#                                                 KAFKA_AUTH=scram only: SCRAM user tenant-NAME that may
#                                                 Write+Describe topic assessments.NAME, nothing else;
#                                                 prints the generated password if none is given
#   scripts/services.sh kafka-tenant remove NAME  delete those ACLs and the SCRAM user tenant-NAME
#   scripts/services.sh kafka-ingest-user NAME [PASSWORD]
#                                                 KAFKA_AUTH=scram only: SCRAM user NAME that may Read+
#                                                 Describe topics assessments.* and Read groups examlake-*
#   scripts/services.sh hdfs-dfs ARGS...          org.apache.hadoop.fs.FsShell ("hdfs dfs")
#   scripts/services.sh hdfs-class CLASS ARGS...  any class on the HDFS classpath, e.g.
#                                                 org.apache.hadoop.hdfs.tools.DFSAdmin -report
#   scripts/services.sh help
#
# What runs (all bound to 127.0.0.1, all state under <repo>/.services/, git-ignored):
#   kafka  Apache Kafka 4.3.1, one KRaft node (broker+controller), PLAINTEXT
#          client listener 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT
#          .services/kafka/{data/,server.properties,server.log,kafka.pid}
#          KAFKA_AUTH=scram: SASL_PLAINTEXT + SCRAM-SHA-256 on the client listener, SASL/PLAIN
#          on the controller listener, StandardAuthorizer (deny unless an ACL allows),
#          super user admin, password in .services/kafka/admin.password (chosen at format)
#   hdfs   Apache Hadoop 3.5.0 NameNode + one DataNode (separate JVMs), SIMPLE auth,
#          dfs.permissions.enabled=true, superuser = $HDFS_SUPERUSER (the NameNode's user)
#          .services/hdfs/{name/,data/,conf/,namenode.log,datanode.log,*.pid}
# Jars come from Maven Central via scripts/services/pom-{kafka,hdfs}.xml
# (mvn dependency:copy-dependencies -> .services/lib/{kafka,hdfs}); they are copied again
# only when the pom changes; Maven itself caches in ~/.m2.
#
# Environment (defaults):
#   KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093 KAFKA_HEAP="-Xms256m -Xmx512m"
#   KAFKA_AUTH=none       none: no authentication, no ACLs; scram: see above. Fixed when the
#                         data dir is formatted ('reset kafka' to switch)
#   HDFS_PORT=9000 HDFS_HTTP_PORT=9870 HDFS_DN_PORT=9866 HDFS_DN_HTTP_PORT=9864
#   HDFS_DN_IPC_PORT=9867 HDFS_HEAP="-Xmx512m" (each of NameNode, DataNode)
#   HDFS_SUPERUSER=hdfs   user name the NameNode runs as (HADOOP_USER_NAME) = HDFS superuser;
#                         hdfs-dfs/hdfs-class act as this user unless HADOOP_USER_NAME is set
#   SERVICES_WAIT=60      seconds to wait for a service to become healthy
#   SERVICES_STOP_WAIT=30 seconds to wait after SIGTERM before SIGKILL
#   MVN="mvn"             Maven command (e.g. "mvn -o" to forbid network)
#   JAVA="java"           Java 17+ binary
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SVC="$ROOT/.services"
POMS="$ROOT/scripts/services"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
KAFKA_AUTH_GIVEN="${KAFKA_AUTH:+1}"
KAFKA_AUTH="${KAFKA_AUTH:-none}"
HDFS_PORT="${HDFS_PORT:-9000}"
HDFS_HTTP_PORT="${HDFS_HTTP_PORT:-9870}"
HDFS_DN_PORT="${HDFS_DN_PORT:-9866}"
HDFS_DN_HTTP_PORT="${HDFS_DN_HTTP_PORT:-9864}"
HDFS_DN_IPC_PORT="${HDFS_DN_IPC_PORT:-9867}"
HDFS_HEAP="${HDFS_HEAP:--Xmx512m}"
HDFS_SUPERUSER="${HDFS_SUPERUSER:-hdfs}"
SERVICES_WAIT="${SERVICES_WAIT:-60}"
SERVICES_STOP_WAIT="${SERVICES_STOP_WAIT:-30}"
MVN="${MVN:-mvn}"
JAVA="${JAVA:-java}"

K="$SVC/kafka"
H="$SVC/hdfs"
KLIB="$SVC/lib/kafka"
HLIB="$SVC/lib/hdfs"

# short-lived CLI JVMs: small heap, fast start
TOOL_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true)
# the --add-opens that Hadoop's own launcher scripts add on Java 17 (HADOOP-19310)
HADOOP_JPMS=(-XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.math=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.regex=ALL-UNNAMED --add-opens=java.base/java.util.zip=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED)

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo pipefail$/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

# ---------------------------------------------------------------- process helpers
# is_ours PID MARKER: PID is alive and its command line carries -Dexamlake.service=MARKER
# and our .services dir (guards against a recycled pid or another checkout's process).
is_ours() {
  local pid="$1" marker="$2" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"-Dexamlake.service=$marker "* && "$cmd" == *"-Dexamlake.services.dir=$SVC "* ]]
}

# running_pid PIDFILE MARKER -> prints the pid if that process is ours and alive
running_pid() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1" 2>/dev/null || true)"
  is_ours "$pid" "$2" || return 1
  printf '%s\n' "$pid"
}

# stray_pids MARKER -> pids of processes of ours that have no (valid) pid file
stray_pids() {
  local p
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    is_ours "$p" "$1" && printf '%s\n' "$p"
  done
  return 0
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rss_mb() { awk '/^VmRSS:/{printf "%d MiB", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# stop_one NAME PIDFILE MARKER
stop_one() {
  local name="$1" pidfile="$2" marker="$3" pids pid i
  pids="$( { running_pid "$pidfile" "$marker" || true; stray_pids "$marker"; } | sort -u)"
  rm -f "$pidfile"
  if [[ -z "$pids" ]]; then
    log "$name: not running"
    return 0
  fi
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  log "$name: SIGTERM sent to pid $(tr '\n' ' ' <<<"$pids")- waiting up to ${SERVICES_STOP_WAIT}s"
  for ((i = 0; i < SERVICES_STOP_WAIT * 4; i++)); do
    local alive=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [[ -z "$alive" ]] && { log "$name: stopped"; return 0; }
    sleep 0.25
  done
  for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then
      log "$name: pid $pid still alive after ${SERVICES_STOP_WAIT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < 40; i++)); do
    local alive=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ -z "$alive" ]] && break
    sleep 0.25
  done
  log "$name: stopped (killed)"
}

# spawn LOGFILE PIDFILE CMD... : start CMD detached (own session, no stdin), record its pid
spawn() {
  local logfile="$1" pidfile="$2"
  shift 2
  if [[ -f "$logfile" ]]; then mv -f "$logfile" "$logfile.1"; fi
  # setsid: own session/process group, so a ^C or the caller's exit does not reach it.
  # In a non-interactive shell a background job is no group leader, so setsid execs in
  # place and $! is the JVM's pid.
  nohup setsid "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# fail_with_log NAME LOGFILE MSG
fail_with_log() {
  printf '[services] ERROR: %s: %s\n' "$1" "$3" >&2
  if [[ -f "$2" ]]; then
    printf '[services] ---- last 40 lines of %s ----\n' "$2" >&2
    tail -n 40 "$2" >&2 || true
    printf '[services] ----\n' >&2
  fi
  exit 1
}

# ---------------------------------------------------------------- jars
service_running() { # service_running kafka|hdfs (any of its JVMs)
  case "$1" in
    kafka) [[ -n "$(stray_pids kafka)" ]] ;;
    hdfs) [[ -n "$(stray_pids hdfs-namenode)$(stray_pids hdfs-datanode)" ]] ;;
    *) return 1 ;;
  esac
}

# fetch_jars NAME: copy the runtime jars of scripts/services/pom-NAME.xml to .services/lib/NAME
# (skipped when the stamp matches the pom; Maven downloads only what ~/.m2 lacks).
fetch_jars() {
  local name="$1" pom="$POMS/pom-$1.xml" dir="$SVC/lib/$1" sum t0
  [[ -f "$pom" ]] || die "missing $pom"
  sum="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$sum" ]]; then
    return 0
  fi
  if [[ -d "$dir" ]] && service_running "$name"; then
    log "$name: WARNING: $pom changed but $name is running; keeping its jars until 'down $name'"
    return 0
  fi
  need "${MVN%% *}" "install Maven 3.8+"
  log "$name: fetching jars with Maven (pom $pom -> $dir)"
  t0=$SECONDS
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  if ! $MVN -B -q -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$dir.tmp" -DincludeScope=runtime >"$SVC/fetch-$name.log" 2>&1; then
    tail -n 40 "$SVC/fetch-$name.log" >&2
    die "$name: Maven could not fetch the jars (full output: $SVC/fetch-$name.log)"
  fi
  echo "$sum" >"$dir.tmp/.stamp"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  log "$name: $(find "$dir" -name '*.jar' | wc -l) jars ($(du -sh "$dir" | cut -f1)) in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- kafka
KAFKA_PID="$K/kafka.pid"
KAFKA_AUTH_FILE="$K/auth.mode"            # none|scram, written when the data dir is formatted
KAFKA_ADMIN_PW_FILE="$K/admin.password"   # KAFKA_AUTH=scram: password of the super user admin
KAFKA_ADMIN_CONF="$K/admin.properties"    # KAFKA_AUTH=scram: client config of admin (CLI tools)

# kafka_data_auth: the KAFKA_AUTH the data dir was formatted with ("none" for a data dir
# older than KAFKA_AUTH); nothing if the data dir is not formatted
kafka_data_auth() {
  [[ -f "$K/data/meta.properties" ]] || return 0
  if [[ -f "$KAFKA_AUTH_FILE" ]]; then cat "$KAFKA_AUTH_FILE"; else echo none; fi
}

# kafka_auth: the mode in effect - the data dir's, else the requested $KAFKA_AUTH
kafka_auth() {
  local m
  m="$(kafka_data_auth)"
  echo "${m:-$KAFKA_AUTH}"
}

# kafka_check_auth: $KAFKA_AUTH is valid and matches the data dir (it cannot be switched)
kafka_check_auth() {
  local have
  case "$KAFKA_AUTH" in
    none | scram) ;;
    *) die "kafka: KAFKA_AUTH='$KAFKA_AUTH' is not supported (expected 'none', the default, or 'scram')" ;;
  esac
  have="$(kafka_data_auth)"
  if [[ -n "$have" && "$have" != "$KAFKA_AUTH" ]]; then
    local asked="KAFKA_AUTH=$KAFKA_AUTH"
    [[ -n "$KAFKA_AUTH_GIVEN" ]] || asked="KAFKA_AUTH unset (default: none)"
    die "kafka: the data dir $K/data was formatted with KAFKA_AUTH=$have, but this run has $asked; the mode of a data dir cannot be switched: run '$0 reset kafka' first (deletes all topics, users and ACLs), or use KAFKA_AUTH=$have"
  fi
  if [[ "$have" == scram && ! -s "$KAFKA_ADMIN_PW_FILE" ]]; then
    die "kafka: $KAFKA_ADMIN_PW_FILE is missing, without it the broker cannot be administered; run '$0 reset kafka'"
  fi
  return 0
}

# random_password: 32 hex digits (128 bits), safe in JAAS strings and ConfigCommand values
random_password() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# kafka_admin_password: the admin password, generated once per data dir (mode 600)
kafka_admin_password() {
  if [[ ! -s "$KAFKA_ADMIN_PW_FILE" ]]; then
    mkdir -p "$K"
    (umask 077 && random_password >"$KAFKA_ADMIN_PW_FILE.tmp" && mv -f "$KAFKA_ADMIN_PW_FILE.tmp" "$KAFKA_ADMIN_PW_FILE")
  fi
  cat "$KAFKA_ADMIN_PW_FILE"
}

# kafka_write_admin_config: the admin's client .properties (for --command-config), mode 600
kafka_write_admin_config() {
  local pw
  pw="$(kafka_admin_password)"
  (umask 077 && cat >"$KAFKA_ADMIN_CONF.tmp" <<EOF && mv -f "$KAFKA_ADMIN_CONF.tmp" "$KAFKA_ADMIN_CONF")
# generated by scripts/services.sh (KAFKA_AUTH=scram): the Kafka super user admin
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
EOF
}

# kafka_ensure_admin_config: the admin client config exists (scram data dir, after 'up')
kafka_ensure_admin_config() {
  [[ -s "$KAFKA_ADMIN_PW_FILE" ]] ||
    die "kafka: $KAFKA_ADMIN_PW_FILE is missing, without it the broker cannot be administered; run '$0 reset kafka'"
  [[ -f "$KAFKA_ADMIN_CONF" ]] || kafka_write_admin_config
}

# the listener part of server.properties
kafka_listener_config() {
  if [[ "$KAFKA_AUTH" != scram ]]; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
    return 0
  fi
  local pw
  pw="$(kafka_admin_password)"
  # SCRAM credentials live in the metadata log, so the controller listener (which the broker
  # uses to register, before it has read that log) authenticates with SASL/PLAIN instead,
  # against the one static user admin. A PLAINTEXT controller listener would need
  # User:ANONYMOUS as a super user, and any local client could then create users and ACLs
  # through it (--bootstrap-controller).
  cat <<EOF
listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=SASL_PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
# KAFKA_AUTH=scram
sasl.enabled.mechanisms=SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$pw" user_admin="$pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
EOF
}

kafka_write_config() {
  mkdir -p "$K/data"
  local listener_config
  listener_config="$(kafka_listener_config)"
  if [[ "$KAFKA_AUTH" == scram ]]; then
    # it holds the admin password: 600 before anything is written (cat > keeps the mode)
    (umask 077 && : >>"$K/server.properties")
    chmod 600 "$K/server.properties"
    kafka_write_admin_config
  fi
  cat >"$K/server.properties" <<EOF
# generated by scripts/services.sh - edits are overwritten on 'up'
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
$listener_config
log.dirs=$K/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  cat >"$K/log4j2.properties" <<'EOF'
# broker logging -> stdout, which services.sh redirects to .services/kafka/server.log
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = INFO
EOF
  kafka_write_tools_config
}

kafka_write_tools_config() {
  mkdir -p "$K"
  cat >"$K/tools-log4j2.properties" <<'EOF'
# CLI tools: warnings only, to stderr
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
}

kafka_tool() { # kafka_tool CLASS ARGS...
  [[ -f "$K/tools-log4j2.properties" ]] || kafka_write_tools_config
  "$JAVA" "${TOOL_OPTS[@]}" -Dlog4j2.configurationFile="$K/tools-log4j2.properties" \
    -cp "$KLIB/*" "$@"
}

kafka_healthy() { # a real metadata round-trip through the client listener (as admin if scram)
  local auth=()
  [[ "$KAFKA_AUTH" == scram ]] && auth=(--command-config "$KAFKA_ADMIN_CONF")
  timeout 30 "$JAVA" "${TOOL_OPTS[@]}" -Dlog4j2.configurationFile="$K/tools-log4j2.properties" \
    -cp "$KLIB/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" "${auth[@]}" --list >"$K/healthcheck.out" 2>&1
}

kafka_up() {
  local pid t0 deadline
  kafka_check_auth
  if pid="$(running_pid "$KAFKA_PID" kafka)"; then
    log "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  fetch_jars kafka
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "kafka: port 127.0.0.1:$p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  done
  t0=$SECONDS
  kafka_write_config
  if [[ ! -f "$K/data/meta.properties" ]]; then
    local cid scram=()
    cid="$(kafka_tool kafka.tools.StorageTool random-uuid)"
    echo "$cid" >"$K/cluster.id"
    if [[ "$KAFKA_AUTH" == scram ]]; then
      # the super user's SCRAM credential goes into the first metadata records
      scram=(--add-scram "SCRAM-SHA-256=[name=admin,password=$(kafka_admin_password)]")
      # format.log shows the credential record (salt, stored and server key)
      (umask 077 && : >"$K/format.log")
      chmod 600 "$K/format.log"
      log "kafka: formatting $K/data (cluster id $cid, KAFKA_AUTH=scram, admin password in $KAFKA_ADMIN_PW_FILE)"
    else
      log "kafka: formatting $K/data (cluster id $cid)"
    fi
    kafka_tool kafka.tools.StorageTool format --cluster-id "$cid" --config "$K/server.properties" \
      "${scram[@]}" >"$K/format.log" 2>&1 || fail_with_log kafka "$K/format.log" "kafka-storage format failed"
    echo "$KAFKA_AUTH" >"$KAFKA_AUTH_FILE"
  fi
  # JVM flags as in bin/kafka-run-class.sh, with a smaller heap
  # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM flags
  spawn "$K/server.log" "$KAFKA_PID" "$JAVA" $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$K/log4j2.properties" -Dkafka.logs.dir="$K" \
    -Dexamlake.service=kafka -Dexamlake.services.dir="$SVC" \
    -cp "$KLIB/*" kafka.Kafka "$K/server.properties"
  pid="$(cat "$KAFKA_PID")"
  echo "$KAFKA_PORT" >"$K/port"
  log "kafka: started pid $pid, waiting up to ${SERVICES_WAIT}s for a metadata round-trip on 127.0.0.1:$KAFKA_PORT"
  deadline=$((SECONDS + SERVICES_WAIT))
  while :; do
    kill -0 "$pid" 2>/dev/null || { rm -f "$KAFKA_PID"; fail_with_log kafka "$K/server.log" "broker exited during start-up"; }
    if grep -q 'Kafka Server started' "$K/server.log" && port_open "$KAFKA_PORT" && kafka_healthy; then
      break
    fi
    if ((SECONDS >= deadline)); then
      cat "$K/healthcheck.out" >&2 2>/dev/null || true
      fail_with_log kafka "$K/server.log" "not healthy after ${SERVICES_WAIT}s (still running as pid $pid; 'scripts/services.sh down kafka' stops it)"
    fi
    sleep 0.5
  done
  local mode=""
  [[ "$KAFKA_AUTH" == scram ]] && mode=", SASL/SCRAM-SHA-256 + ACLs, admin config $KAFKA_ADMIN_CONF"
  log "kafka: ready in $((SECONDS - t0))s (pid $pid, bootstrap 127.0.0.1:$KAFKA_PORT$mode, RSS $(rss_mb "$pid"), log $K/server.log)"
}

kafka_down() { stop_one kafka "$KAFKA_PID" kafka; }

kafka_status() {
  local pid port mode=""
  port="$(cat "$K/port" 2>/dev/null || echo "$KAFKA_PORT")"
  [[ "$(kafka_data_auth)" == scram ]] && mode="SASL/SCRAM-SHA-256 + ACLs (KAFKA_AUTH=scram), "
  if pid="$(running_pid "$KAFKA_PID" kafka)"; then
    echo "kafka: running (pid $pid, 127.0.0.1:$port, ${mode}RSS $(rss_mb "$pid"))"
  elif pid="$(stray_pids kafka | head -n1)" && [[ -n "$pid" ]]; then
    echo "kafka: running WITHOUT pid file (pid $pid) - 'down kafka' will stop it"
  else
    echo "kafka: stopped${mode:+ (data dir: KAFKA_AUTH=scram)}"
    return 1
  fi
}

# kafka_env: the KAFKA_AUTH export lines of 'env'
kafka_env() {
  if [[ "$(kafka_auth)" != scram ]]; then
    echo "export KAFKA_AUTH=none"
    return 0
  fi
  echo "export KAFKA_AUTH=scram"
  echo "export KAFKA_ADMIN_USER=admin"
  if [[ -s "$KAFKA_ADMIN_PW_FILE" ]]; then
    [[ -f "$KAFKA_ADMIN_CONF" ]] || kafka_write_admin_config
    printf 'export KAFKA_ADMIN_PASSWORD=%q\n' "$(cat "$KAFKA_ADMIN_PW_FILE")"
    printf 'export KAFKA_ADMIN_CONFIG=%q\n' "$KAFKA_ADMIN_CONF"
  else
    log "kafka: KAFKA_AUTH=scram but no admin password yet ($KAFKA_ADMIN_PW_FILE): run 'up kafka' first"
  fi
}

# kafka_cli CLASS ARGS...: run a Kafka CLI class; adds --bootstrap-server 127.0.0.1:$KAFKA_PORT
# unless ARGS already name --bootstrap-server/--bootstrap-controller. With KAFKA_AUTH=scram it
# also adds --command-config <admin config> unless ARGS give a client config file.
kafka_cli() {
  local cls="$1" a has_bootstrap="" has_config=""
  shift
  fetch_jars kafka
  for a in "$@"; do
    case "$a" in
      --bootstrap-server | --bootstrap-server=* | --bootstrap-controller | --bootstrap-controller=*) has_bootstrap=1 ;;
      --command-config | --command-config=* | --producer.config | --producer.config=* | --consumer.config | --consumer.config=*) has_config=1 ;;
    esac
  done
  if [[ -z "$has_config" && "$(kafka_data_auth)" == scram ]]; then
    kafka_ensure_admin_config
    set -- --command-config "$KAFKA_ADMIN_CONF" "$@"
  fi
  if [[ -n "$has_bootstrap" ]]; then
    kafka_tool "$cls" "$@"
  else
    port_open "$KAFKA_PORT" || die "kafka: nothing listens on 127.0.0.1:$KAFKA_PORT - run '$0 up kafka' first"
    kafka_tool "$cls" --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@"
  fi
}

# ---- KAFKA_AUTH=scram: users and ACLs (through kafka_cli, i.e. as admin)
kafka_need_scram() { # kafka_need_scram SUBCOMMAND
  local have
  have="$(kafka_data_auth)"
  case "$have" in
    scram) ;;
    "") die "$1: needs a broker started with KAFKA_AUTH=scram, and the data dir $K/data is not formatted yet: run 'KAFKA_AUTH=scram $0 up kafka' first" ;;
    *) die "$1: needs a broker started with KAFKA_AUTH=scram, but the data dir $K/data was formatted with KAFKA_AUTH=$have: run '$0 reset kafka' (deletes all topics) and 'KAFKA_AUTH=scram $0 up kafka'" ;;
  esac
  port_open "$KAFKA_PORT" || die "$1: nothing listens on 127.0.0.1:$KAFKA_PORT - run 'KAFKA_AUTH=scram $0 up kafka' first"
}

# a tenant NAME becomes part of a topic and a user name: topic-legal characters only
kafka_check_name() { # kafka_check_name WHAT VALUE
  [[ "$2" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$ ]] ||
    die "invalid $1 '$2' (letters, digits, '.', '_', '-'; starting with a letter or digit)"
}

# a password goes into 'SCRAM-SHA-256=[password=...]' (ConfigCommand) and JAAS strings
kafka_check_password() {
  [[ "$1" =~ ^[A-Za-z0-9._~@%^*+:/-]{8,}$ ]] ||
    die "invalid password: at least 8 of the characters A-Z a-z 0-9 . _ ~ @ % ^ * + : / - (no spaces, quotes, commas, brackets or '=')"
}

# kafka_scram_user NAME PASSWORD: create or update the SCRAM-SHA-256 credential of NAME
# (the password goes through a mode-600 file, not the command line that ps shows)
kafka_scram_user() {
  local f rc=0
  f="$(mktemp "$K/.scram-user.XXXXXX")"
  printf 'SCRAM-SHA-256=password=%s\n' "$2" >"$f"
  kafka_cli kafka.admin.ConfigCommand --alter --entity-type users --entity-name "$1" \
    --add-config-file "$f" >&2 || rc=$?
  rm -f "$f"
  ((rc == 0)) || die "kafka: could not set the SCRAM-SHA-256 credential of user $1"
}

kafka_tenant() {
  local action="${1:-}" name="${2:-}" pw="${3:-}" user topic printed=""
  [[ ( "$action" == add || "$action" == remove ) && -n "$name" ]] ||
    die "usage: $0 kafka-tenant add NAME [PASSWORD] | $0 kafka-tenant remove NAME"
  [[ "$action" == remove && $# -gt 2 ]] && die "usage: $0 kafka-tenant remove NAME"
  [[ $# -gt 3 ]] && die "usage: $0 kafka-tenant add NAME [PASSWORD]"
  kafka_check_name "tenant name" "$name"
  kafka_need_scram kafka-tenant
  user="tenant-$name" topic="assessments.$name"
  if [[ "$action" == add ]]; then
    if [[ -n "$pw" ]]; then kafka_check_password "$pw"; else pw="$(random_password)" printed=1; fi
    kafka_scram_user "$user" "$pw"
    kafka_cli org.apache.kafka.tools.AclCommand --add --allow-principal "User:$user" \
      --operation Write --operation Describe --topic "$topic" --resource-pattern-type literal >&2
    log "kafka: tenant '$name': SCRAM-SHA-256 user $user may Write+Describe topic $topic (LITERAL), nothing else"
    [[ -n "$printed" ]] && printf '%s\n' "$pw"
  else
    kafka_cli org.apache.kafka.tools.AclCommand --remove --force --allow-principal "User:$user" \
      --operation Write --operation Describe --topic "$topic" --resource-pattern-type literal >&2
    local out
    if out="$(kafka_cli kafka.admin.ConfigCommand --alter --entity-type users --entity-name "$user" \
      --delete-config SCRAM-SHA-256 2>&1)"; then
      printf '%s\n' "$out" >&2
      log "kafka: tenant '$name': ACLs of User:$user on $topic and its SCRAM user deleted"
    elif [[ "$out" == *"user credential that does not exist"* ]]; then
      log "kafka: tenant '$name': ACLs of User:$user on $topic deleted; there was no SCRAM user $user"
    else
      printf '%s\n' "$out" >&2
      die "kafka: could not delete the SCRAM user $user"
    fi
  fi
  return 0
}

kafka_ingest_user() {
  local name="${1:-}" pw="${2:-}" printed=""
  [[ -n "$name" && $# -le 2 ]] || die "usage: $0 kafka-ingest-user NAME [PASSWORD]"
  kafka_check_name "user name" "$name"
  [[ "$name" == admin ]] && die "kafka-ingest-user: 'admin' is the super user of the script, pick another name"
  kafka_need_scram kafka-ingest-user
  if [[ -n "$pw" ]]; then kafka_check_password "$pw"; else pw="$(random_password)" printed=1; fi
  kafka_scram_user "$name" "$pw"
  kafka_cli org.apache.kafka.tools.AclCommand --add --allow-principal "User:$name" \
    --operation Read --operation Describe --topic assessments. --resource-pattern-type prefixed >&2
  kafka_cli org.apache.kafka.tools.AclCommand --add --allow-principal "User:$name" \
    --operation Read --group examlake- --resource-pattern-type prefixed >&2
  log "kafka: ingest user '$name': SCRAM-SHA-256, may Read+Describe topics assessments.* and Read groups examlake-* (PREFIXED)"
  [[ -n "$printed" ]] && printf '%s\n' "$pw"
  return 0
}

# ---------------------------------------------------------------- hdfs
NN_PID="$H/namenode.pid"
DN_PID="$H/datanode.pid"

hdfs_write_config() {
  mkdir -p "$H/conf" "$H/name" "$H/data" "$H/tmp"
  # The Maven jar of hadoop-hdfs has no webapps/ (only the release tarball does), but the
  # NameNode/DataNode HTTP servers look them up on the classpath; empty ones suffice for
  # /jmx and /webhdfs (no HTML UI).
  mkdir -p "$H/conf/webapps/hdfs" "$H/conf/webapps/datanode" "$H/conf/webapps/static"
  cat >"$H/conf/core-site.xml" <<EOF
<?xml version="1.0"?>
<!-- generated by scripts/services.sh - edits are overwritten on 'up' -->
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://127.0.0.1:$HDFS_PORT</value></property>
  <property><name>hadoop.tmp.dir</name><value>$H/tmp</value></property>
  <property><name>hadoop.security.authentication</name><value>simple</value></property>
  <property><name>hadoop.security.authorization</name><value>false</value></property>
</configuration>
EOF
  cat >"$H/conf/hdfs-site.xml" <<EOF
<?xml version="1.0"?>
<!-- generated by scripts/services.sh - edits are overwritten on 'up' -->
<configuration>
  <property><name>dfs.namenode.name.dir</name><value>file://$H/name</value></property>
  <property><name>dfs.datanode.data.dir</name><value>file://$H/data</value></property>
  <property><name>dfs.namenode.rpc-address</name><value>127.0.0.1:$HDFS_PORT</value></property>
  <property><name>dfs.namenode.rpc-bind-host</name><value>127.0.0.1</value></property>
  <property><name>dfs.namenode.http-address</name><value>127.0.0.1:$HDFS_HTTP_PORT</value></property>
  <property><name>dfs.namenode.http-bind-host</name><value>127.0.0.1</value></property>
  <property><name>dfs.namenode.secondary.http-address</name><value>127.0.0.1:0</value></property>
  <property><name>dfs.datanode.address</name><value>127.0.0.1:$HDFS_DN_PORT</value></property>
  <property><name>dfs.datanode.http.address</name><value>127.0.0.1:$HDFS_DN_HTTP_PORT</value></property>
  <property><name>dfs.datanode.ipc.address</name><value>127.0.0.1:$HDFS_DN_IPC_PORT</value></property>
  <property><name>dfs.datanode.hostname</name><value>127.0.0.1</value></property>
  <property><name>dfs.namenode.datanode.registration.ip-hostname-check</name><value>false</value></property>
  <property><name>dfs.replication</name><value>1</value></property>
  <property><name>dfs.blocksize</name><value>16777216</value></property>
  <property><name>dfs.namenode.safemode.extension</name><value>0</value></property>
  <property><name>dfs.namenode.safemode.min.datanodes</name><value>1</value></property>
  <property><name>dfs.permissions.enabled</name><value>true</value></property>
  <property><name>dfs.permissions.superusergroup</name><value>supergroup</value></property>
  <property><name>dfs.namenode.acls.enabled</name><value>true</value></property>
  <property><name>dfs.webhdfs.enabled</name><value>true</value></property>
  <property><name>dfs.datanode.du.reserved</name><value>0</value></property>
  <property><name>dfs.namenode.resource.du.reserved</name><value>104857600</value></property>
</configuration>
EOF
  cat >"$H/conf/log4j.properties" <<'EOF'
# NameNode/DataNode/CLI logging (reload4j). Daemons: console -> .services/hdfs/<daemon>.log
hadoop.root.logger=INFO,console
log4j.rootLogger=${hadoop.root.logger}
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
# one INFO line per block-pool sub-directory (~1000 per DataNode start)
log4j.logger.org.apache.hadoop.hdfs.server.datanode.fsdataset.impl.FsDatasetImpl=WARN
# HTTP access log lines (the readiness probe polls /jmx)
log4j.logger.http.requests=WARN
# HDFS audit log (who did what, allowed=true/false) in its own file
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=INFO,audit
log4j.additivity.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=false
log4j.appender.audit=org.apache.log4j.FileAppender
log4j.appender.audit.File=${hadoop.log.dir}/audit.log
log4j.appender.audit.layout=org.apache.log4j.PatternLayout
log4j.appender.audit.layout.ConversionPattern=%d{ISO8601} %m%n
EOF
}

hdfs_java() { # hdfs_java [JVM-OPTS...] CLASS ARGS... (as $HADOOP_USER_NAME, default superuser)
  [[ -f "$H/conf/core-site.xml" ]] || hdfs_write_config
  local limit=()
  [[ -n "${TOOL_TIMEOUT:-}" ]] && limit=(timeout "$TOOL_TIMEOUT")
  HADOOP_USER_NAME="${HADOOP_USER_NAME:-$HDFS_SUPERUSER}" \
    "${limit[@]}" "$JAVA" "${TOOL_OPTS[@]}" "${HADOOP_JPMS[@]}" -Dhadoop.root.logger=WARN,console \
    -Dhadoop.log.dir="$H" -cp "$H/conf:$HLIB/*" "$@"
}

# JMX attribute from the NameNode web server (no JVM start)
nn_jmx() {
  curl -fsS --max-time 5 "http://127.0.0.1:$HDFS_HTTP_PORT/jmx?qry=$1" 2>/dev/null |
    sed -n "s/.*\"$2\" *: *\"\{0,1\}\([^\",]*\)\"\{0,1\}.*/\1/p" | head -n1
}

webhdfs() { # webhdfs METHOD PATH OP [QUERY] [CURL-ARGS...] -> body on stdout, as the superuser
  local method="$1" path="$2" op="$3" q="${4:-}"
  shift 4 || shift $#
  curl -fsS --max-time 10 -X "$method" \
    "http://127.0.0.1:$HDFS_HTTP_PORT/webhdfs/v1$path?op=$op&user.name=$HDFS_SUPERUSER${q:+&$q}" "$@"
}

hdfs_healthy() {
  # 1. NameNode: a live DataNode and out of safe mode (JMX, no JVM start)
  local live safemode loc
  live="$(nn_jmx 'Hadoop:service=NameNode,name=FSNamesystemState' NumLiveDataNodes)"
  [[ "${live:-0}" =~ ^[1-9] ]] || return 1
  safemode="$(nn_jmx 'Hadoop:service=NameNode,name=NameNodeInfo' Safemode)"
  [[ -z "$safemode" ]] || return 1
  {
    # 2. real FS ops: mkdir /tmp (1777), write a file through the DataNode, read it back
    webhdfs PUT /tmp MKDIRS permission=1777 &&
      webhdfs PUT /tmp SETPERMISSION permission=1777 &&
      loc="$(webhdfs PUT /tmp/.services-healthcheck CREATE 'overwrite=true&permission=644' \
        -o /dev/null -w '%{redirect_url}')" && [[ -n "$loc" ]] &&
      printf 'ok\n' | curl -fsS --max-time 10 -X PUT -T - "$loc" &&
      [[ "$(webhdfs GET /tmp/.services-healthcheck OPEN '' -L)" == ok ]] &&
      # 3. the NameNode RPC port that clients (hdfs-native) use: FsShell -ls
      TOOL_TIMEOUT=30 hdfs_java org.apache.hadoop.fs.FsShell -ls /
  } >"$H/healthcheck.out" 2>&1
}

hdfs_daemon() { # hdfs_daemon MARKER LOG PIDFILE CLASS
  # shellcheck disable=SC2086 # HDFS_HEAP holds several JVM flags
  spawn "$2" "$3" env HADOOP_USER_NAME="$HDFS_SUPERUSER" "$JAVA" $HDFS_HEAP -server -XX:+UseG1GC \
    -XX:+ExitOnOutOfMemoryError "${HADOOP_JPMS[@]}" -Djava.net.preferIPv4Stack=true \
    -Dhadoop.log.dir="$H" -Dhadoop.root.logger=INFO,console \
    -Dexamlake.service="$1" -Dexamlake.services.dir="$SVC" \
    -cp "$H/conf:$HLIB/*" "$4"
}

hdfs_up() {
  local nn dn t0 deadline
  nn="$(running_pid "$NN_PID" hdfs-namenode || true)"
  dn="$(running_pid "$DN_PID" hdfs-datanode || true)"
  if [[ -n "$nn" && -n "$dn" ]]; then
    log "hdfs: already running (namenode pid $nn, datanode pid $dn, hdfs://127.0.0.1:$HDFS_PORT)"
    return 0
  fi
  need curl "used for the NameNode JMX readiness probe"
  fetch_jars hdfs
  t0=$SECONDS
  hdfs_write_config
  if [[ -z "$nn" ]]; then
    for p in "$HDFS_PORT" "$HDFS_HTTP_PORT"; do
      port_open "$p" && die "hdfs: port 127.0.0.1:$p is already in use by another process (set HDFS_PORT / HDFS_HTTP_PORT)"
    done
    if [[ ! -f "$H/name/current/VERSION" ]]; then
      log "hdfs: formatting NameNode ($H/name)"
      # a fresh namespace gets a new cluster id: an old DataNode dir would be rejected
      rm -rf "$H/data"
      mkdir -p "$H/data"
      HADOOP_USER_NAME="$HDFS_SUPERUSER" "$JAVA" "${TOOL_OPTS[@]}" "${HADOOP_JPMS[@]}" \
        -Dhadoop.log.dir="$H" -cp "$H/conf:$HLIB/*" \
        org.apache.hadoop.hdfs.server.namenode.NameNode -format -force -nonInteractive \
        >"$H/format.log" 2>&1 || fail_with_log hdfs "$H/format.log" "namenode -format failed"
    fi
    hdfs_daemon hdfs-namenode "$H/namenode.log" "$NN_PID" org.apache.hadoop.hdfs.server.namenode.NameNode
    nn="$(cat "$NN_PID")"
  fi
  if [[ -z "$dn" ]]; then
    for p in "$HDFS_DN_PORT" "$HDFS_DN_HTTP_PORT" "$HDFS_DN_IPC_PORT"; do
      port_open "$p" && die "hdfs: port 127.0.0.1:$p is already in use by another process (set HDFS_DN_*_PORT)"
    done
    hdfs_daemon hdfs-datanode "$H/datanode.log" "$DN_PID" org.apache.hadoop.hdfs.server.datanode.DataNode
    dn="$(cat "$DN_PID")"
  fi
  echo "$HDFS_PORT $HDFS_HTTP_PORT" >"$H/ports"
  log "hdfs: started namenode pid $nn, datanode pid $dn; waiting up to ${SERVICES_WAIT}s for a live DataNode and a mkdir/put/ls on hdfs://127.0.0.1:$HDFS_PORT"
  deadline=$((SECONDS + SERVICES_WAIT))
  while :; do
    kill -0 "$nn" 2>/dev/null || { rm -f "$NN_PID"; fail_with_log hdfs "$H/namenode.log" "namenode exited during start-up"; }
    kill -0 "$dn" 2>/dev/null || { rm -f "$DN_PID"; fail_with_log hdfs "$H/datanode.log" "datanode exited during start-up"; }
    port_open "$HDFS_PORT" && hdfs_healthy && break
    if ((SECONDS >= deadline)); then
      cat "$H/healthcheck.out" >&2 2>/dev/null || true
      tail -n 20 "$H/datanode.log" >&2 || true
      fail_with_log hdfs "$H/namenode.log" "not healthy after ${SERVICES_WAIT}s (still running; 'scripts/services.sh down hdfs' stops it)"
    fi
    sleep 0.5
  done
  log "hdfs: ready in $((SECONDS - t0))s (hdfs://127.0.0.1:$HDFS_PORT, superuser '$HDFS_SUPERUSER', namenode pid $nn RSS $(rss_mb "$nn"), datanode pid $dn RSS $(rss_mb "$dn"), logs $H/{namenode,datanode}.log)"
}

hdfs_down() {
  # DataNode first, so the NameNode does not log it as dead
  stop_one hdfs-datanode "$DN_PID" hdfs-datanode
  stop_one hdfs-namenode "$NN_PID" hdfs-namenode
}

hdfs_status() {
  local nn dn HDFS_PORT="$HDFS_PORT" HDFS_HTTP_PORT="$HDFS_HTTP_PORT"
  [[ -f "$H/ports" ]] && read -r HDFS_PORT HDFS_HTTP_PORT <"$H/ports"
  nn="$(running_pid "$NN_PID" hdfs-namenode || stray_pids hdfs-namenode | head -n1)"
  dn="$(running_pid "$DN_PID" hdfs-datanode || stray_pids hdfs-datanode | head -n1)"
  if [[ -n "$nn" && -n "$dn" ]]; then
    echo "hdfs: running (namenode pid $nn, datanode pid $dn, hdfs://127.0.0.1:$HDFS_PORT, http 127.0.0.1:$HDFS_HTTP_PORT, RSS $(rss_mb "$nn") + $(rss_mb "$dn"))"
  elif [[ -n "$nn$dn" ]]; then
    echo "hdfs: DEGRADED (namenode pid ${nn:-none}, datanode pid ${dn:-none}) - run 'up hdfs' or 'down hdfs'"
    return 1
  else
    echo "hdfs: stopped"
    return 1
  fi
}

# ---------------------------------------------------------------- main
services_of() {
  case "${1:-all}" in
    kafka) echo kafka ;;
    hdfs) echo hdfs ;;
    all) echo kafka hdfs ;;
    *) die "unknown service '$1' (expected kafka, hdfs or all)" ;;
  esac
}

need_java() {
  need "$JAVA" "install a Java 17+ JDK"
  local v
  v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge 17 ]] || die "Java 17+ required, found '$v' ($JAVA)"
}

cmd="${1:-help}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  up)
    need_java
    mkdir -p "$SVC"
    for s in $(services_of "${1:-all}"); do "${s}_up"; done
    ;;
  down)
    rc=0
    # reverse order: HDFS first, then Kafka
    for s in $(services_of "${1:-all}" | tr ' ' '\n' | tac); do "${s}_down" || rc=1; done
    exit $rc
    ;;
  reset)
    for s in $(services_of "${1:-all}" | tr ' ' '\n' | tac); do
      "${s}_down"
      if [[ "$s" == kafka ]]; then rm -rf "$K"; else rm -rf "$H"; fi
      log "$s: data deleted"
    done
    ;;
  status)
    rc=0
    for s in $(services_of "${1:-all}"); do "${s}_status" || rc=3; done
    exit $rc
    ;;
  fetch)
    mkdir -p "$SVC"
    for s in $(services_of "${1:-all}"); do fetch_jars "$s"; done
    ;;
  env)
    echo "export KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
    kafka_env
    echo "export HDFS_URL=hdfs://127.0.0.1:$HDFS_PORT"
    echo "export HDFS_WEBHDFS_URL=http://127.0.0.1:$HDFS_HTTP_PORT/webhdfs/v1"
    echo "export HDFS_SUPERUSER=$HDFS_SUPERUSER"
    ;;
  kafka-topics)
    need_java
    mkdir -p "$SVC"
    kafka_cli org.apache.kafka.tools.TopicCommand "$@"
    ;;
  kafka-console-producer)
    need_java
    mkdir -p "$SVC"
    kafka_cli org.apache.kafka.tools.ConsoleProducer "$@"
    ;;
  kafka-console-consumer)
    need_java
    mkdir -p "$SVC"
    kafka_cli org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
    ;;
  kafka-tenant)
    need_java
    mkdir -p "$SVC"
    kafka_tenant "$@"
    ;;
  kafka-ingest-user)
    need_java
    mkdir -p "$SVC"
    kafka_ingest_user "$@"
    ;;
  kafka-class)
    [[ $# -ge 1 ]] || die "usage: $0 kafka-class CLASS [ARGS...]"
    need_java
    mkdir -p "$SVC"
    fetch_jars kafka
    kafka_tool "$@"
    ;;
  hdfs-dfs)
    need_java
    mkdir -p "$SVC"
    fetch_jars hdfs
    hdfs_java org.apache.hadoop.fs.FsShell "$@"
    ;;
  hdfs-class)
    [[ $# -ge 1 ]] || die "usage: $0 hdfs-class CLASS [ARGS...]"
    need_java
    mkdir -p "$SVC"
    fetch_jars hdfs
    hdfs_java "$@"
    ;;
  help | -h | --help)
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
