//! Many hosts' snapshots side by side: one file per host (named after it, as the Ansible example
//! fetches them), every listener grouped by what makes two hosts' listeners "the same" — port,
//! protocol and program — with the hosts that have it, and the one rule that calls a listener an
//! outlier. `diff --fleet` prints the outliers; the fleet view (`view DIR`) browses them all.
//!
//! Owns reading a fleet (bounded reads, the skip-or-fail choice for a bad file, host names that
//! stay apart) and the grouping; must not draw, print or judge single sockets (hints stay with
//! the explorer of one host). Text inside is raw: the printers escape it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::{read_capped, SNAPSHOT_LIMIT};
use crate::registry::Protocol;
use crate::sockets::{FixtureCollector, Snapshot, SocketState, SCHEMA_VERSION};

/// What makes two hosts' listeners "the same": where it listens and what program holds it (the
/// executable's file name, which a process cannot rename, when it is known).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ListenerKind {
    pub port: u16,
    pub protocol: Protocol,
    pub program: String,
}

/// One host of the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct FleetHost {
    /// The name shown: the file's name without `.json`, made unique across the fleet.
    pub name: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// What the snapshot says the host is called.
    pub hostname: String,
    pub taken_at: u64,
    /// Listening sockets in the snapshot (a dual-stack pair counts twice here, once as a kind).
    pub listeners: usize,
    /// Distinct listener kinds.
    pub kinds: usize,
    /// Of those, how many are outliers.
    pub outliers: usize,
}

/// One listener kind and the hosts that have it.
#[derive(Debug, Clone)]
pub struct KindRow {
    pub kind: ListenerKind,
    /// Indices into [`Fleet::hosts`], ascending.
    pub hosts: Vec<u32>,
}

/// A file left out of the fleet, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: String,
}

/// Many hosts, their listener kinds, and the outlier threshold.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub hosts: Vec<FleetHost>,
    /// Sorted by kind (port, protocol, program).
    pub kinds: Vec<KindRow>,
    /// A kind on at most this many hosts is an outlier; 0 when the fleet has fewer than two
    /// hosts (nothing to compare with).
    pub threshold: usize,
    /// Files that could not be read (only when [`OnBadFile::Skip`]).
    pub skipped: Vec<Skipped>,
    /// Things the user should know about the inputs (a file given twice, two files of one host).
    pub notes: Vec<String>,
}

/// What to do with a file that is not a readable snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBadFile {
    /// Stop, naming it: `diff --fleet` (cron must not report a partial fleet as complete) and
    /// files the user named one by one.
    Fail,
    /// Leave it out and say so: browsing a directory where one fetch failed still shows the
    /// other hosts.
    Skip,
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{dir}: cannot read the directory: {reason}")]
    Dir { dir: String, reason: String },
    #[error("{0}")]
    Snapshot(String),
    #[error("no snapshot could be read: {0}")]
    AllBad(String),
    #[error("--max-hosts must be between 1 and {} (one less than the {hosts} hosts)", .hosts - 1)]
    Threshold { hosts: usize },
}

/// The outlier rule, in one place: a listener kind on at most `threshold` hosts, where the
/// threshold is what the user asked for, or by default 1 host or 10% of the fleet when that is
/// more. Both `diff --fleet` and the fleet view ask this.
pub fn is_outlier(on_hosts: usize, threshold: usize) -> bool {
    on_hosts <= threshold
}

/// The default threshold for a fleet of `hosts`: 1, or 10% of the hosts when that is more.
pub fn default_threshold(hosts: usize) -> usize {
    (hosts / 10).max(1)
}

impl Fleet {
    /// Set the threshold: `max_hosts`, or the default. It must leave at least one host out, or
    /// everything would be an outlier.
    pub fn set_threshold(&mut self, max_hosts: Option<usize>) -> Result<(), FleetError> {
        let hosts = self.hosts.len();
        if hosts < 2 {
            self.threshold = 0;
            return Ok(());
        }
        let threshold = max_hosts.unwrap_or_else(|| default_threshold(hosts));
        if threshold == 0 || threshold >= hosts {
            return Err(FleetError::Threshold { hosts });
        }
        self.threshold = threshold;
        self.count_outliers();
        Ok(())
    }

    pub fn is_outlier(&self, row: &KindRow) -> bool {
        self.threshold > 0 && is_outlier(row.hosts.len(), self.threshold)
    }

