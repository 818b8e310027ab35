//! Who really holds a socket: facts about an owning process, each established from evidence on
//! this machine or stated as unknown with the reason.
//!
//! This module owns reading the package databases (dpkg, rpm, apk) and checking the running
//! executable against them ([`package`]), the process's cgroup: systemd unit, container and
//! Kubernetes pod ([`cgroup`]), and its ancestry and session kind ([`ancestry`]). It reads the
//! [`sockets`](crate::sockets) model and must not touch collection, hints or any output: words
//! for a user are the report layer's, escaping is the printer's (every string here is raw).
//!
//! # How the report layer uses it
//!
//! ```no_run
//! use portscope::facts::{Depth, FactsCache, Roots};
//! # let owner: portscope::sockets::Owner = todo!();
//! let mut facts = FactsCache::new(Roots::system()); // keep one across refreshes
//! // Every owner on every refresh: cgroup (unit, container, pod) and the package, from caches.
//! let cheap = facts.establish(&owner, Depth::Cheap);
//! // The detail of one socket (explain, the explorer's detail pane): + ancestry and session.
//! let detail = facts.establish(&owner, Depth::Detail);
//! // Only when shown or asked for (`--verify`): + integrity, hashing the running executable.
//! let verified = facts.establish(&owner, Depth::Verify);
//! println!("{}", verified.provenance_line());
//! // Or per socket: every owner, the namespace label, the declaring .socket unit.
//! # let socket: portscope::sockets::Socket = todo!();
//! let all = facts.for_socket(&socket, Depth::Detail);
//! ```
//!
//! Every field is a [`Fact`]: `Known(value)` or `Unknown(why)`. Package and integrity are cached
//! by the executable's identity (device, inode, mtime, size of the file `/proc/PID/exe` points
//! at), so a refresh costs one `stat` per owner; the dpkg file lists are searched once per batch
//! of new executables ([`FactsCache::prefetch`]) and again only when the database changes. A
//! socket in another network namespace is named by [`FactsCache::namespace_label`].
//!
//! Each reader takes its root from [`Roots`], so tests point it at a fixture tree where the real
//! thing cannot run here. Every read is size-capped; a failure is a fact "unknown (why)", never
//! a panic and never a guess.

pub mod ancestry;
pub mod cgroup;
// The readers above compile everywhere (they read files by path) but run on Linux only: on
// other OSes every fact is "unknown (not available on this OS)".
mod elsewhere;
pub mod package;
pub mod table;

pub use elsewhere::NOT_ON_THIS_OS;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use ancestry::{SessionKind, Step};
pub use cgroup::{Container, Pod, Runtime, SocketUnit, Unit};
pub use package::{Integrity, Manager, PackageInfo, Place, Provenance};
pub use table::{FactsTable, Recorded};

use crate::sockets::{NetNs, Owner, Socket};

/// A fact about a process: established from evidence, or unknown with the reason why (raw text,
/// may quote a path or file content: escape it to print).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "state", content = "value")]
pub enum Fact<T> {
    Known(T),
    Unknown(String),
}

impl<T> Fact<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            Fact::Unknown(_) => None,
        }
    }

    /// Why it is unknown; `None` when known.
    pub fn why(&self) -> Option<&str> {
        match self {
            Fact::Known(_) => None,
            Fact::Unknown(why) => Some(why),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Known(v) => Fact::Known(f(v)),
            Fact::Unknown(why) => Fact::Unknown(why),
        }
    }
}

impl<T> From<Result<T, String>> for Fact<T> {
    fn from(r: Result<T, String>) -> Fact<T> {
        match r {
            Ok(v) => Fact::Known(v),
            Err(why) => Fact::Unknown(why),
        }
    }
}

/// Where each reader looks. [`Roots::system`] is the real machine; a test replaces any part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// The filesystem root executables' paths are relative to (usrmerge is judged here).
    pub root: PathBuf,
    /// The proc mount: `PID/exe`, `PID/cgroup`, `PID/stat`.
    pub proc: PathBuf,
    /// dpkg's admin directory (`info/*.list`, `info/*.md5sums`, `diversions`).
    pub dpkg: PathBuf,
    /// apk's installed-packages database.
    pub apk_installed: PathBuf,
    /// rpm's database directory; `rpm` is asked only when it exists and the command is found.
    pub rpm_db: PathBuf,
    /// Docker's data root (`containers/<id>/config.v2.json`).
    pub docker: PathBuf,
    /// containers/storage (Podman, CRI-O): `overlay-containers/containers.json`.
    pub containers_storage: PathBuf,
    /// The kubelet's root (`pods/<uid>/etc-hosts`).
    pub kubelet: PathBuf,
    /// Directories holding systemd unit files, searched for `.socket` units in this order.
    pub unit_dirs: Vec<PathBuf>,
}

