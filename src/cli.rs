//! The command-line interface, defined once: parsing, `--help`, shell completions and the man page
//! are all generated from these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::report::SortKey;

/// What is listening on this port, and should it be?
///
/// With no subcommand, portscope opens the full-screen explorer: the IANA registry with fuzzy
/// search beside this machine's live listeners, and a detail pane with the owning process, the
/// registry entry and investigation hints.
#[derive(Debug, Parser)]
#[command(name = "portscope", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Use this IANA CSV for this run instead of the imported or embedded registry.
    #[arg(long, global = true, value_name = "FILE")]
    pub registry: Option<PathBuf>,

    /// Print machine-readable JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,

    /// Seconds between refreshes in the explorer.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,

    /// The explorer marks listeners expected or not by this expected-listeners file (default:
    /// /etc/portscope/expected.toml, then $XDG_CONFIG_HOME/portscope/expected.toml).
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show every registry entry for a port (80, 80/tcp) or a service name (ssh).
    Lookup(LookupArgs),
    /// Fuzzy-search the registry by service name, description, assignee or port.
    Search(SearchArgs),
    /// List this machine's listening sockets with their owning processes.
    List(ListArgs),
    /// Explain the live sockets of a pid or a port: process, registry entry, known uses, hints.
    Explain(ExplainArgs),
    /// Inspect or replace the registry portscope uses.
    Registry(RegistryArgs),
    /// Write a snapshot of this machine's sockets (with owners and hints) as JSON.
    Snapshot(SnapshotArgs),
    /// Open the explorer on a saved snapshot (a file, or - for standard input), or the fleet view
    /// on a directory of them (one per host).
    View(ViewArgs),
    /// Compare two snapshots: listeners opened, closed or changed. Exit 0 equal, 1 differ.
    Diff(DiffArgs),
    /// Explore another host's live listeners over ssh; nothing stays installed there.
    ///
    /// Runs the explorer here and a collector on HOST over one ssh connection (your own ssh, so
    /// your config, keys, agent and jump hosts apply). A portscope on HOST's PATH that speaks the
    /// same stream is used; otherwise this binary is sent into a private temporary directory there
    /// and removed when the collector exits.
    Ssh(SshArgs),
    /// The remote end of `portscope ssh`: stream this machine's sockets as changes (JSON lines)
    /// until standard input closes.
    #[command(hide = true)]
    Collector(CollectorArgs),
    /// Say what this run can see and why not, with the fix for each gap.
    Doctor,
    /// Write an expected-listeners file (TOML) from what listens now, ready to edit.
    Baseline(BaselineArgs),
    /// Check the listeners against the expected-listeners file. Exit 0 all expected and every
    /// required one present, 1 not, 2 on error.
    Check(CheckArgs),
    /// Where each listener can be reached from (loopback, LAN, public, container bridge) and what
    /// the firewall (nftables, iptables) says about each way in.
    Reach(ReachArgs),
    /// Print listener metrics in Prometheus text format (for node_exporter's textfile collector).
    Metrics(MetricsArgs),
    /// Stream listeners opened, closed or changed, one JSON object per line.
    Watch(WatchArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to standard output.
    Man,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// A port (0-65535), a port with protocol (80/tcp), or a service name (ssh).
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Show every known use of the port; without it a crowded port shows the first few
    /// (documented and common uses first). `--json` always holds every one.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words, a port (3389) or a port range (3000-3100).
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Show at most this many hits.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Only entries for this transport protocol.
    #[arg(long, value_enum)]
    pub proto: Option<ProtoArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtoArg {
    Tcp,
    Udp,
    Sctp,
    Dccp,
}

#[derive(Debug, Args, Default, Clone)]
pub struct ListArgs {
    /// Also list connections, not only listeners and bound UDP sockets.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Only TCP sockets.
    #[arg(long, short = 't', conflicts_with = "udp")]
    pub tcp: bool,
    /// Only UDP sockets.
    #[arg(long, short = 'u')]
    pub udp: bool,
    /// Only sockets on this local port.
    #[arg(long, short = 'p', value_name = "PORT")]
    pub port: Option<u16>,
    /// Only sockets owned by this pid.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Only sockets whose process name contains this text.
    #[arg(long, value_name = "NAME")]
    pub process: Option<String>,
    /// Only sockets owned by this user.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Sort rows by this column.
    #[arg(long, value_enum, default_value_t = SortKey::Port)]
    pub sort: SortKey,
    /// Only sockets where any of port, address, process, pid, user, service or hint id
    /// contains this text (any case).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Print CSV instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Which network namespaces: `host` (the default), `all`, or one by its `ip netns` name,
    /// its label (`container web`) or its inode.
    #[arg(long, value_name = "NAME|all|host")]
    pub netns: Option<String>,
    /// Also check each owner's executable against its package's digest (hashes every
    /// executable once: slower).
    #[arg(long)]
    pub verify: bool,
    /// Mark each listener expected or not by this expected-listeners file (default: as
    /// `check`; without any file nothing is marked).
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A pid, a port (22) or a port with protocol (53/udp).
    pub target: String,
    /// Say whether each listener is expected by this expected-listeners file (default: as
    /// `check`).
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub action: RegistryAction,
}

#[derive(Debug, Subcommand)]
pub enum RegistryAction {
    /// Where the registry in use comes from, how many rows it has and how old it is.
    Info,
    /// Validate an official IANA CSV and use it from now on instead of the embedded copy.
    Import {
        /// service-names-port-numbers.csv as downloaded from IANA.
        file: PathBuf,
    },
    /// Forget an imported registry and go back to the embedded copy.
    Reset,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Include every connection, not only listeners.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Also record whether each owner's executable still matches its package (hashes every
    /// executable once: slower).
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// A snapshot file written by `portscope snapshot`, or - for standard input. A directory of
    /// snapshots (*.json, one per host), or several files, open the fleet view: listeners
    /// across hosts, outliers marked, Enter opens one host.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline snapshot.
    #[arg(required_unless_present = "fleet")]
    pub old: Option<PathBuf>,
    /// The snapshot to compare against it.
    #[arg(required_unless_present = "fleet")]
    pub new: Option<PathBuf>,
    /// Compare many hosts instead: every snapshot (*.json) in DIR, one per host. Prints the
    /// listeners (port, protocol, program) only a few hosts have. Exit 0 none, 1 outliers, 2 error.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["old", "new"])]
    pub fleet: Option<PathBuf>,
    /// With --fleet: a listener on at most this many hosts is an outlier (default: 1, or 10% of
    /// the hosts when that is more).
    #[arg(long, value_name = "N", requires = "fleet")]
    pub max_hosts: Option<usize>,
    /// Leave out the changes the expected-listeners file expects: listeners opened or changed
    /// that a rule matches, and listeners closed that no required rule now misses. Give the file
    /// as --expected=FILE; alone, the file is found as `check` finds it.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        conflicts_with = "fleet"
    )]
    pub expected: Option<Option<PathBuf>>,
}