    pub fn outliers(&self) -> impl Iterator<Item = &KindRow> + '_ {
        self.kinds.iter().filter(|r| self.is_outlier(r))
    }

    fn count_outliers(&mut self) {
        for h in &mut self.hosts {
            h.outliers = 0;
        }
        for row in &self.kinds {
            if self.threshold > 0 && is_outlier(row.hosts.len(), self.threshold) {
                for &h in &row.hosts {
                    self.hosts[h as usize].outliers += 1;
                }
            }
        }
    }
}

/// Every `*.json` directly in `dir`, sorted by name.
pub fn snapshot_files(dir: &Path) -> Result<Vec<PathBuf>, FleetError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FleetError::Dir {
        dir: dir.display().to_string(),
        reason: crate::files::reason(&e),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Read the snapshots in `files` (one host each) into a fleet with the default threshold.
pub fn load(files: &[PathBuf], bad: OnBadFile) -> Result<Fleet, FleetError> {
    let mut notes = Vec::new();
    // The same file twice (`view a.json ./a.json`) would count its host twice.
    let mut seen = std::collections::HashSet::new();
    let mut unique: Vec<&PathBuf> = Vec::with_capacity(files.len());
    for f in files {
        let id = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if seen.insert(id) {
            unique.push(f);
        } else {
            notes.push(format!("{} was given twice: shown once", f.display()));
        }
    }
    let read = read_all(&unique);
    let mut hosts: Vec<FleetHost> = Vec::with_capacity(unique.len());
    let mut skipped = Vec::new();
    let mut by_kind: HashMap<ListenerKind, Vec<u32>> = HashMap::new();
    let mut first_error = None;
    for (path, result) in unique.iter().zip(read) {
        let host = match result {
            Ok(host) => host,
            Err(why) => {
                let message = format!("{}: {why}", path.display());
                if bad == OnBadFile::Fail {
                    return Err(FleetError::Snapshot(message));
                }
                first_error.get_or_insert(message);
                skipped.push(Skipped {
                    path: (*path).clone(),
                    why,
                });
                continue;
            }
        };
        let index = hosts.len() as u32;
        let mut kinds = host.kinds;
        kinds.sort_unstable();
        kinds.dedup();
        let count = kinds.len();
        for kind in kinds {
            by_kind.entry(kind).or_default().push(index);
        }
        hosts.push(FleetHost {
            name: String::new(),
            path: (*path).clone(),
            hostname: host.hostname,
            taken_at: host.taken_at,
            listeners: host.listeners,
            kinds: count,
            outliers: 0,
        });
    }
    if hosts.is_empty() {
        if let Some(e) = first_error {
            return Err(FleetError::AllBad(e));
        }
    }
    name_hosts(&mut hosts);
    notes.extend(same_hostname_notes(&hosts));
    let mut kinds: Vec<KindRow> = by_kind
        .into_iter()
        .map(|(kind, hosts)| KindRow { kind, hosts })
        .collect();
    kinds.sort_unstable_by(|a, b| a.kind.cmp(&b.kind));
    let mut fleet = Fleet {
        hosts,
        kinds,
        threshold: 0,
        skipped,
        notes,
    };
    fleet.set_threshold(None)?;
    Ok(fleet)
}

/// One host's snapshot as the fleet needs it.
struct HostRead {
    hostname: String,
    taken_at: u64,
    listeners: usize,
    kinds: Vec<ListenerKind>,
}

/// Read every file, on a few threads (parsing dominates: 50 hosts × 1,000 listeners is about
/// 90 MB of JSON). Results come back in the order of `files`.
fn read_all(files: &[&PathBuf]) -> Vec<Result<HostRead, String>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<HostRead, String>>> = Vec::new();
    results.resize_with(files.len(), || None);
    let results = std::sync::Mutex::new(results);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { return };
                let read = read_host(path);
                results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(read);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not read".into())))
        .collect()
}

/// The fields of a snapshot file a fleet needs; serde skips the rest, which makes reading many
/// hosts several times faster than building whole snapshots.
#[derive(Deserialize)]
struct LiteSnapshot {
    schema_version: u32,
    host: LiteHost,
    sockets: Vec<LiteSocket>,
}

#[derive(Deserialize)]
struct LiteHost {
    hostname: String,
    taken_at: u64,
}

#[derive(Deserialize)]
struct LiteSocket {
    protocol: Protocol,
    local_port: u16,
    state: SocketState,
    owners: Vec<LiteOwner>,
}

