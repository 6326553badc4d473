#!/usr/bin/env python3
"""Structural check of docker-compose.yml against the rest of the repository (no Docker needed).

Usage:
  scripts/check_compose.py [EXAMLAKE_BINARY] [--compose FILE] [--root DIR]

Checks, each failing with a message that names the service and the fix:
  * the file parses as YAML and has a `services` mapping (and no obsolete `version:` key);
  * every ${VAR} has a default (${VAR:-x}) and shell variables are escaped as $$VAR;
  * the services kafka, namenode, datanode, ingest and nightly exist;
  * Kafka and Hadoop images are apache/kafka:<v> and apache/hadoop:<v>, <v> being the versions
    in scripts/services/pom-kafka.xml and pom-hdfs.xml;
  * kafka publishes KAFKA_PORT, namenode HDFS_PORT and HDFS_HTTP_PORT, datanode only the
    HDFS_DN_* ports: the defaults in scripts/services.sh; the KRaft controller listens on
    KAFKA_CONTROLLER_PORT; fs.defaultFS is hdfs://namenode:<HDFS_PORT>; the ingest daemon uses
    --brokers kafka:<KAFKA_PORT> and a warehouse under that fs.defaultFS; topics are
    assessments.<tenant>;
  * kafka, namenode and datanode have a health check; every other service waits on its
    dependencies through depends_on conditions (service_healthy only on services with a
    health check); ingest waits for healthy kafka and namenode;
  * the nightly service's environment names are ones the CLI reads (`env = "EXAMLAKE_..."` in
    crates/cli/src/cli.rs), and include EXAMLAKE_DROP, EXAMLAKE_WAREHOUSE, EXAMLAKE_REPORTS;
  * with EXAMLAKE_BINARY: every `examlake <subcommand>` in a command of the examlake image is a
    subcommand listed by `EXAMLAKE_BINARY --help`, and every --flag one passes is listed by that
    subcommand's --help.

Exit status: 0 and one summary line on success; 1 with one line per problem; 2 on bad usage.
Needs PyYAML (pyyaml==6.0.2).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_compose: PyYAML is missing (pip install pyyaml==6.0.2)")

REQUIRED_SERVICES = ("kafka", "namenode", "datanode", "ingest", "nightly")
NEED_HEALTHCHECK = ("kafka", "namenode", "datanode")
NIGHTLY_REQUIRED_ENV = ("EXAMLAKE_DROP", "EXAMLAKE_WAREHOUSE", "EXAMLAKE_REPORTS")
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
# global examlake options that take a value (so the value is not taken for the subcommand)
GLOBAL_OPTS_WITH_VALUE = ("--log-format",)


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, msg: str) -> None:
        self.errors.append(msg)


# ---------------------------------------------------------------- repository facts
def pom_property(pom: Path, name: str) -> str:
    root = ET.parse(pom).getroot()
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == name and el.text and el.text.strip():
            return el.text.strip()
    raise ValueError(f"{pom}: no <{name}> property")


def script_defaults(script: Path) -> dict[str, str]:
    """NAME="${NAME:-default}" lines of scripts/services.sh."""
    out = {}
    for m in re.finditer(r'^(\w+)="\$\{\1:-([^}]*)\}"', script.read_text(), re.M):
        out[m.group(1)] = m.group(2)
    return out


def cli_env_names(cli_rs: Path) -> set[str]:
    return set(re.findall(r'env\s*=\s*"(EXAMLAKE_[A-Z0-9_]+)"', cli_rs.read_text()))


def binary_subcommands(binary: str, *args: str) -> str:
    res = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"`{binary} {' '.join(args)} --help` exited {res.returncode}: {res.stderr.strip()}")
    return res.stdout


def parse_commands_section(help_text: str) -> set[str]:
    names, inside = set(), False
    for line in help_text.splitlines():
        if line.strip() == "Commands:":
            inside = True
            continue
        if inside:
            if line and not line.startswith(" "):
                break
            m = re.match(r"^ {2}([a-z][a-z0-9-]*)\s", line + " ")
            if m:
                names.add(m.group(1))
    return names


# ---------------------------------------------------------------- compose helpers
# like compose-go: $$, ${...}, $NAME, and any other $ is an invalid template (e.g. a shell $(...))
VAR_RE = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$")


def interpolate(value, where: str, ck: Checker):
    """Compose interpolation with defaults only: ${VAR:-d} / ${VAR-d} -> d, $$ -> $."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}", ck) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]", ck) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        expr = m.group(1)
        if expr is not None:
            em = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(:?-)(.*)", expr)
            if em:
                return em.group(3)
            ck.fail(f"{where}: ${{{expr}}} has no default; write ${{{expr}:-VALUE}} (or $${{{expr}}} for a shell variable)")
            return ""
        if m.group(2) is None:
            ck.fail(f"{where}: a lone $ (as in $(...) or $((...))) is an invalid Compose template; write $$")
            return "$"
        ck.fail(f"{where}: ${m.group(2)} is interpolated by Compose, not by the shell; write $${m.group(2)} for a shell variable or ${{{m.group(2)}:-VALUE}}")
        return ""

    return VAR_RE.sub(sub, value)