impl Roots {
    pub fn system() -> Roots {
        Roots {
            root: "/".into(),
            proc: "/proc".into(),
            dpkg: "/var/lib/dpkg".into(),
            apk_installed: "/lib/apk/db/installed".into(),
            rpm_db: "/var/lib/rpm".into(),
            docker: "/var/lib/docker".into(),
            containers_storage: "/var/lib/containers/storage".into(),
            kubelet: "/var/lib/kubelet".into(),
            unit_dirs: [
                "/etc/systemd/system",
                "/run/systemd/system",
                "/run/systemd/generator",
                "/usr/local/lib/systemd/system",
                "/usr/lib/systemd/system",
                "/lib/systemd/system",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
        }
    }

    /// `path` (absolute, as a process sees it) under [`Roots::root`].
    pub fn under_root(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

/// How much to establish: each level includes the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Depth {
    /// For every owner on every refresh: unit, container, pod (one cgroup read) and the package
    /// (one stat, then caches). No hashing, no ancestry.
    Cheap,
    /// For the one socket shown in detail: + ancestry and session kind.
    Detail,
    /// + integrity: the running executable hashed and compared with its package's digest.
    Verify,
}

/// Everything established about one owning process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerFacts {
    pub pid: u32,
    /// Which package the running executable comes from, or that it comes from none.
    pub package: Fact<Provenance>,
    /// Whether the running executable still matches its package; `None` below
    /// [`Depth::Verify`] (not asked, which is not the same as unknown).
    pub integrity: Option<Fact<Integrity>>,
    /// The process's cgroup path as the kernel gave it (raw).
    pub cgroup: Fact<String>,
    /// The systemd unit it runs in.
    pub unit: Fact<Unit>,
    /// The container it runs in; `Known(None)`: its cgroup names none.
    pub container: Fact<Option<Container>>,
    /// The Kubernetes pod; `Known(None)`: its cgroup names none.
    pub pod: Fact<Option<Pod>>,
    /// How it was started, from its ancestry; `None` below [`Depth::Detail`].
    pub session: Option<Fact<SessionKind>>,
    /// pid → parent → … → 1; empty below [`Depth::Detail`].
    pub ancestry: Vec<Step>,
    /// Why the ancestry stops before pid 1, when it does.
    pub ancestry_broken: Option<String>,
}

impl OwnerFacts {
    /// One line on where the running executable comes from: "from package python3.11-minimal,
    /// unmodified", "not from any package (in a temporary directory)", … Raw: escape to print.
    pub fn provenance_line(&self) -> String {
        let integrity = self.integrity.as_ref();
        match &self.package {
            Fact::Unknown(why) => format!("package unknown ({why})"),
            Fact::Known(Provenance::NotPackaged { place }) => {
                format!("not from any package ({})", place.describe())
            }
            Fact::Known(Provenance::Package(p)) => {
                let state = match integrity {
                    None => "not verified".to_string(),
                    Some(Fact::Known(i)) => i.describe().to_string(),
                    Some(Fact::Unknown(why)) => format!("integrity unknown ({why})"),
                };
                format!("from package {}, {state}", p.display_name())
            }
        }
    }

    /// True when the running executable differs from what its package installed: an alert.
    pub fn is_modified(&self) -> bool {
        matches!(
            self.integrity,
            Some(Fact::Known(Integrity::Modified { .. }))
        )
    }
}

/// Everything established about one socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketFacts {
    /// One per owner, in the socket's owner order.
    pub owners: Vec<OwnerFacts>,
    /// The namespace's label ([`FactsCache::namespace_label`]); `None`: the host's.
    pub netns: Option<String>,
    /// The `.socket` unit that declares this listener; `None` below [`Depth::Detail`].
    pub socket_unit: Option<Fact<Option<cgroup::SocketUnit>>>,
}

/// The identity of an executable file: what the package and integrity caches are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExeId {
    pub dev: u64,
    pub ino: u64,
    pub mtime_ns: i128,
    pub size: u64,
}