#[derive(Deserialize)]
struct LiteOwner {
    name: String,
    exe: Option<String>,
}

/// One host's listener kinds, read with a bounded read. A file the quick reader refuses goes
/// through the full snapshot reader, whose error says what is wrong with it.
fn read_host(path: &Path) -> Result<HostRead, String> {
    let bytes = read_capped(path, SNAPSHOT_LIMIT, "a snapshot").map_err(|e| e.to_string())?;
    let lite = serde_json::from_slice::<LiteSnapshot>(&bytes)
        .ok()
        .filter(|l| l.schema_version <= SCHEMA_VERSION);
    let Some(lite) = lite else {
        let snapshot = FixtureCollector::from_json(&bytes, "")
            .map(|c| c.snapshot)
            .map_err(|e| match e {
                crate::sockets::CollectError::Snapshot { problem, .. } => problem,
                other => other.to_string(),
            })?;
        return Ok(host_of(&snapshot));
    };
    let listening = lite.sockets.iter().filter(|s| s.state.is_listener());
    Ok(HostRead {
        hostname: lite.host.hostname,
        taken_at: lite.host.taken_at,
        listeners: listening.clone().count(),
        kinds: listening
            .map(|s| ListenerKind {
                port: s.local_port,
                protocol: s.protocol,
                program: program_of(
                    s.owners
                        .first()
                        .map(|o| (o.exe.as_deref(), o.name.as_str())),
                ),
            })
            .collect(),
    })
}

fn host_of(snapshot: &Snapshot) -> HostRead {
    let kinds: Vec<ListenerKind> = kinds(snapshot);
    HostRead {
        hostname: snapshot.host.hostname.clone(),
        taken_at: snapshot.host.taken_at,
        listeners: snapshot
            .sockets
            .iter()
            .filter(|s| s.state.is_listener())
            .count(),
        kinds,
    }
}

/// The listener kinds of one host, one per listening socket (a dual-stack pair gives the same
/// kind twice: callers that count hosts deduplicate).
pub fn kinds(snapshot: &Snapshot) -> Vec<ListenerKind> {
    snapshot
        .sockets
        .iter()
        .filter(|s| s.state.is_listener())
        .map(|s| ListenerKind {
            port: s.local_port,
            protocol: s.protocol,
            program: program_of(
                s.owners
                    .first()
                    .map(|o| (o.exe.as_deref(), o.name.as_str())),
            ),
        })
        .collect()
}