def published_ports(svc: dict, name: str, ck: Checker) -> list[tuple[str, str]]:
    """(host port, container port) of every published port."""
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            if p.get("published") is not None:
                out.append((str(p["published"]), str(p.get("target"))))
            continue
        s = str(p).split("/", 1)[0]
        parts = s.rsplit(":", 2) if not s.startswith("[") else re.split(r"(?<=\]):", s)
        if len(parts) == 1:
            continue  # container port only: a random host port
        host, container = parts[-2], parts[-1]
        if not host:
            continue
        out.append((host, container))
    return out


def environment(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def simple_commands(command) -> list[list[str]]:
    """The simple commands of a service command: a list is one argv, unless it is a
    shell -c SCRIPT; a string or script is split at ; & | newlines and parentheses."""
    if command is None:
        return []
    if isinstance(command, list):
        argv = [str(a) for a in command]
        if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash") and argv[1] == "-c":
            return simple_commands(argv[2])
        return [argv]
    out = []
    for piece in re.split(r"[;&|\n()`]+", str(command).replace("\\\n", " ")):
        words = [w.strip("\"'") for w in piece.split()]
        words = [w for w in words if w]
        if words:
            out.append(words)
    return out


def service_command(svc: dict):
    """entrypoint + command as one argv (a list), or the command string."""
    ep, cmd = svc.get("entrypoint"), svc.get("command")
    if ep is None:
        return cmd
    ep = ep if isinstance(ep, list) else str(ep).split()
    cmd = [] if cmd is None else (cmd if isinstance(cmd, list) else [str(cmd)])
    return ep + cmd


def examlake_invocations(command) -> list[tuple[str, list[str]]]:
    """(subcommand, words after it) of every examlake call in a command."""
    found = []
    for argv in simple_commands(command):
        for i, w in enumerate(argv):
            # only in command position: after VAR=value assignments or `exec`, not in echo text
            if any(not (re.match(r"^[A-Za-z_]\w*=", p) or p == "exec") for p in argv[:i]):
                break
            if w == "examlake" or w.endswith("/bin/examlake"):
                j = i + 1
                while j < len(argv) and argv[j].startswith("-"):
                    j += 1 if "=" in argv[j] or argv[j] not in GLOBAL_OPTS_WITH_VALUE else 2
                found.append((argv[j] if j < len(argv) else "", argv[j + 1 :]))
                break
    return found


def option_value(words: list[str], opt: str) -> str | None:
    for i, w in enumerate(words):
        if w == opt and i + 1 < len(words):
            return words[i + 1]
        if w.startswith(opt + "="):
            return w.split("=", 1)[1]
    return None


# ---------------------------------------------------------------- the checks
def check(compose_path: Path, root: Path, binary: str | None) -> tuple[list[str], str]:
    ck = Checker()
    try:
        doc = yaml.safe_load(compose_path.read_text())
    except FileNotFoundError:
        return ["no such file"], ""
    except yaml.YAMLError as e:
        return [f"not valid YAML: {e}".replace("\n", " ")], ""
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        return ["no top-level `services:` mapping"], ""
    if "version" in doc:
        ck.fail("top level: `version:` is obsolete in Compose v2; remove it")
    services = {}
    for name, svc in doc["services"].items():
        if not isinstance(svc, dict):
            ck.fail(f"services.{name}: not a mapping")
            continue
        services[name] = interpolate(svc, f"services.{name}", ck)

    for name in REQUIRED_SERVICES:
        if name not in services:
            ck.fail(f"services.{name}: missing (required: {', '.join(REQUIRED_SERVICES)})")

    # versions, from the poms scripts/services.sh uses
    poms = root / "scripts" / "services"
    kafka_v = pom_property(poms / "pom-kafka.xml", "kafka.version")
    hadoop_v = pom_property(poms / "pom-hdfs.xml", "hadoop.version")
    want_image = {"kafka": f"apache/kafka:{kafka_v}", "namenode": f"apache/hadoop:{hadoop_v}",
                  "datanode": f"apache/hadoop:{hadoop_v}"}
    for name, want in want_image.items():
        if name in services and services[name].get("image") != want:
            ck.fail(f"services.{name}.image: {services[name].get('image')!r}, expected {want!r} "
                    f"(version from scripts/services/pom-{'kafka' if name == 'kafka' else 'hdfs'}.xml)")
    for name, svc in services.items():
        if name in want_image:
            continue
        img = str(svc.get("image") or "")
        for repo, v in (("apache/kafka", kafka_v), ("apache/hadoop", hadoop_v)):
            if img.split(":")[0] == repo and img != f"{repo}:{v}":
                ck.fail(f"services.{name}.image: {img!r}, expected {repo}:{v} like the other services")

    # ports, from scripts/services.sh
    d = script_defaults(root / "scripts" / "services.sh")
    for var in ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "HDFS_PORT", "HDFS_HTTP_PORT",
                "HDFS_DN_PORT", "HDFS_DN_HTTP_PORT", "HDFS_DN_IPC_PORT"):
        if var not in d:
            ck.fail(f"scripts/services.sh: no {var}=\"${{{var}:-...}}\" default line found")
    want_ports = {"kafka": ["KAFKA_PORT"], "namenode": ["HDFS_PORT", "HDFS_HTTP_PORT"]}
    for name, vars_ in want_ports.items():
        if name not in services:
            continue
        hosts = {h for h, _ in published_ports(services[name], name, ck)}
        for var in vars_:
            if var in d and d[var] not in hosts:
                ck.fail(f"services.{name}.ports: host port {d[var]} ({var} in scripts/services.sh) "
                        f"is not published (published: {sorted(hosts) or 'none'})")
    if "datanode" in services:
        allowed = {d.get(v) for v in ("HDFS_DN_PORT", "HDFS_DN_HTTP_PORT", "HDFS_DN_IPC_PORT")}
        for h, c in published_ports(services["datanode"], "datanode", ck):
            if h not in allowed or c != h:
                ck.fail(f"services.datanode.ports: {h}:{c} is not one of the DataNode ports of "
                        f"scripts/services.sh ({', '.join(sorted(a for a in allowed if a))}, same inside)")
    if "namenode" in services:
        for h, c in published_ports(services["namenode"], "namenode", ck):
            if h in (d.get("HDFS_PORT"), d.get("HDFS_HTTP_PORT")) and c != h:
                ck.fail(f"services.namenode.ports: {h}:{c}: the NameNode listens on {h} inside too")
    kenv = environment(services.get("kafka", {}))
    if "kafka" in services:
        for var in ("KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS",
                    "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_CONTROLLER_LISTENER_NAMES",
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"):
            if var not in kenv:
                ck.fail(f"services.kafka.environment: {var} is missing (single-node KRaft needs it)")
        roles = set(kenv.get("KAFKA_PROCESS_ROLES", "").split(","))
        if "KAFKA_PROCESS_ROLES" in kenv and roles != {"broker", "controller"}:
            ck.fail("services.kafka.environment.KAFKA_PROCESS_ROLES: expected broker,controller")
        if kenv.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1") != "1":
            ck.fail("services.kafka.environment.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: must be 1 on one node")
        cp = d.get("KAFKA_CONTROLLER_PORT")
        voters = kenv.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")
        if cp and voters and not voters.endswith(f":{cp}"):
            ck.fail(f"services.kafka.environment.KAFKA_CONTROLLER_QUORUM_VOTERS: {voters!r}, expected the "
                    f"controller on port {cp} (KAFKA_CONTROLLER_PORT in scripts/services.sh)")
        if cp and f"CONTROLLER://:{cp}" not in kenv.get("KAFKA_LISTENERS", "") and \
                not re.search(rf"CONTROLLER://[^,]*:{cp}\b", kenv.get("KAFKA_LISTENERS", "")):
            ck.fail(f"services.kafka.environment.KAFKA_LISTENERS: no CONTROLLER listener on port {cp}")
        if "KAFKA_PORT" in d and not re.search(rf"PLAINTEXT://kafka:{d['KAFKA_PORT']}\b",
                                               kenv.get("KAFKA_ADVERTISED_LISTENERS", "")):
            ck.fail(f"services.kafka.environment.KAFKA_ADVERTISED_LISTENERS: expected PLAINTEXT://kafka:"
                    f"{d['KAFKA_PORT']} for containers on the compose network")

    fs_default = environment(services.get("namenode", {})).get("CORE-SITE.XML_fs.defaultFS")
    want_fs = f"hdfs://namenode:{d.get('HDFS_PORT')}"
    if "namenode" in services and fs_default != want_fs:
        ck.fail(f"services.namenode.environment: CORE-SITE.XML_fs.defaultFS is {fs_default!r}, expected {want_fs!r}")

    # health checks and start order
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        has_hc = isinstance(hc, dict) and not hc.get("disable") and hc.get("test") not in (None, [], "", ["NONE"])
        deps = svc.get("depends_on")
        if name in NEED_HEALTHCHECK and not has_hc:
            ck.fail(f"services.{name}: needs a healthcheck (others wait for it with condition: service_healthy)")
        if not has_hc and not deps:
            ck.fail(f"services.{name}: has neither a healthcheck nor depends_on conditions")
        if deps is None:
            continue
        if isinstance(deps, list):
            ck.fail(f"services.{name}.depends_on: use the long form with a condition per service "
                    f"(e.g. {deps[0] if deps else 'kafka'}: {{condition: service_healthy}})")
            continue
        for dep, spec in deps.items():
            cond = (spec or {}).get("condition") if isinstance(spec, dict) else None
            if dep not in services:
                ck.fail(f"services.{name}.depends_on.{dep}: no such service")
                continue
            if cond not in CONDITIONS:
                ck.fail(f"services.{name}.depends_on.{dep}: condition is {cond!r}, expected one of {', '.join(CONDITIONS)}")
                continue
            if cond == "service_started" and dep in NEED_HEALTHCHECK:
                ck.fail(f"services.{name}.depends_on.{dep}: use condition: service_healthy (started is not ready)")
            dhc = services[dep].get("healthcheck")
            if cond == "service_healthy" and not (isinstance(dhc, dict) and dhc.get("test")):
                ck.fail(f"services.{name}.depends_on.{dep}: service_healthy, but {dep} has no healthcheck")
    if "kafka" in services:
        test = " ".join(map(str, (services["kafka"].get("healthcheck") or {}).get("test") or []))
        if "kafka-topics" not in test:
            ck.fail("services.kafka.healthcheck: expected a kafka-topics.sh --list round-trip")
    if "ingest" in services:
        deps = services["ingest"].get("depends_on")
        deps = deps if isinstance(deps, dict) else {}
        for dep in ("kafka", "namenode"):
            if (deps.get(dep) or {}).get("condition") != "service_healthy":
                ck.fail(f"services.ingest.depends_on.{dep}: expected condition: service_healthy")

    # the examlake services
    # The CLI's own variables plus the ones its HDFS client (hdfs-native) reads.
    cli_env = cli_env_names(root / "crates" / "cli" / "src" / "cli.rs") | {
        "HADOOP_USER_NAME", "HADOOP_CONF_DIR", "HADOOP_PROXY_USER"}
    if "nightly" in services:
        names = set(environment(services["nightly"]))
        for n in sorted(names - cli_env):
            ck.fail(f"services.nightly.environment: {n} is not read by the examlake CLI "
                    f"(crates/cli/src/cli.rs reads {', '.join(sorted(cli_env))})")
        for n in NIGHTLY_REQUIRED_ENV:
            if n not in names:
                ck.fail(f"services.nightly.environment: {n} is missing")
        if not any(sub == "nightly" for sub, _ in examlake_invocations(service_command(services["nightly"]))):
            ck.fail("services.nightly.command: no `examlake ... nightly` call")

    examlake_services = [n for n, s in services.items()
                         if s.get("build") is not None or str(s.get("image") or "").startswith("examlake")]
    calls = []  # (service, subcommand, words)
    for name in examlake_services:
        inv = examlake_invocations(service_command(services[name]))
        if services[name].get("command") is not None and not inv:
            ck.fail(f"services.{name}.command: no `examlake SUBCOMMAND` call found")
        calls += [(name, sub, words) for sub, words in inv]
    for name, sub, words in calls:
        if not sub:
            ck.fail(f"services.{name}.command: `examlake` without a subcommand")
    if "ingest" in services:
        ing = [w for n, s, w in calls if n == "ingest" and s == "ingest"]
        if not ing:
            ck.fail("services.ingest.command: expected `examlake ingest --brokers ... --warehouse ...`")
        for words in ing:
            brokers, wh = option_value(words, "--brokers"), option_value(words, "--warehouse")
            if brokers != f"kafka:{d.get('KAFKA_PORT')}":
                ck.fail(f"services.ingest.command: --brokers {brokers!r}, expected 'kafka:{d.get('KAFKA_PORT')}'")
            if not (wh or "").startswith(want_fs + "/"):
                ck.fail(f"services.ingest.command: --warehouse {wh!r}, expected {want_fs}/<dir>")
    for name, svc in services.items():
        for argv in simple_commands(service_command(svc)):
            topic = option_value(argv, "--topic")
            if topic and not re.fullmatch(r"assessments\.[^.\s]+", topic.replace("${t}", "t").replace("$t", "t")):
                ck.fail(f"services.{name}.command: topic {topic!r} does not follow assessments.<tenant>")

    planned = []
    if binary:
        try:
            known = parse_commands_section(binary_subcommands(binary))
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            ck.fail(f"{binary}: {e}")
            known = None
        if known is not None:
            if not known:
                ck.fail(f"{binary} --help: no Commands: section found")
            for name, sub, words in calls:
                if sub and sub not in known:
                    ck.fail(f"services.{name}.command: `examlake {sub}` is not a subcommand of {binary} "
                            f"({', '.join(sorted(known))})")
                elif sub:
                    sub_help = binary_subcommands(binary, sub)
                    for w in words:
                        flag = w.split("=", 1)[0]
                        if flag.startswith("--") and flag not in sub_help:
                            ck.fail(f"services.{name}.command: `examlake {sub} {flag}` is not a flag of {binary}")
    summary = (f"compose ok: {len(services)} services ({', '.join(services)}); kafka {kafka_v}, hadoop {hadoop_v}; "
               f"ports kafka {d.get('KAFKA_PORT')}, namenode {d.get('HDFS_PORT')}/{d.get('HDFS_HTTP_PORT')}; "
               f"{len(calls)} examlake call(s) "
               + (f"checked against {binary}" if binary else "(subcommands not checked: no binary given)")
               + (f"; flags not in this binary yet (planned): {', '.join(sorted(set(planned)))}" if planned else ""))
    return ck.errors, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("binary", nargs="?", help="an examlake binary whose --help lists the subcommands")
    root = Path(__file__).resolve().parent.parent
    ap.add_argument("--root", type=Path, default=root, help="the repository (default: this checkout)")
    ap.add_argument("--compose", type=Path, help="the compose file (default: ROOT/docker-compose.yml)")
    args = ap.parse_args()
    compose = args.compose or args.root / "docker-compose.yml"
    try:
        errors, summary = check(compose, args.root, args.binary)
    except (OSError, ValueError, ET.ParseError) as e:
        print(f"check_compose: FAILED: {e}", file=sys.stderr)
        return 1
    if errors:
        for e in errors:
            print(f"check_compose: {compose}: {e}", file=sys.stderr)
        print(f"check_compose: FAILED: {len(errors)} problem(s) in {compose}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
