//! The command line: every flag documented here is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use examlake_core::TenantId;

/// Records per raw file when ingesting. Measured on 100k attempts from a file: 25k per file
/// took 1.0–1.4 s and 397 MB, 100k per file 2.3–2.4 s and 680–985 MB (a batch is encoded
/// while the next is read, and one file per 100k left nothing to overlap); from Kafka (1M):
/// 11.8–12.4 s and 1.0 GB against 13.5 s and 1.6 GB.
const DEFAULT_INGEST_BATCH_RECORDS: usize = 25_000;

/// examlake: exam-attempt analytics. Ingest attempt events, build clean tables, answer the
/// business questions with charts and tables, per tenant.
///
/// Start with `examlake demo`: it runs the whole pipeline on the bundled sample data.
#[derive(Debug, Parser)]
#[command(name = "examlake", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// More log output (-v info, -vv debug). EXAMLAKE_LOG=<filter> overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log lines on stderr as text or as JSON objects (for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "EXAMLAKE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Settings file (default: EXAMLAKE_CONFIG, else ./examlake.toml if present). Flags beat
    /// environment variables, which beat the file. See `examlake config check`.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate deterministic synthetic attempt events with the real dataset's shape.
    Generate(GenerateArgs),
    /// Land attempt events from a file or from Kafka, unchanged, as raw Parquet (malformed ones
    /// quarantined), exactly once.
    Ingest(IngestArgs),
    /// Send a file of attempt events (NDJSON or JSON array) to a tenant's Kafka topic.
    Produce(ProduceArgs),
    /// Build the assessments, questions and exams tables from a tenant's raw data.
    Transform(TransformArgs),
    /// Run a canned report: print its table, write its chart (PNG + SVG) and files.
    Report(ReportArgs),
    /// Run your own SQL over one tenant's tables (assessments, questions, options, exams, question_counts, option_counts).
    Query(QueryArgs),
    /// Ingest a file, transform, and write every report, for one tenant.
    Run(RunArgs),
    /// Run the whole pipeline on the bundled sample data (tenants acme and globex).
    Demo(DemoArgs),
    /// Delete report archives older than N days (dry run unless --apply).
    Retention(RetentionArgs),
    /// Validate the settings file and show the effective settings (secrets masked).
    Config(ConfigArgs),
    /// Register, list and remove tenants; issue and rotate their analyst tokens.
    Tenant(TenantArgs),
    /// The scheduled job: for every tenant with a drop folder, ingest new files, transform, write
    /// every report, point `latest` at it. Safe to re-run; refuses to run twice at once.
    Nightly(NightlyArgs),
}

/// Parse a tenant id (lowercase letters, digits and '-', at most 63).
pub fn tenant(value: &str) -> Result<TenantId, String> {
    TenantId::parse(value).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Tenant(s) to generate for; repeat for several (each gets its own file).
    #[arg(long = "tenant", required = true, value_parser = tenant)]
    pub tenants: Vec<TenantId>,
    /// Attempts per tenant. 3280 reproduces the published shape of the reference dataset.
    #[arg(long, default_value_t = 3280)]
    pub attempts: u64,
    /// Seed: the same seed, tenant and size give byte-identical output.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// ndjson (one event per line) or json (one JSON array).
    #[arg(long, value_enum, default_value_t = GenerateFormat::Ndjson)]
    pub format: GenerateFormat,
    /// Output file (one tenant) or directory (several tenants: <dir>/<tenant>.ndjson).
    /// A name ending in .gz is gzip-compressed.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Share of attempts whose summary counts disagree with their details.
    #[arg(long, default_value_t = 0.005)]
    pub counts_mismatch_rate: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GenerateFormat {
    Ndjson,
    Json,
}

#[derive(Debug, Args)]
pub struct WarehouseArg {
    /// The warehouse: a local directory (or file://DIR). Created if missing.
    #[arg(long, env = "EXAMLAKE_WAREHOUSE", default_value = "warehouse")]
    pub warehouse: String,
}

/// Parse `KEY=VALUE`.
pub fn key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, v)) if !key.trim().is_empty() => Ok((key.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {value:?}")),
    }
}

#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, host:port[,host:port…].
    #[arg(long, env = "EXAMLAKE_BROKERS")]
    pub brokers: Option<String>,
    /// SASL/SCRAM-SHA-256 user (a tenant's credential or the operator's).
    #[arg(long, env = "EXAMLAKE_KAFKA_USER")]
    pub kafka_user: Option<String>,
    /// Password of --kafka-user (prefer the environment variable to the command line).
    #[arg(
        long,
        env = "EXAMLAKE_KAFKA_PASSWORD",
        hide_env_values = true,
        requires = "kafka_user"
    )]
    pub kafka_password: Option<String>,
    /// Extra librdkafka setting KEY=VALUE (repeatable), e.g. -X security.protocol=SASL_SSL.
    #[arg(short = 'X', long = "kafka-option", value_parser = key_value)]
    pub kafka_options: Vec<(String, String)>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(true).args(["from_file", "brokers"])))]