/// The executable's file name (a process cannot rename that), else the name it gives itself.
fn program_of(owner: Option<(Option<&str>, &str)>) -> String {
    match owner {
        Some((exe, name)) => exe
            .and_then(|e| e.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or(name)
            .to_string(),
        None => "(owner unknown)".to_string(),
    }
}

/// Name each host after its file (`web1.json` → `web1`); files of the same name in different
/// directories get their directory's name in front (`dc1/web1`, `dc2/web1`), and what still
/// collides its whole path.
fn name_hosts(hosts: &mut [FleetHost]) {
    let stem = |p: &Path| {
        p.file_stem().map_or_else(
            || p.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let with_dir = |p: &Path| match p
        .parent()
        .and_then(|d| d.file_name())
        .map(|d| d.to_string_lossy().into_owned())
    {
        Some(dir) => format!("{dir}/{}", stem(p)),
        None => stem(p),
    };
    let namers: [&dyn Fn(&Path) -> String; 3] =
        [&stem, &with_dir, &|p: &Path| p.display().to_string()];
    for h in hosts.iter_mut() {
        h.name = stem(&h.path);
    }
    for namer in &namers[1..] {
        let mut count: HashMap<String, usize> = HashMap::new();
        for h in hosts.iter() {
            *count.entry(h.name.clone()).or_default() += 1;
        }
        if count.values().all(|&n| n == 1) {
            return;
        }
        for h in hosts.iter_mut() {
            if count[&h.name] > 1 {
                h.name = namer(&h.path);
            }
        }
    }
}

/// Files whose snapshots report the same hostname: they may be one host taken twice (its
/// listeners then count twice) or two hosts that share a name; the user should know, and only
/// they can tell which.
fn same_hostname_notes(hosts: &[FleetHost]) -> Vec<String> {
    let mut by_hostname: HashMap<&str, Vec<&str>> = HashMap::new();
    for h in hosts {
        by_hostname.entry(&h.hostname).or_default().push(&h.name);
    }
    let mut notes: Vec<String> = by_hostname
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(hostname, names)| {
            format!(
                "{} report the same hostname ({hostname}): if they are one host, it counts {} times",
                names.join(", "),
                names.len()
            )
        })
        .collect();
    notes.sort();
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::fixtures;

    fn write(dir: &Path, name: &str, snapshot: &Snapshot) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(snapshot).unwrap()).unwrap();
        path
    }

    fn sshd() -> crate::sockets::Socket {
        fixtures::tcp(
            "0.0.0.0",
            22,
            fixtures::owner(1, "sshd", 0, "/usr/sbin/sshd"),
        )
    }

    #[test]
    fn a_listener_few_hosts_have_is_an_outlier_and_programs_are_told_by_executable() {
        let dir = tempfile::tempdir().unwrap();
        // Same port, a process calling itself sshd but running another executable.
        let fake = fixtures::tcp("0.0.0.0", 22, fixtures::owner(2, "sshd", 0, "/tmp/x/miner"));
        let files = vec![
            write(dir.path(), "a.json", &fixtures::snapshot(vec![sshd()])),
            write(dir.path(), "b.json", &fixtures::snapshot(vec![sshd()])),
            write(dir.path(), "c.json", &fixtures::snapshot(vec![fake])),
        ];
        let fleet = load(&files, OnBadFile::Fail).unwrap();
        let lonely: Vec<(&str, Vec<&str>)> = fleet
            .outliers()
            .map(|r| {
                (
                    r.kind.program.as_str(),
                    r.hosts
                        .iter()
                        .map(|&h| fleet.hosts[h as usize].name.as_str())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(lonely, [("miner", vec!["c"])]);
        assert_eq!(fleet.hosts[2].outliers, 1);
        assert_eq!(fleet.hosts[0].outliers, 0);
    }

    #[test]
    fn a_bad_file_fails_or_is_skipped_as_asked_and_names_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["dc1", "dc2"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let good = write(
            dir.path(),
            "dc1/web.json",
            &fixtures::snapshot(vec![sshd()]),
        );
        let twin = write(
            dir.path(),
            "dc2/web.json",
            &fixtures::snapshot(vec![sshd()]),
        );
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, b"{\"schema_version\": 1, \"host\"").unwrap();
        let files = vec![good.clone(), twin, broken.clone(), good.clone()];

        let err = load(&files, OnBadFile::Fail).unwrap_err().to_string();
        assert!(
            err.contains("broken.json") && err.contains("truncated"),
            "{err}"
        );

        let fleet = load(&files, OnBadFile::Skip).unwrap();
        let names: Vec<&str> = fleet.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["dc1/web", "dc2/web"]);
        assert_eq!(fleet.skipped.len(), 1);
        assert!(fleet.skipped[0].why.contains("truncated"));
        // Given twice, shown once; both fixtures call their host the same: said so.
        assert!(
            fleet.notes.iter().any(|n| n.contains("given twice")),
            "{:?}",
            fleet.notes
        );
        assert!(
            fleet
                .notes
                .iter()
                .any(|n| n.contains("report the same hostname")),
            "{:?}",
            fleet.notes
        );

        let err = load(&[broken], OnBadFile::Skip).unwrap_err().to_string();
        assert!(err.starts_with("no snapshot could be read"), "{err}");
    }

    #[test]
    fn the_threshold_is_one_or_ten_percent_and_must_leave_a_host_out() {
        assert_eq!(default_threshold(2), 1);
        assert_eq!(default_threshold(50), 5);
        let dir = tempfile::tempdir().unwrap();
        let one = vec![write(
            dir.path(),
            "a.json",
            &fixtures::snapshot(vec![sshd()]),
        )];
        let mut fleet = load(&one, OnBadFile::Fail).unwrap();
        assert_eq!(fleet.threshold, 0, "one host: nothing to compare with");
        assert_eq!(fleet.outliers().count(), 0);
        let two = vec![
            one[0].clone(),
            write(dir.path(), "b.json", &fixtures::snapshot(vec![])),
        ];
        fleet = load(&two, OnBadFile::Fail).unwrap();
        assert!(fleet.set_threshold(Some(2)).is_err());
        assert!(fleet.set_threshold(Some(0)).is_err());
        fleet.set_threshold(Some(1)).unwrap();
        assert_eq!(fleet.outliers().count(), 1);
    }
}
