//! Which package a running executable comes from, and whether it still matches what the package
//! installed: dpkg (`info/*.list`, `info/*.md5sums`, `diversions`), apk (`installed`, SHA-1
//! digests) and rpm (asking `rpm -qf` / `rpm -V`, its database being a library's format).
//!
//! It owns reading those databases and hashing; it must not decide what the result means for a
//! user (the hints and the report layer do). The hash is taken of the file `/proc/PID/exe`
//! opens, which is the one that runs even when the path now holds another file.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use md5::{Digest, Md5};
use memchr::memmem;
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use super::{read_capped, ExeId, Fact, Roots};

/// A dpkg file list or md5sums file bigger than this is not what dpkg writes.
const DB_FILE_CAP: u64 = 64 * 1024 * 1024;
/// apk keeps every package in one file.
const APK_DB_CAP: u64 = 256 * 1024 * 1024;
/// Executables bigger than this are not hashed (a hash would take seconds).
const HASH_CAP: u64 = 2 * 1024 * 1024 * 1024;
/// What `rpm` may print before we stop listening.
const RPM_OUTPUT_CAP: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Dpkg,
    Rpm,
    Apk,
}

/// The package that installed a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    pub manager: Manager,
    /// The package name (dpkg: without `:arch`).
    pub name: String,
    /// dpkg's `:arch` qualifier (multi-arch packages), apk's `A:`.
    pub arch: Option<String>,
    /// The path as the database records it: differs from the running path under usrmerge
    /// (`/bin/bash` for `/usr/bin/bash`) or a dpkg diversion.
    pub recorded_path: String,
    /// The package (or `local`) that diverted the path with dpkg-divert, when one did.
    pub diverted_by: Option<String>,
    /// Other packages that list the same path (dpkg allows it with Replaces:).
    #[serde(default)]
    pub also_in: Vec<String>,
}

impl PackageInfo {
    pub fn display_name(&self) -> String {
        match &self.arch {
            Some(arch) if self.manager == Manager::Dpkg => format!("{}:{arch}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Where the running executable comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Provenance {
    Package(PackageInfo),
    /// No package database lists its path.
    NotPackaged {
        place: Place,
    },
}

/// Where an executable no package owns lives: a system path is suspicious, a home less so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// /usr, /bin, /sbin, /lib: where only packages should put files.
    SystemPath,
    /// /usr/local, /opt: where administrators install by hand.
    LocalInstall,
    /// /tmp, /var/tmp, /dev/shm.
    TempDir,
    /// /home, /root.
    Home,
    Elsewhere,
}

impl Place {
    pub fn of(path: &str) -> Place {
        let under = |dir: &str| {
            path.strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
        };
        if under("/usr/local") || under("/opt") {
            Place::LocalInstall
        } else if ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"]
            .iter()
            .any(|d| under(d))
        {
            Place::SystemPath
        } else if ["/tmp", "/var/tmp", "/dev/shm", "/run/shm"]
            .iter()
            .any(|d| under(d))
        {
            Place::TempDir
        } else if under("/home") || under("/root") {
            Place::Home
        } else {
            Place::Elsewhere
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Place::SystemPath => "in a system path, where only packages should install",
            Place::LocalInstall => "installed by hand under /usr/local or /opt",
            Place::TempDir => "in a temporary directory",
            Place::Home => "in a home directory",
            Place::Elsewhere => "outside the usual install paths",
        }
    }
}

/// Whether the running executable still is what its package installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Integrity {
    /// Its digest matches the package's record.
    Unmodified,
    /// Its digest differs from the package's record: an alert.
    Modified { expected: String, actual: String },
    /// No package lists it, so there is nothing to compare with.
    NotPackaged,
    /// The file that runs was deleted or replaced on disk after the process started (an
    /// upgrade not yet restarted, or something covering its tracks).
    Replaced,
}

impl Integrity {
    pub fn describe(&self) -> &'static str {
        match self {
            Integrity::Unmodified => "unmodified",
            Integrity::Modified { .. } => "MODIFIED since installed",
            Integrity::NotPackaged => "no package digest to compare with",
            Integrity::Replaced => "deleted or replaced on disk since it started",
        }
    }
}