#[derive(Debug, Args)]
pub struct SshArgs {
    /// The host as ssh takes it: HOST, USER@HOST, or a Host alias from your ssh config.
    pub destination: String,
    /// Options for ssh itself, after `--` (e.g. `-- -p 2222 -J bastion`).
    #[arg(last = true, value_name = "SSH OPTIONS")]
    pub ssh_options: Vec<String>,
    /// Collect as root through `sudo -n` (no password prompt: sudo must allow it without one).
    #[arg(long)]
    pub sudo: bool,
    /// Send this binary even when HOST has a compatible portscope on its PATH.
    #[arg(long)]
    pub upload: bool,
    /// Send this file instead of the running binary (e.g. a static build for an older host).
    #[arg(long, value_name = "FILE")]
    pub binary: Option<PathBuf>,
    /// Print HOST's listeners once (as `list` would, or JSON with --json) and disconnect.
    #[arg(long)]
    pub once: bool,
    /// Also collect connections, not only listeners.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Seconds between collections on HOST (default: the explorer's --interval).
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<f64>,
}

#[derive(Debug, Args)]
pub struct CollectorArgs {
    /// Seconds between collections.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,
    /// Include every connection, not only listeners.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Delete this executable (and its directory, once empty) as soon as it runs: `portscope
    /// ssh` uploads it to a temporary directory and leaves nothing behind.
    #[arg(long)]
    pub unlink_self: bool,
    /// Print the stream protocol this collector speaks and exit.
    #[arg(long)]
    pub protocol_version: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Mark every rule `required = true`: the check then also fails when one of today's
    /// listeners is gone.
    #[arg(long)]
    pub required: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The expected-listeners file (default: /etc/portscope/expected.toml, then
    /// $XDG_CONFIG_HOME/portscope/expected.toml).
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    /// Print nothing when everything is as expected (for cron, which mails any output).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ReachArgs {
    /// Only listeners on this port.
    #[arg(long, short = 'p', value_name = "PORT")]
    pub port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The expected-listeners file for the unexpected/missing counts (default: as `check`; the
    /// counts are left out when there is none).
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    /// Write to this file atomically (the textfile collector reads *.prom files) instead of
    /// standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not read the firewall (reach then says only what the addresses allow).
    #[arg(long)]
    pub no_firewall: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Newline-delimited JSON (the only format; required so a future one can be added).
    #[arg(long, required = true)]
    pub ndjson: bool,
    /// Seconds between looks.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,
}