pub struct IngestArgs {
    /// An NDJSON or JSON-array file of attempt events (gzip detected automatically). Given,
    /// it is what is ingested, even when EXAMLAKE_BROKERS is set.
    #[arg(long = "from-file", requires = "tenant")]
    pub from_file: Option<PathBuf>,
    /// The tenant: required with --from-file; with --brokers, consume only this tenant's topic.
    #[arg(long, value_parser = tenant)]
    pub tenant: Option<TenantId>,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Kafka: the consumer group (processes of one group share the partitions).
    #[arg(long, default_value = "examlake-ingest")]
    pub group: String,
    /// Kafka: drain every tenant topic up to its high watermark at start, then exit.
    /// Without it, ingest runs as a daemon until SIGINT/SIGTERM.
    #[arg(long)]
    pub until_caught_up: bool,
    /// Records per raw Parquet file (Kafka: per partition, a rotation limit). Batches are
    /// written while the next ones are read; 25k measured faster and leaner than 100k.
    #[arg(long, default_value_t = DEFAULT_INGEST_BATCH_RECORDS)]
    pub batch_records: usize,
    /// Kafka: a partition's pending batch is landed at this many payload bytes…
    #[arg(long, default_value_t = 128 * 1024 * 1024)]
    pub rotate_bytes: usize,
    /// …or this many seconds after its first message, even if the topic goes quiet.
    #[arg(long, default_value_t = 60.0)]
    pub rotate_seconds: f64,
    /// Records longer than this many bytes are quarantined.
    #[arg(long, default_value_t = examlake_ingest::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,
    /// Kafka: seconds between status lines (messages/s, lag per tenant).
    #[arg(long, default_value_t = 30.0)]
    pub status_seconds: f64,
    /// Kafka: seconds between topic metadata refreshes (how soon a new tenant topic is seen).
    #[arg(long, default_value_t = 10.0)]
    pub metadata_refresh_seconds: f64,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// The tenant whose topic (assessments.<tenant>) receives the records.
    #[arg(long, value_parser = tenant)]
    pub tenant: TenantId,
    /// An NDJSON or JSON-array file (gzip detected). Sent unchanged, one message per record.
    #[arg(long)]
    pub file: PathBuf,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Partitions of the topic, if it has to be created.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Replication factor of the topic, if it has to be created.
    #[arg(long, default_value_t = 1)]
    pub replication: i32,
}