impl ExeId {
    fn of(meta: &std::fs::Metadata) -> ExeId {
        let (dev, ino) = elsewhere::file_id(meta);
        ExeId {
            dev,
            ino,
            mtime_ns: elsewhere::mtime_ns(meta).unwrap_or(0),
            size: meta.len(),
        }
    }
}

#[derive(Debug, Clone)]
struct ExeEntry {
    package: Fact<Provenance>,
    integrity: Option<Fact<Integrity>>,
}

/// Facts with their caches; keep one for the life of the program.
pub struct FactsCache {
    roots: Roots,
    packages: package::Databases,
    exes: HashMap<(ExeId, String), ExeEntry>,
    containers: cgroup::Names,
    users: crate::sockets::UserNames,
    ancestors: ancestry::Seen,
}

impl FactsCache {
    pub fn new(roots: Roots) -> FactsCache {
        FactsCache {
            packages: package::Databases::new(&roots),
            roots,
            exes: HashMap::new(),
            containers: cgroup::Names::default(),
            users: crate::sockets::UserNames::default(),
            ancestors: ancestry::Seen::default(),
        }
    }

    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Look up the packages of many owners' executables in one pass over the database (worth
    /// calling before [`FactsCache::establish`] on a whole snapshot).
    pub fn prefetch<'a>(&mut self, owners: impl IntoIterator<Item = &'a Owner>) {
        let paths: Vec<String> = owners
            .into_iter()
            .filter(|o| !o.exe_deleted)
            .filter_map(|o| o.exe.clone())
            .collect();
        self.packages.prefetch(&self.roots, &paths);
    }

    /// Establish the facts about `owner` down to `depth`.
    pub fn establish(&mut self, owner: &Owner, depth: Depth) -> OwnerFacts {
        if !cfg!(target_os = "linux") {
            return OwnerFacts::not_on_this_os(owner.pid, depth);
        }
        let pid = owner.pid;
        let cgroup = cgroup::read(&self.roots.proc, pid);
        let parsed = match &cgroup {
            Fact::Known(path) => cgroup::parse_path(path),
            Fact::Unknown(why) => cgroup::Parsed::unknown(why),
        };
        let container = parsed
            .container
            .map(|c| c.map(|c| self.containers.name(&self.roots, c)));
        let pod = parsed.pod.map(|p| {
            p.map(|p| {
                let from_container = container.known().and_then(|c| c.as_ref());
                self.containers.pod_name(&self.roots, p, from_container)
            })
        });
        let (package, integrity) = self.exe_facts(owner, depth >= Depth::Verify);
        let (session, ancestry, ancestry_broken) = if depth >= Depth::Detail {
            let (steps, broken) =
                ancestry::chain(&self.roots.proc, pid, &mut self.users, &mut self.ancestors);
            let session = ancestry::session_kind(&steps, broken.as_deref());
            (Some(session), steps, broken)
        } else {
            (None, Vec::new(), None)
        };
        OwnerFacts {
            pid,
            package,
            integrity,
            cgroup,
            unit: parsed.unit,
            container,
            pod,
            session,
            ancestry,
            ancestry_broken,
        }
    }

    /// The package (from cache when the executable is unchanged) and, when `verify`, the
    /// integrity (hashed once per executable identity).
    fn exe_facts(
        &mut self,
        owner: &Owner,
        verify: bool,
    ) -> (Fact<Provenance>, Option<Fact<Integrity>>) {
        let running = self.roots.proc.join(owner.pid.to_string()).join("exe");
        let meta = match std::fs::metadata(&running) {
            Ok(meta) => meta,
            Err(e) => {
                let why = format!("cannot read {}: {e}", running.display());
                let integrity = verify.then(|| Fact::Unknown(why.clone()));
                return (Fact::Unknown(why), integrity);
            }
        };
        let Some(path) = owner.exe.clone() else {
            let why = "the executable path is unknown".to_string();
            return (
                Fact::Unknown(why.clone()),
                verify.then_some(Fact::Unknown(why)),
            );
        };
        let id = ExeId::of(&meta);
        let key = (id, path.clone());
        let replaced = owner.exe_deleted || package::replaced_on_disk(&self.roots, &path, &meta);
        if let Some(entry) = self.exes.get(&key) {
            if !verify || entry.integrity.is_some() {
                // The running file is the same, but the path may have been replaced since the
                // entry was made (an upgrade): the package's digest then describes another file.
                let integrity = match (verify, replaced) {
                    (false, _) => None,
                    (true, true) => Some(Fact::Known(Integrity::Replaced)),
                    (true, false) => entry.integrity.clone(),
                };
                return (entry.package.clone(), integrity);
            }
        }
        let (package, integrity) = if verify && !replaced {
            // Hash on a second thread while the database is searched: the two take about as
            // long, and this is the one socket a user is waiting for.
            std::thread::scope(|s| {
                let kinds = self.packages.digest_kinds();
                let running = &running;
                let hasher = s.spawn(move || package::hash_running(running, id, kinds));
                let package = self.packages.lookup(&self.roots, &path);
                let digests = hasher
                    .join()
                    .unwrap_or_else(|_| Err("the hashing thread failed".into()));
                let integrity = package::judge(&self.roots, &self.packages, &package, digests);
                (package, Some(integrity))
            })
        } else {
            let package = self.packages.lookup(&self.roots, &path);
            let integrity = verify.then(|| {
                if replaced {
                    Fact::Known(Integrity::Replaced)
                } else {
                    Fact::Unknown("not checked".into())
                }
            });
            (package, integrity)
        };
        let package = if owner.exe_deleted {
            // The path's current owner says nothing sure about a deleted file that ran.
            match package {
                Fact::Known(Provenance::NotPackaged { .. }) => Fact::Unknown(
                    "the running executable was deleted since it started; its path is in no package now"
                        .into(),
                ),
                other => other,
            }
        } else {
            package
        };
        self.exes.insert(
            key,
            ExeEntry {
                package: package.clone(),
                integrity: integrity.clone(),
            },
        );
        (package, integrity)
    }

    /// The facts of every owner of `socket` (down to `depth`), the label of its namespace when
    /// it is not the host's, and (from [`Depth::Detail`]) the `.socket` unit declaring it.
    pub fn for_socket(&mut self, socket: &Socket, depth: Depth) -> SocketFacts {
        let owners: Vec<OwnerFacts> = socket
            .owners
            .iter()
            .map(|o| self.establish(o, depth))
            .collect();
        let netns = socket.netns.as_ref().map(|ns| self.namespace_label(ns));
        let socket_unit = match (
            depth >= Depth::Detail,
            socket.owners.first(),
            owners.first(),
        ) {
            (false, _, _) => None,
            (true, Some(owner), Some(facts)) if socket.state.is_listener() => {
                Some(self.socket_unit(
                    facts,
                    owner,
                    socket.local_port,
                    socket.protocol == crate::sockets::Protocol::Udp,
                ))
            }
            (true, _, _) => Some(Fact::Known(None)),
        };
        SocketFacts {
            owners,
            netns,
            socket_unit,
        }
    }

    /// A label for a namespace other than the host's: its `/run/netns` name, else the container
    /// or unit a process in it runs in, else `net:[INODE]`. Raw: escape to print.
    pub fn namespace_label(&mut self, ns: &NetNs) -> String {
        if let Some(name) = &ns.name {
            return name.clone();
        }
        if let Some(pid) = ns.pid {
            if let Fact::Known(path) = cgroup::read(&self.roots.proc, pid) {
                let parsed = cgroup::parse_path(&path);
                if let Fact::Known(Some(c)) = parsed.container {
                    let c = self.containers.name(&self.roots, c);
                    return match &c.name {
                        Fact::Known(name) => format!("container {name}"),
                        Fact::Unknown(_) => format!("container {}", c.short_id()),
                    };
                }
                if let Fact::Known(unit) = parsed.unit {
                    return format!("unit {}", unit.name);
                }
            }
        }
        ns.label()
    }

    /// The `.socket` unit that declares a listener on `port`, when the owner is systemd itself
    /// (pid 1 holding a socket-activated listener) or the service the socket unit activates.
    pub fn socket_unit(
        &self,
        owner_facts: &OwnerFacts,
        owner: &Owner,
        port: u16,
        datagram: bool,
    ) -> Fact<Option<cgroup::SocketUnit>> {
        if !cfg!(target_os = "linux") {
            return Fact::Unknown(NOT_ON_THIS_OS.into());
        }
        let service = owner_facts.unit.known().map(|u| u.name.as_str());
        cgroup::socket_unit(&self.roots, owner.pid == 1, service, port, datagram)
    }
}

/// Read at most `cap` bytes of `path`; a longer file is an error saying so (a metadata file
/// that big is not what it claims to be, and reading it whole could exhaust memory).
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "{} is larger than {} KiB: not read",
            path.display(),
            cap / 1024
        ));
    }
    Ok(bytes)
}