/// The running file and the path it was started from are not the same file any more.
pub(crate) fn replaced_on_disk(roots: &Roots, path: &str, running: &std::fs::Metadata) -> bool {
    match std::fs::metadata(roots.under_root(path)) {
        Ok(now) => super::elsewhere::file_id(&now) != super::elsewhere::file_id(running),
        Err(_) => true,
    }
}

/// The running executable's digests, read through `/proc/PID/exe`: only those a database here
/// records (hashing is most of a cold look-up's cost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digests {
    pub md5: Option<String>,
    pub sha1: Option<[u8; 20]>,
}

/// Which digests the databases present can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DigestKinds {
    pub md5: bool,
    pub sha1: bool,
}

/// Hash the file `running` (a `/proc/PID/exe` link) opens, checking it is still `id`.
pub(crate) fn hash_running(
    running: &Path,
    id: ExeId,
    kinds: DigestKinds,
) -> Result<Digests, String> {
    let file = std::fs::File::open(running)
        .map_err(|e| format!("cannot open {}: {e}", running.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", running.display()))?;
    if ExeId::of(&meta) != id {
        return Err("the process changed while it was being checked".into());
    }
    if meta.len() > HASH_CAP {
        return Err(format!(
            "the executable is larger than {} MiB: not hashed",
            HASH_CAP >> 20
        ));
    }
    let mut md5 = Md5::new();
    let mut sha1 = Sha1::new();
    let mut reader = file.take(HASH_CAP + 1);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", running.display()))?;
        if n == 0 {
            break;
        }
        if kinds.md5 {
            md5.update(&buf[..n]);
        }
        if kinds.sha1 {
            sha1.update(&buf[..n]);
        }
    }
    Ok(Digests {
        md5: kinds.md5.then(|| hex(&md5.finalize())),
        sha1: kinds.sha1.then(|| sha1.finalize().into()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compare the digests with the package's record.
pub(crate) fn judge(
    roots: &Roots,
    dbs: &Databases,
    package: &Fact<Provenance>,
    digests: Result<Digests, String>,
) -> Fact<Integrity> {
    let info = match package {
        Fact::Unknown(why) => return Fact::Unknown(format!("no package known ({why})")),
        Fact::Known(Provenance::NotPackaged { .. }) => return Fact::Known(Integrity::NotPackaged),
        Fact::Known(Provenance::Package(info)) => info,
    };
    let digests = match digests {
        Ok(d) => d,
        Err(why) => return Fact::Unknown(why),
    };
    let missing = || Fact::Unknown("its digest was not computed".into());
    match info.manager {
        Manager::Dpkg => {
            let Some(actual) = digests.md5 else {
                return missing();
            };
            match dpkg_recorded_md5(
                &dbs.dpkg_dir,
                &info.name,
                info.arch.as_deref(),
                &info.recorded_path,
            ) {
                Ok(expected) if expected.eq_ignore_ascii_case(&actual) => {
                    Fact::Known(Integrity::Unmodified)
                }
                Ok(expected) => Fact::Known(Integrity::Modified { expected, actual }),
                Err(why) => Fact::Unknown(why),
            }
        }
        Manager::Apk => match (digests.sha1, apk_recorded_sha1(roots, &info.recorded_path)) {
            (None, _) => missing(),
            (Some(actual), Ok(expected)) if expected == actual => {
                Fact::Known(Integrity::Unmodified)
            }
            (Some(actual), Ok(expected)) => Fact::Known(Integrity::Modified {
                expected: hex(&expected),
                actual: hex(&actual),
            }),
            (_, Err(why)) => Fact::Unknown(why),
        },
        Manager::Rpm => rpm_verify(&info.recorded_path),
    }
}

/// One dpkg-divert record: `from` is renamed to `to` unless installed by `by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diversion {
    pub from: String,
    pub to: String,
    /// The diverting package; `None` for a local (administrator's) diversion.
    pub by: Option<String>,
}

pub(crate) fn parse_diversions(text: &str) -> Vec<Diversion> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks_exact(3)
        .map(|c| Diversion {
            from: c[0].to_string(),
            to: c[1].to_string(),
            by: Some(c[2])
                .filter(|p| !p.is_empty() && *p != ":")
                .map(str::to_string),
        })
        .collect()
}

/// The package databases of the machine, and what has been looked up in them.
pub(crate) struct Databases {
    dpkg_dir: PathBuf,
    /// path → its package, for every path looked up so far; cleared when dpkg's info directory
    /// changes (a package installed or removed).
    dpkg_cache: HashMap<String, Fact<Provenance>>,
    dpkg_stamp: Option<i128>,
    rpm: bool,
    apk: bool,
}

impl Databases {
    pub fn new(roots: &Roots) -> Databases {
        Databases {
            dpkg_dir: roots.dpkg.clone(),
            dpkg_cache: HashMap::new(),
            dpkg_stamp: None,
            rpm: roots.rpm_db.is_dir() && which("rpm").is_some(),
            apk: roots.apk_installed.exists(),
        }
    }

    pub fn digest_kinds(&self) -> DigestKinds {
        DigestKinds {
            md5: self.dpkg_present(),
            sha1: self.apk,
        }
    }

    fn dpkg_present(&self) -> bool {
        self.dpkg_dir.join("info").exists() || self.dpkg_dir.join("status").exists()
    }

    fn refresh_stamp(&mut self) {
        let stamp = std::fs::metadata(self.dpkg_dir.join("info"))
            .ok()
            .and_then(|m| super::elsewhere::mtime_ns(&m));
        if stamp != self.dpkg_stamp {
            self.dpkg_cache.clear();
            self.dpkg_stamp = stamp;
        }
    }

    /// Look up many paths in one pass over dpkg's file lists.
    pub fn prefetch(&mut self, roots: &Roots, paths: &[String]) {
        if !self.dpkg_present() {
            return;
        }
        self.refresh_stamp();
        let missing: Vec<String> = paths
            .iter()
            .filter(|p| !self.dpkg_cache.contains_key(*p))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return;
        }
        let found = dpkg_lookup(&self.dpkg_dir, &merged_usr(roots), &missing);
        self.dpkg_cache.extend(found);
    }

    /// The package of the file at `path` (absolute, as the process sees it).
    pub fn lookup(&mut self, roots: &Roots, path: &str) -> Fact<Provenance> {
        let mut reasons = Vec::new();
        if self.dpkg_present() {
            self.prefetch(roots, &[path.to_string()]);
            match self.dpkg_cache.get(path) {
                Some(Fact::Known(Provenance::Package(p))) => {
                    return Fact::Known(Provenance::Package(p.clone()))
                }
                Some(Fact::Unknown(why)) => reasons.push(why.clone()),
                _ => {}
            }
        }
        if self.apk {
            match apk_lookup(roots, path) {
                Ok(Some(p)) => return Fact::Known(Provenance::Package(p)),
                Ok(None) => {}
                Err(why) => reasons.push(why),
            }
        }
        if self.rpm {
            match rpm_lookup(path) {
                Ok(Some(p)) => return Fact::Known(Provenance::Package(p)),
                Ok(None) => {}
                Err(why) => reasons.push(why),
            }
        }
        if !reasons.is_empty() {
            return Fact::Unknown(reasons.join("; "));
        }
        if !self.dpkg_present() && !self.apk && !self.rpm {
            return Fact::Unknown("no package database found (dpkg, rpm or apk)".into());
        }
        Fact::Known(Provenance::NotPackaged {
            place: Place::of(path),
        })
    }
}

/// Whether `/bin` is a link into `/usr` under this root (Debian 12 and most distributions):
/// then dpkg may record `/bin/x` for the file the kernel calls `/usr/bin/x`.
fn merged_usr(roots: &Roots) -> Vec<(&'static str, &'static str)> {
    [
        ("/usr/bin/", "/bin/"),
        ("/usr/sbin/", "/sbin/"),
        ("/usr/lib/", "/lib/"),
        ("/usr/lib64/", "/lib64/"),
        ("/usr/lib32/", "/lib32/"),
        ("/usr/libx32/", "/libx32/"),
    ]
    .into_iter()
    .filter(|(usr, top)| {
        let link = roots.under_root(top.trim_end_matches('/'));
        std::fs::read_link(&link).is_ok_and(|target| {
            let t = target.to_string_lossy();
            t.trim_start_matches('/').trim_end_matches('/') == usr.trim_matches('/')
        })
    })
    .collect()
}

/// The names a path may be recorded under: itself, and its pre-usrmerge alias.
fn aliases(path: &str, merged: &[(&str, &str)]) -> Vec<String> {
    let mut out = vec![path.to_string()];
    for (usr, top) in merged {
        if let Some(rest) = path.strip_prefix(usr) {
            out.push(format!("{top}{rest}"));
        }
    }
    out
}

/// Search every `info/*.list` once for the wanted paths. Returns a fact per wanted path.
fn dpkg_lookup(
    dpkg: &Path,
    merged: &[(&str, &str)],
    wanted: &[String],
) -> HashMap<String, Fact<Provenance>> {
    let fail = |why: String| {
        wanted
            .iter()
            .map(|p| (p.clone(), Fact::Unknown(why.clone())))
            .collect()
    };
    let diversions = match std::fs::read(dpkg.join("diversions")) {
        Ok(bytes) => parse_diversions(&String::from_utf8_lossy(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return fail(format!("cannot read dpkg's diversions: {e}")),
    };
    let info = dpkg.join("info");
    let entries = match std::fs::read_dir(&info) {
        Ok(entries) => entries,
        Err(e) => {
            return fail(format!(
                "cannot read dpkg's database {}: {e}",
                info.display()
            ))
        }
    };
    // What to look for, per wanted path: the recorded name(s), and who diverted it.
    struct Want {
        path: String,
        recorded: Vec<String>,
        diversion: Option<Diversion>,
        /// A diverted file belongs to this package only; others' lists name the original.
        only: Option<String>,
        exclude: Option<String>,
    }
    let wants: Vec<Want> = wanted
        .iter()
        .map(|path| {
            let names = aliases(path, merged);
            // The file now at `to` is the original package's `from`, moved aside.
            if let Some(d) = diversions.iter().find(|d| names.contains(&d.to)) {
                return Want {
                    path: path.clone(),
                    recorded: aliases(&d.from, merged),
                    exclude: d.by.clone(),
                    only: None,
                    diversion: Some(d.clone()),
                };
            }
            // The file at `from` was installed by the diverting package (or the admin).
            if let Some(d) = diversions.iter().find(|d| names.contains(&d.from)) {
                return Want {
                    path: path.clone(),
                    recorded: names,
                    only: Some(d.by.clone().unwrap_or_default()),
                    exclude: None,
                    diversion: Some(d.clone()),
                };
            }
            Want {
                path: path.clone(),
                recorded: names,
                diversion: None,
                only: None,
                exclude: None,
            }
        })
        .collect();
    // One search per distinct file name, not one per recorded path: a hit on `/NAME\n` is then
    // checked against the whole line. `/usr/bin/x` and its usrmerge alias `/bin/x` share a
    // name, so the lists are searched once for both (the search is most of the cost after
    // reading them).
    let mut names: Vec<&[u8]> = wants
        .iter()
        .flat_map(|w| w.recorded.iter())
        .filter_map(|r| r.rfind('/').map(|i| &r.as_bytes()[i..]))
        .collect();
    names.sort_unstable();
    names.dedup();
    let finders: Vec<memmem::Finder> = names
        .iter()
        .map(|name| memmem::Finder::new(&[*name, b"\n"].concat()).into_owned())
        .collect();
    let lists: Vec<(String, std::path::PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let stem = name.to_str()?.strip_suffix(".list")?.to_string();
            Some((stem, entry.path()))
        })
        .collect();
    let recorded: Vec<&[String]> = wants.iter().map(|w| w.recorded.as_slice()).collect();
    // Reading and searching ~12 MB of lists is most of a listing's cost after the sockets: on
    // a host with hundreds of packages two threads share it.
    let search = |part: &[(String, std::path::PathBuf)]| search_lists(part, &finders, &recorded);
    let found = if lists.len() < PARALLEL_LISTS {
        search(&lists)
    } else {
        let (first, second) = lists.split_at(lists.len() / 2);
        std::thread::scope(|s| {
            let other = s.spawn(|| search(second));
            let mut found = search(first);
            match other.join() {
                Ok(more) => found.merge(more),
                // Never expected (the search does not panic); the lists it held are unread.
                Err(_) => found.unreadable += second.len(),
            }
            found
        })
    };
    let ListHits {
        hits,
        unreadable,
        last_error,
    } = found;
    let mut out = HashMap::new();
    for (want, mut found) in wants.into_iter().zip(hits) {
        found.sort();
        let package_of = |stem: &str| stem.split(':').next().unwrap_or(stem).to_string();
        if let Some(only) = &want.only {
            found.retain(|(stem, _)| &package_of(stem) == only);
        }
        if let Some(exclude) = &want.exclude {
            found.retain(|(stem, _)| &package_of(stem) != exclude);
        }
        let fact = match found.first() {
            Some((stem, recorded)) => {
                let (name, arch) = match stem.split_once(':') {
                    Some((n, a)) => (n.to_string(), Some(a.to_string())),
                    None => (stem.clone(), None),
                };
                Fact::Known(Provenance::Package(PackageInfo {
                    manager: Manager::Dpkg,
                    name,
                    arch,
                    recorded_path: recorded.clone(),
                    diverted_by: want
                        .diversion
                        .as_ref()
                        .map(|d| d.by.clone().unwrap_or_else(|| "local".into())),
                    also_in: found[1..].iter().map(|(s, _)| s.clone()).collect(),
                }))
            }
            // Not seen, but some lists were unreadable: it may be in one of them.
            None if unreadable > 0 => Fact::Unknown(format!(
                "{unreadable} of dpkg's file lists could not be read ({})",
                last_error
                    .as_ref()
                    .map_or_else(String::new, ToString::to_string)
            )),
            None => Fact::Known(Provenance::NotPackaged {
                place: Place::of(&want.path),
            }),
        };
        out.insert(want.path, fact);
    }
    out
}

/// Below this many file lists one thread searches them all.
const PARALLEL_LISTS: usize = 64;

/// What a search of some of dpkg's file lists found: per wanted path, the (package stem,
/// recorded path) pairs naming it, and the lists that could not be read.
struct ListHits {
    hits: Vec<Vec<(String, String)>>,
    unreadable: usize,
    last_error: Option<std::io::Error>,
}

impl ListHits {
    fn merge(&mut self, other: ListHits) {
        for (mine, theirs) in self.hits.iter_mut().zip(other.hits) {
            mine.extend(theirs);
        }
        self.unreadable += other.unreadable;
        if other.last_error.is_some() {
            self.last_error = other.last_error;
        }
    }
}

/// Search `lists` (package stem, path) for lines that are exactly one of each want's recorded
/// paths. `finders` find `/NAME\n` for every recorded path's file name.
fn search_lists(
    lists: &[(String, std::path::PathBuf)],
    finders: &[memmem::Finder<'_>],
    recorded: &[&[String]],
) -> ListHits {
    let mut found = ListHits {
        hits: vec![Vec::new(); recorded.len()],
        unreadable: 0,
        last_error: None,
    };
    let mut text = Vec::new();
    let mut lines_seen: Vec<(usize, usize)> = Vec::new();
    for (stem, path) in lists {
        text.clear();
        text.push(b'\n');
        if let Err(e) =
            std::fs::File::open(path).and_then(|f| f.take(DB_FILE_CAP).read_to_end(&mut text))
        {
            found.unreadable += 1;
            found.last_error = Some(e);
            continue;
        }
        if text.last() != Some(&b'\n') {
            text.push(b'\n');
        }
        // Whole lines ending in a wanted file name: a recorded path is such a line exactly.
        lines_seen.clear();
        for finder in finders {
            for at in finder.find_iter(&text) {
                let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
                let end = at + finder.needle().len() - 1;
                lines_seen.push((start, end));
            }
        }
        if lines_seen.is_empty() {
            continue;
        }
        for (hits, paths) in found.hits.iter_mut().zip(recorded) {
            for path in paths.iter() {
                if lines_seen
                    .iter()
                    .any(|&(s, e)| &text[s..e] == path.as_bytes())
                {
                    hits.push((stem.clone(), path.clone()));
                }
            }
        }
    }
    found
}

/// dpkg's recorded md5 of `recorded_path` in package `name`.
pub(crate) fn dpkg_recorded_md5(
    dpkg: &Path,
    name: &str,
    arch: Option<&str>,
    recorded_path: &str,
) -> Result<String, String> {
    let stem = match arch {
        Some(a) => format!("{name}:{a}"),
        None => name.to_string(),
    };
    let file = dpkg.join("info").join(format!("{stem}.md5sums"));
    let bytes = read_capped(&file, DB_FILE_CAP)
        .map_err(|e| format!("package {stem} has no readable digests ({e})"))?;
    let relative = recorded_path.trim_start_matches('/');
    for line in bytes.split(|&b| b == b'\n') {
        let Some(digest) = line
            .strip_suffix(relative.as_bytes())
            .filter(|d| d.last().is_some_and(|b| *b == b' ' || *b == b'\t'))
        else {
            continue;
        };
        let digest = digest.trim_ascii();
        if digest.len() == 32 && digest.iter().all(u8::is_ascii_hexdigit) {
            return Ok(String::from_utf8_lossy(digest).to_ascii_lowercase());
        }
        return Err(format!(
            "the line for {recorded_path} in {} is corrupt (not an md5 digest)",
            file.display()
        ));
    }
    Err(format!(
        "package {stem} records no digest for {recorded_path} (a configuration file, or its md5sums is incomplete)"
    ))
}

/// The apk package that lists `path`.
fn apk_lookup(roots: &Roots, path: &str) -> Result<Option<PackageInfo>, String> {
    let merged = merged_usr(roots);
    let bytes = read_capped(&roots.apk_installed, APK_DB_CAP)?;
    let text = String::from_utf8_lossy(&bytes);
    let names = aliases(path, &merged);
    let mut pkg = None;
    let mut arch = None;
    let mut dir = String::new();
    for line in text.lines() {
        if line.is_empty() {
            pkg = None;
            arch = None;
            dir.clear();
        } else if let Some(p) = line.strip_prefix("P:") {
            pkg = Some(p.to_string());
        } else if let Some(a) = line.strip_prefix("A:") {
            arch = Some(a.to_string());
        } else if let Some(d) = line.strip_prefix("F:") {
            dir = d.to_string();
        } else if let Some(f) = line.strip_prefix("R:") {
            let full = format!("/{dir}/{f}");
            if let (true, Some(name)) = (names.contains(&full), pkg.clone()) {
                return Ok(Some(PackageInfo {
                    manager: Manager::Apk,
                    name,
                    arch: arch.clone(),
                    recorded_path: full,
                    diverted_by: None,
                    also_in: Vec::new(),
                }));
            }
        }
    }
    Ok(None)
}

/// apk's recorded SHA-1 (`Z:Q1<base64>`) of `recorded_path`.
fn apk_recorded_sha1(roots: &Roots, recorded_path: &str) -> Result<[u8; 20], String> {
    let bytes = read_capped(&roots.apk_installed, APK_DB_CAP)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut dir = String::new();
    let mut current = false;
    for line in text.lines() {
        if line.is_empty() {
            dir.clear();
            current = false;
        } else if let Some(d) = line.strip_prefix("F:") {
            dir = d.to_string();
            current = false;
        } else if let Some(f) = line.strip_prefix("R:") {
            current = format!("/{dir}/{f}") == recorded_path;
        } else if let (true, Some(z)) = (current, line.strip_prefix("Z:")) {
            return z
                .strip_prefix("Q1")
                .and_then(base64_decode)
                .and_then(|d| <[u8; 20]>::try_from(d).ok())
                .ok_or_else(|| format!("apk's checksum for {recorded_path} is corrupt"));
        }
    }
    Err(format!("apk records no checksum for {recorded_path}"))
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

fn which(command: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(command))
        .find(|p| p.is_file())
}

/// Run `rpm` with `args`; its output, capped.
fn rpm(args: &[&str]) -> Result<(bool, String), String> {
    let child = Command::new("rpm")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run rpm: {e}"))?;
    let mut out = Vec::new();
    let mut child = child;
    if let Some(stdout) = child.stdout.take() {
        let _ = stdout.take(RPM_OUTPUT_CAP).read_to_end(&mut out);
    }
    let status = child.wait().map_err(|e| format!("rpm failed: {e}"))?;
    Ok((status.success(), String::from_utf8_lossy(&out).into_owned()))
}

fn rpm_lookup(path: &str) -> Result<Option<PackageInfo>, String> {
    let (ok, out) = rpm(&["-qf", "--queryformat", "%{NAME}\t%{ARCH}\n", "--", path])?;
    if !ok {
        // "file … is not owned by any package" (exit 1) is the common case.
        return Ok(None);
    }
    let line = out.lines().next().unwrap_or_default();
    let (name, arch) = line.split_once('\t').unwrap_or((line, ""));
    if name.is_empty() {
        return Err("rpm -qf gave no package name".into());
    }
    Ok(Some(PackageInfo {
        manager: Manager::Rpm,
        name: name.to_string(),
        arch: Some(arch.to_string()).filter(|a| !a.is_empty()),
        recorded_path: path.to_string(),
        diverted_by: None,
        also_in: Vec::new(),
    }))
}

/// `rpm -Vf PATH` prints a line for each file that fails a check: `S.5....T.  /usr/bin/x`. The
/// third column `5` is the digest.
fn rpm_verify(path: &str) -> Fact<Integrity> {
    match rpm(&["-Vf", "--nodeps", "--noscripts", "--", path]) {
        Err(why) => Fact::Unknown(why),
        Ok((_, out)) => {
            for line in out.lines() {
                let Some((flags, file)) = line.split_once(' ') else {
                    continue;
                };
                if file.trim_start().rsplit(' ').next() != Some(path) {
                    continue;
                }
                if flags.starts_with("missing") {
                    return Fact::Known(Integrity::Replaced);
                }
                if flags.as_bytes().get(2) == Some(&b'5') {
                    return Fact::Known(Integrity::Modified {
                        expected: "rpm database digest".into(),
                        actual: "differs (rpm -V)".into(),
                    });
                }
                if flags.as_bytes().get(2) == Some(&b'?') {
                    return Fact::Unknown("rpm -V could not read the file".into());
                }
            }
            Fact::Known(Integrity::Unmodified)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places() {
        assert_eq!(Place::of("/usr/bin/x"), Place::SystemPath);
        assert_eq!(Place::of("/usr/local/bin/x"), Place::LocalInstall);
        assert_eq!(Place::of("/tmp/x"), Place::TempDir);
        assert_eq!(Place::of("/tmpfoo/x"), Place::Elsewhere);
        assert_eq!(Place::of("/root/x"), Place::Home);
        assert_eq!(Place::of("/srv/x"), Place::Elsewhere);
    }

    #[test]
    fn usrmerge_aliases() {
        let merged = [("/usr/bin/", "/bin/"), ("/usr/lib/", "/lib/")];
        assert_eq!(
            aliases("/usr/bin/bash", &merged),
            ["/usr/bin/bash", "/bin/bash"]
        );
        assert_eq!(aliases("/usr/sbin/sshd", &merged), ["/usr/sbin/sshd"]);
        assert_eq!(aliases("/usr/bin/bash", &[]), ["/usr/bin/bash"]);
    }

    #[test]
    fn diversions_parse_in_threes() {
        let d = parse_diversions("/a\n/a.real\npkg\n/b\n/b.local\n:\n/c\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].by.as_deref(), Some("pkg"));
        assert_eq!(d[1].by, None);
    }

    #[test]
    fn dpkg_lists_match_whole_lines_under_either_usrmerge_name() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("info");
        std::fs::create_dir_all(&info).unwrap();
        // Lines that end in the wanted file name but are other paths, in one package.
        std::fs::write(
            info.join("near.list"),
            "/usr/local/bin/foo\n/usr/bin/foo.d\n/usr/bin/xfoo\n/srv/usr/bin/foo\n",
        )
        .unwrap();
        // The path as dpkg records it before usrmerge, as the last line without its newline.
        std::fs::write(info.join("old:amd64.list"), "/bin\n/bin/foo").unwrap();
        std::fs::write(info.join("new.list"), "/usr\n/usr/bin\n/usr/bin/foo\n").unwrap();
        let merged = [("/usr/bin/", "/bin/")];
        let wanted = ["/usr/bin/foo".to_string(), "/usr/bin/bar".to_string()];
        let found = dpkg_lookup(dir.path(), &merged, &wanted);
        let Fact::Known(Provenance::Package(p)) = &found["/usr/bin/foo"] else {
            panic!("{:?}", found["/usr/bin/foo"]);
        };
        assert_eq!((p.name.as_str(), p.arch.as_deref()), ("new", None));
        assert_eq!(p.recorded_path, "/usr/bin/foo");
        assert_eq!(p.also_in, ["old:amd64"]);
        assert!(matches!(
            found["/usr/bin/bar"],
            Fact::Known(Provenance::NotPackaged {
                place: Place::SystemPath
            })
        ));
    }

    #[test]
    fn base64_of_apk_checksums() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert!(base64_decode("a$==").is_none());
    }
}