#[derive(Debug, Args)]
pub struct TransformArgs {
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Only this tenant (default: every tenant in the warehouse).
    #[arg(long, value_parser = tenant)]
    pub tenant: Option<TenantId>,
    /// Extra case-insensitive exam-name pattern marking test records (repeatable).
    #[arg(long = "test-exam-pattern")]
    pub test_exam_patterns: Vec<String>,
    /// Data-quality threshold RULE=WARN:ERROR as shares of raw records (repeatable), e.g.
    /// schema_violation=0.001:0.05. Rules: schema_violation, test_record, exact_duplicate,
    /// superseded_version, counts_mismatch, counts_missing. Crossing an ERROR threshold exits 3.
    #[arg(long = "dq-threshold")]
    pub dq_thresholds: Vec<String>,
    /// Apply new raw files in batches of about this many records: peak memory grows with it
    /// (about 20 KB per record), not with the tenant's history. At the end of a run, four or more
    /// consecutive parts under a quarter of this many attempts each are merged into one.
    #[arg(long, default_value_t = examlake_transform::DEFAULT_BATCH_RECORDS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch_records: usize,
    /// A batch's latest arrivals, up to this many kept attempts, are written as a part of their
    /// own (0: never). A redelivery or regraded version arriving in a later batch then rewrites
    /// this small part instead of the whole batch's part.
    #[arg(long, default_value_t = examlake_transform::DEFAULT_RECENT_PART_ATTEMPTS)]
    pub recent_part_attempts: usize,
    /// Leave small parts as they are: by default a run that applied new data ends by merging
    /// runs of four or more consecutive small parts (see --batch-records) into one, rewriting
    /// them. With this flag every batch's parts stay as written (more files for readers to open).
    #[arg(long)]
    pub no_merge: bool,
    /// Rebuild every table from all raw files instead of applying only the new ones (also done
    /// automatically when the test-record rules change). Readers see the old tables until it ends.
    #[arg(long)]
    pub full_rebuild: bool,
    /// Take the tenant's transform lock (tables/_transform.lock) even if the run holding it may
    /// still be running. Only one transform per tenant runs at a time; a lock left by a killed run
    /// on this host is taken over without this flag, one from another host is not.
    #[arg(long)]
    pub break_lock: bool,
    /// Keep up to this many attempts of the keen_id index (which recognises redeliveries across
    /// the tenant's whole history) in memory, about 14 bytes each; past that the index moves to a
    /// scratch file in the temporary directory (TMPDIR), so memory stops growing with the history.
    #[arg(long, default_value_t = examlake_transform::DEFAULT_INDEX_MEMORY_ATTEMPTS)]
    pub index_memory_attempts: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportChoice {
    /// Attempts, distinct exams, attempts per exam, most and least common exam.
    Overview,
    /// Per exam: share of attempts scoring at least --threshold; flags majorities.
    HighScores,
    /// The exams with the fewest attempts, ties included.
    LeastPopular,
    /// The questions with the most wrong responses.
    MostMissed,
    /// The last attempt per exam.
    LastTaken,
    /// Item analysis: difficulty, item-rest point-biserial, upper-lower D, KR-20, alpha if deleted.
    ItemAnalysis,
    /// Distractor analysis: share choosing each option, overall and in the upper/lower 27%.
    Distractors,
    /// Every report above.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Md,
}

#[derive(Debug, Args)]
pub struct ReportOptions {
    /// Where to write charts and files: <out>/<tenant>/<date>/. Omit to only print.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How to print the table on stdout. json prints {"report","title","summary","columns","rows"}.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// high-scores: a high score is at least this share of questions right.
    #[arg(long, default_value_t = 0.8)]
    pub threshold: f64,
    /// most-missed: questions to show (ties extend the list).
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// least-popular: exams to show (ties extend the list).
    #[arg(long, default_value_t = 10)]
    pub bottom: usize,
    /// high-scores chart: leave out exams with fewer attempts.
    #[arg(long, default_value_t = 5)]
    pub min_attempts: u64,
    /// high-scores: "consistently high" looks at this many most recent weeks of data…
    #[arg(long, default_value_t = 4)]
    pub weeks: usize,
    /// …and needs the share's Wilson lower bound above 50% in at least this many of them.
    #[arg(long, default_value_t = 3)]
    pub weeks_needed: usize,
    /// item-analysis: items presented fewer times get no statistics.
    #[arg(long, default_value_t = 30)]
    pub item_min_n: usize,
    /// least-popular / last-taken: "stale" means no attempt in this many days before the latest.
    #[arg(long, default_value_t = 30)]
    pub stale_days: i64,
    /// Count "days since" to this date (YYYY-MM-DD; default today, UTC).
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Directory of edited query files (same names as queries/*.sql) replacing the built-in ones.
    #[arg(long)]
    pub queries: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report.
    #[arg(value_enum)]
    pub name: ReportChoice,
    /// The tenant whose tables to report on.
    #[arg(long, value_parser = tenant)]
    pub tenant: TenantId,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub token: TokenArg,
    #[command(flatten)]
    pub options: ReportOptions,
}

#[derive(Debug, Args)]
pub struct TokenArg {
    /// A file holding the tenant token (needed once tenants are registered with `examlake
    /// tenant add`); or set EXAMLAKE_TOKEN.
    #[arg(long, env = "EXAMLAKE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A file holding one SQL SELECT (Polars SQL) over the tables assessments, questions, options
    /// and exams of the tenant.
    pub file: PathBuf,
    /// The tenant whose tables the query sees (and no other's).
    #[arg(long, value_parser = tenant)]
    pub tenant: TenantId,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub token: TokenArg,
    /// table (default), csv, json (an array of row objects) or parquet (needs --out).
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    pub format: QueryFormat,
    /// Write the result to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// An NDJSON or JSON-array file of attempt events.
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, value_parser = tenant)]
    pub tenant: TenantId,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Where reports go: <reports>/<tenant>/<date>/.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The warehouse to build.
    #[arg(long, default_value = "warehouse")]
    pub warehouse: String,
    /// Where the reports go.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// The sample data directory (default: data/sample of this checkout).
    #[arg(long)]
    pub sample_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NightlyArgs {
    /// Drop folder: one sub-folder per tenant (`<drop>/<tenant>/*.ndjson[.gz]|*.json[.gz]`).
    #[arg(long, env = "EXAMLAKE_DROP")]
    pub drop: Option<PathBuf>,
    /// With --brokers: first land every tenant topic up to its high watermark (ingest
    /// --until-caught-up), then process every tenant with data.
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The consumer group of the Kafka catch-up (shared with the ingest daemon is fine: landing
    /// is exactly once either way).
    #[arg(long, default_value = "examlake-ingest")]
    pub group: String,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Where reports go: <reports>/<tenant>/<date>/, plus <reports>/<tenant>/latest and
    /// <reports>/nightly-<date>.json (the run summary).
    #[arg(long, env = "EXAMLAKE_REPORTS", default_value = "reports")]
    pub reports: PathBuf,
    /// The lock file that keeps two runs apart (default <reports>/.nightly.lock).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Records per raw Parquet file when ingesting.
    #[arg(long, default_value_t = DEFAULT_INGEST_BATCH_RECORDS)]
    pub batch_records: usize,
}

#[derive(Debug, Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    pub action: TenantAction,
}

#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Register a tenant: its warehouse root, an analyst token (printed once), and with
    /// --brokers its topic assessments.<tenant>; with --kafka-admin-command also its Kafka
    /// credential and ACLs (the command is run as `CMD add TENANT`).
    Add(TenantAddArgs),
    /// The registered tenants and their tokens (ids and dates only, never secrets).
    List(TenantListArgs),
    /// Revoke every token of a tenant and unregister it (its data is kept); with
    /// --kafka-admin-command also remove its Kafka credential (`CMD remove TENANT`).
    Remove(TenantAddArgs),
    /// Issue a new token for a registered tenant (printed once).
    Token(TenantTokenArgs),
}

#[derive(Debug, Args)]
pub struct TenantAddArgs {
    #[arg(value_parser = tenant)]
    pub tenant: TenantId,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Partitions of the tenant's topic.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// A command that creates (`CMD add TENANT`) or removes (`CMD remove TENANT`) the tenant's
    /// Kafka credential and ACLs, e.g. "scripts/services.sh kafka-tenant" locally.
    #[arg(long, env = "EXAMLAKE_KAFKA_ADMIN_COMMAND")]
    pub kafka_admin_command: Option<String>,
    /// Days the analyst token stays valid (default: until revoked).
    #[arg(long)]
    pub token_days: Option<i64>,
    /// HDFS warehouses: give the tenant's root to this user (mode 0770, group --hdfs-group), so
    /// a job running as another tenant's user cannot list it. Needs the HDFS superuser.
    #[arg(long)]
    pub hdfs_owner: Option<String>,
    /// The group of --hdfs-owner's directory: the examlake service's group.
    #[arg(long, default_value = "examlake")]
    pub hdfs_group: String,
}

#[derive(Debug, Args)]
pub struct TenantListArgs {
    #[command(flatten)]
    pub warehouse: WarehouseArg,
}

#[derive(Debug, Args)]
pub struct TenantTokenArgs {
    #[arg(value_parser = tenant)]
    pub tenant: TenantId,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Days the token stays valid (default: until revoked).
    #[arg(long)]
    pub days: Option<i64>,
    /// Revoke the tenant's other tokens (credential rotation).
    #[arg(long)]
    pub revoke_others: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check the settings file (unknown keys, bad values) and print every effective setting
    /// with where it came from: environment, file or default.
    Check,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The reports directory (<reports>/<tenant>/<date>/); skipped when it does not exist.
    #[arg(long, env = "EXAMLAKE_REPORTS", default_value = "reports")]
    pub reports: PathBuf,
    /// Keep report directories dated within this many days of today (the one `latest` points
    /// to is always kept).
    #[arg(long, default_value_t = 30)]
    pub keep_days: i64,
    /// Also retire raw files landed more than this many days ago. Only raw files the transform
    /// has already applied are retired (their attempts stay in the tables; the manifest keeps
    /// their lineage), and the newest file of each source/partition is kept so ingest resumes
    /// where it was. Without this flag raw files are never touched.
    #[arg(long)]
    pub raw_keep_days: Option<i64>,
    /// The warehouse whose raw files --raw-keep-days retires.
    #[arg(long, env = "EXAMLAKE_WAREHOUSE", default_value = "warehouse")]
    pub warehouse: String,
    /// Delete for real; without it, only list what would be deleted. Raw files of a tenant are
    /// deleted under its transform lock, so they never vanish under a running transform: such a
    /// tenant is skipped, the others are still processed, and the run exits 5 naming it.
    #[arg(long)]
    pub apply: bool,
    /// Take over a tenant's transform lock even when its holder may still be running (only once
    /// that run is known to be gone: a crashed run on another host, say).
    #[arg(long, requires = "apply")]
    pub break_lock: bool,
}
