//! Who started a process, as its cgroup says: the systemd unit, a container (Docker, containerd,
//! Podman, CRI-O, LXC), a Kubernetes pod; names from the runtimes' own files on disk; and the
//! `.socket` unit that declares a socket-activated listener.
//!
//! It owns parsing `/proc/PID/cgroup` and those metadata files; it must not guess: a cgroup
//! component that is not shaped exactly like what a runtime writes names nothing, and a line
//! structure broken by a hostile cgroup name (a newline in it) makes the whole file unknown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{read_capped, Fact, Roots};

/// `/proc/PID/cgroup` is a few lines; more than this is not what the kernel writes.
const CGROUP_FILE_CAP: u64 = 64 * 1024;
/// Docker's config.v2.json holds the environment and labels: generous, but bounded.
const DOCKER_CONFIG_CAP: u64 = 8 * 1024 * 1024;
const CONTAINERS_JSON_CAP: u64 = 32 * 1024 * 1024;
const SMALL_FILE_CAP: u64 = 256 * 1024;

/// A systemd unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// e.g. `ssh.service`, `session-4.scope`, `docker-<id>.scope`.
    pub name: String,
    /// The uid of the user manager (`user@UID.service`) it runs under; `None`: the system's.
    pub user_manager: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Containerd,
    Podman,
    CriO,
    Lxc,
    /// A 64-hex container id under a pod, from a runtime the cgroup does not name.
    Unnamed,
}

impl Runtime {
    pub fn label(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::Podman => "podman",
            Runtime::CriO => "cri-o",
            Runtime::Lxc => "lxc",
            Runtime::Unnamed => "container",
        }
    }
}

/// A container, from its cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub runtime: Runtime,
    /// The runtime's id (64 hex characters), or an LXC container's name.
    pub id: String,
    /// Its name, from the runtime's files on disk.
    pub name: Fact<String>,
    /// Kubernetes labels the runtime recorded (Docker), when present.
    #[serde(default)]
    pub pod_name: Option<String>,
    #[serde(default)]
    pub pod_namespace: Option<String>,
}

impl Container {
    /// The first 12 characters of a hex id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        if self.runtime == Runtime::Lxc {
            &self.id
        } else {
            &self.id[..self.id.len().min(12)]
        }
    }
}

/// A Kubernetes pod, from its cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    pub uid: String,
    pub namespace: Option<String>,
    pub name: Fact<String>,
}

/// A `.socket` unit declaring a listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketUnit {
    pub name: String,
    /// The unit file that declares it.
    pub file: PathBuf,
}

/// What a cgroup path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub unit: Fact<Unit>,
    pub container: Fact<Option<Container>>,
    pub pod: Fact<Option<Pod>>,
}

impl Parsed {
    pub fn unknown(why: &str) -> Parsed {
        Parsed {
            unit: Fact::Unknown(why.to_string()),
            container: Fact::Unknown(why.to_string()),
            pod: Fact::Unknown(why.to_string()),
        }
    }
}

/// The process's cgroup path: the v1 `name=systemd` hierarchy's when there is one (systemd
/// keeps its units there on hybrid hosts), else the unified (v2) hierarchy's `0::` line.
pub(crate) fn read(proc: &Path, pid: u32) -> Fact<String> {
    let file = proc.join(pid.to_string()).join("cgroup");
    match read_capped(&file, CGROUP_FILE_CAP) {
        Ok(bytes) => parse_file(&bytes).into(),
        Err(why) => Fact::Unknown(why),
    }
}

/// Pick the systemd path out of a `/proc/PID/cgroup` file. Every line must be `ID:CONTROLLERS:PATH`
/// with a distinct ID: a cgroup name holding a newline breaks that, and then no line is trusted.
pub(crate) fn parse_file(bytes: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut seen = Vec::new();
    let mut systemd = None;
    let mut unified = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(
                "the cgroup file is malformed (a cgroup name may hold a newline): not trusted"
                    .into(),
            );
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || !path.starts_with('/') {
            return Err(
                "the cgroup file is malformed (a cgroup name may hold a newline): not trusted"
                    .into(),
            );
        }
        if seen.contains(&id) {
            return Err(format!(
                "the cgroup file names hierarchy {id} twice (a cgroup name holds a newline): not trusted"
            ));
        }
        seen.push(id);
        if controllers.split(',').any(|c| c == "name=systemd") {
            systemd = Some(path.to_string());
        } else if id == "0" && controllers.is_empty() {
            unified = Some(path.to_string());
        }
    }
    systemd
        .or(unified)
        .ok_or_else(|| "no systemd or unified cgroup hierarchy in the cgroup file".into())
}

/// A systemd unit name: what `systemd-escape` produces, nothing else.
fn is_unit_name(s: &str) -> bool {
    const SUFFIXES: [&str; 4] = [".service", ".scope", ".socket", ".mount"];
    SUFFIXES
        .iter()
        .any(|suf| s.len() > suf.len() && s.ends_with(suf))
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A container named by one cgroup component, with the runtime's prefix conventions.
fn container_in(component: &str, previous: Option<&str>) -> Option<(Runtime, String)> {
    let scoped = |prefix: &str| {
        component
            .strip_prefix(prefix)?
            .strip_suffix(".scope")
            .filter(|id| is_hex64(id))
            .map(str::to_string)
    };
    if let Some(id) = scoped("docker-") {
        return Some((Runtime::Docker, id));
    }
    if let Some(id) = scoped("cri-containerd-") {
        return Some((Runtime::Containerd, id));
    }
    if let Some(id) = scoped("libpod-") {
        return Some((Runtime::Podman, id));
    }
    if let Some(id) = scoped("crio-") {
        return Some((Runtime::CriO, id));
    }
    if let Some(name) = component.strip_prefix("lxc.payload.") {
        return Some((Runtime::Lxc, name.to_string()));
    }
    match previous {
        Some("docker") if is_hex64(component) => Some((Runtime::Docker, component.to_string())),
        Some("libpod_parent") => component
            .strip_prefix("libpod-")
            .filter(|id| is_hex64(id))
            .map(|id| (Runtime::Podman, id.to_string())),
        Some("lxc") if !component.is_empty() => Some((Runtime::Lxc, component.to_string())),
        _ => None,
    }
}

/// A pod uid in a kubepods component: `pod<uid>` (cgroupfs driver) or
/// `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd driver).
fn pod_in(component: &str) -> Option<String> {
    let raw = if let Some(rest) = component.strip_prefix("pod") {
        rest
    } else {
        let slice = component.strip_prefix("kubepods")?.strip_suffix(".slice")?;
        &slice[slice.find("-pod")? + 4..]
    };
    let uid = raw.replace('_', "-");
    let valid = uid.len() == 36
        && uid.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    valid.then_some(uid)
}

/// Unit, container and pod from a cgroup path.
pub(crate) fn parse_path(path: &str) -> Parsed {
    if path.chars().any(|c| c.is_control()) {
        return Parsed::unknown(
            "the cgroup path holds control characters: no runtime or systemd writes those",
        );
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut container = None;
    let mut pod = None;
    let in_kubepods = components.iter().any(|c| c.starts_with("kubepods"));
    let mut previous = None;
    for (i, component) in components.iter().enumerate() {
        if in_kubepods && pod.is_none() {
            if let Some(uid) = pod_in(component) {
                pod = Some(Pod {
                    uid,
                    namespace: None,
                    name: Fact::Unknown("not looked up".into()),
                });
                previous = Some(*component);
                continue;
            }
        }
        if container.is_none() {
            if let Some((runtime, id)) = container_in(component, previous) {
                container = Some((runtime, id));
            } else if pod.is_some() && is_hex64(component) && i + 1 == components.len() {
                // cgroupfs driver under a pod: the bare id of whichever runtime kubelet uses.
                container = Some((Runtime::Unnamed, component.to_string()));
            }
        }
        previous = Some(*component);
    }
    // The deepest unit: `user@1000.service/app.slice/x.service` runs x.service.
    let unit_at = components.iter().rposition(|c| is_unit_name(c));
    let unit = match unit_at {
        Some(at) => {
            let user_manager = components[..at].iter().find_map(|c| {
                c.strip_prefix("user@")?.strip_suffix(".service")?.parse().ok()
            });
            Fact::Known(Unit {
                name: components[at].to_string(),
                user_manager,
            })
        }
        None if components.is_empty() => Fact::Unknown(
            "the process is in the root cgroup: systemd did not start it, or does not manage cgroups here"
                .into(),
        ),
        None => Fact::Unknown("its cgroup names no systemd unit".into()),
    };
    Parsed {
        unit,
        container: Fact::Known(container.map(|(runtime, id)| Container {
            runtime,
            id,
            name: Fact::Unknown("not looked up".into()),
            pod_name: None,
            pod_namespace: None,
        })),
        pod: Fact::Known(pod),
    }
}

/// Container names from the runtimes' files, cached by id (a container's name does not change
/// while it runs; a failure is retried on the next call).
#[derive(Debug, Default)]
pub(crate) struct Names {
    known: HashMap<String, Container>,
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Config")]
    config: Option<DockerInner>,
}

#[derive(Deserialize)]
struct DockerInner {
    #[serde(rename = "Labels")]
    labels: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct StorageContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
}

impl Names {
    pub fn name(&mut self, roots: &Roots, mut c: Container) -> Container {
        if let Some(known) = self.known.get(&c.id) {
            return known.clone();
        }
        match c.runtime {
            Runtime::Lxc => c.name = Fact::Known(c.id.clone()),
            Runtime::Docker | Runtime::Unnamed => match docker_config(roots, &c.id) {
                Ok(config) => {
                    let labels = config.config.and_then(|i| i.labels).unwrap_or_default();
                    c.pod_name = labels.get("io.kubernetes.pod.name").cloned();
                    c.pod_namespace = labels.get("io.kubernetes.pod.namespace").cloned();
                    if c.runtime == Runtime::Unnamed {
                        c.runtime = Runtime::Docker;
                    }
                    c.name = match config.name {
                        Some(n) if !n.trim_start_matches('/').is_empty() => {
                            Fact::Known(n.trim_start_matches('/').to_string())
                        }
                        _ => Fact::Unknown("Docker's config.v2.json has no \"Name\"".into()),
                    };
                }
                Err(why) if c.runtime == Runtime::Unnamed => {
                    c.name = storage_name(roots, &c.id)
                        .unwrap_or_else(|w| Fact::Unknown(format!("{why}; {w}")));
                }
                Err(why) => c.name = Fact::Unknown(why),
            },
            Runtime::Podman | Runtime::CriO => {
                c.name = storage_name(roots, &c.id).unwrap_or_else(Fact::Unknown);
            }
            Runtime::Containerd => {
                c.name = Fact::Unknown(
                    "containerd keeps container names in its bolt database (meta.db), which portscope does not read"
                        .into(),
                );
            }
        }
        if c.name.known().is_some() {
            self.known.insert(c.id.clone(), c.clone());
        }
        c
    }

    /// Name a pod: from its container's Kubernetes labels, else from the kubelet's etc-hosts
    /// (the pod's hostname, which is its name unless the spec sets another hostname).
    pub fn pod_name(&mut self, roots: &Roots, mut pod: Pod, container: Option<&Container>) -> Pod {
        if let Some(c) = container {
            if let Some(name) = &c.pod_name {
                pod.name = Fact::Known(name.clone());
                pod.namespace = c.pod_namespace.clone();
                return pod;
            }
            // CRI-O and dockershim name containers k8s_CONTAINER_POD_NAMESPACE_UID_ATTEMPT.
            if let Fact::Known(n) = &c.name {
                let parts: Vec<&str> = n.split('_').collect();
                if parts.len() >= 6 && parts[0] == "k8s" && parts[4] == pod.uid {
                    pod.name = Fact::Known(parts[2].to_string());
                    pod.namespace = Some(parts[3].to_string());
                    return pod;
                }
            }
        }
        let hosts = roots.kubelet.join("pods").join(&pod.uid).join("etc-hosts");
        pod.name = match read_capped(&hosts, SMALL_FILE_CAP) {
            Ok(bytes) => String::from_utf8_lossy(&bytes)
                .lines()
                .rev()
                .filter(|l| !l.trim_start().starts_with('#'))
                .find_map(|l| l.split_whitespace().nth(1).map(str::to_string))
                .map_or_else(
                    || Fact::Unknown(format!("{} names no host", hosts.display())),
                    Fact::Known,
                ),
            Err(why) => Fact::Unknown(format!("{why}; only the pod's uid is known")),
        };
        pod
    }
}

fn docker_config(roots: &Roots, id: &str) -> Result<DockerConfig, String> {
    let file = roots
        .docker
        .join("containers")
        .join(id)
        .join("config.v2.json");
    let bytes = read_capped(&file, DOCKER_CONFIG_CAP)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not valid Docker metadata ({e})", file.display()))
}

/// A container's name from containers/storage's `containers.json` (Podman, CRI-O).
fn storage_name(roots: &Roots, id: &str) -> Result<Fact<String>, String> {
    let file = roots
        .containers_storage
        .join("overlay-containers")
        .join("containers.json");
    let bytes = read_capped(&file, CONTAINERS_JSON_CAP)?;
    let list: Vec<StorageContainer> = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{} is not valid containers/storage metadata ({e})",
            file.display()
        )
    })?;
    Ok(match list.into_iter().find(|c| c.id == id) {
        Some(c) => match c.names.into_iter().next() {
            Some(n) => Fact::Known(n),
            None => Fact::Unknown(format!("{} gives the container no name", file.display())),
        },
        None => Fact::Unknown(format!("{} does not list the container", file.display())),
    })
}

/// The `.socket` unit that declares `port`: asked when pid 1 holds the listener (systemd
/// itself, socket activation before the service starts) or a service holds it whose
/// `NAME.socket` (or a socket unit with `Service=NAME`) declares that port.
pub(crate) fn socket_unit(
    roots: &Roots,
    held_by_init: bool,
    service: Option<&str>,
    port: u16,
    datagram: bool,
) -> Fact<Option<SocketUnit>> {
    if !held_by_init && service.is_none_or(|s| !s.ends_with(".service")) {
        return Fact::Known(None);
    }
    let key = if datagram {
        "ListenDatagram"
    } else {
        "ListenStream"
    };
    let mut seen = std::collections::HashSet::new();
    let mut readable = false;
    for dir in &roots.unit_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        readable = true;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".socket") || !seen.insert(name.clone()) {
                continue; // an earlier directory overrides a later one
            }
            let Ok(bytes) = read_capped(&entry.path(), SMALL_FILE_CAP) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let mut declares = false;
            let mut activates = format!("{}.service", name.trim_end_matches(".socket"));
            for line in text.lines().map(str::trim) {
                if let Some(v) = line
                    .strip_prefix(key)
                    .and_then(|r| r.trim_start().strip_prefix('='))
                {
                    declares |= listen_port(v.trim()) == Some(port);
                } else if let Some(v) = line
                    .strip_prefix("Service")
                    .and_then(|r| r.trim_start().strip_prefix('='))
                {
                    activates = v.trim().to_string();
                }
            }
            // A templated service (Accept=yes) runs as NAME@N.service.
            let matches_service = service.is_some_and(|s| {
                s == activates
                    || s.split_once('@').is_some_and(|(base, _)| {
                        activates.strip_suffix(".service") == Some(base)
                            || activates.strip_suffix("@.service") == Some(base)
                    })
            });
            if declares && (held_by_init || matches_service) {
                return Fact::Known(Some(SocketUnit {
                    name,
                    file: entry.path(),
                }));
            }
        }
    }
    if readable {
        Fact::Known(None)
    } else {
        Fact::Unknown("no systemd unit directory could be read".into())
    }
}

/// The port of a `ListenStream=` value: `22`, `0.0.0.0:22`, `[::]:22`; `None` for a path.
fn listen_port(value: &str) -> Option<u16> {
    if value.starts_with('/') || value.starts_with('@') {
        return None;
    }
    value.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn v1_systemd_line_wins_over_v2() {
        let file = b"9:name=systemd:/system.slice/ssh.service\n8:pids:/\n0::/\n";
        assert_eq!(parse_file(file).unwrap(), "/system.slice/ssh.service");
        assert_eq!(
            parse_file(b"0::/system.slice/cron.service\n").unwrap(),
            "/system.slice/cron.service"
        );
    }

    #[test]
    fn a_newline_in_a_cgroup_name_is_caught() {
        let forged = b"9:name=systemd:/evil\n9:name=systemd:/system.slice/ssh.service\n0::/\n";
        assert!(parse_file(forged).unwrap_err().contains("twice"));
        let broken = b"9:name=systemd:/evil\nmore.service\n0::/\n";
        assert!(parse_file(broken).unwrap_err().contains("malformed"));
    }

    #[test]
    fn units() {
        let p = parse_path("/system.slice/nginx.service");
        assert_eq!(p.unit.known().unwrap().name, "nginx.service");
        let p = parse_path("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service");
        let unit = p.unit.known().unwrap();
        assert_eq!(
            (unit.name.as_str(), unit.user_manager),
            ("foo.service", Some(1000))
        );
        assert!(parse_path("/").unit.why().unwrap().contains("root cgroup"));
        assert!(parse_path("/system.slice/a\x1bb.service")
            .unit
            .why()
            .is_some());
        assert!(parse_path("/system.slice/a b.service").unit.why().is_some());
    }

    #[test]
    fn containers_of_each_runtime() {
        let cases = [
            (format!("/system.slice/docker-{HEX}.scope"), Runtime::Docker),
            (format!("/docker/{HEX}"), Runtime::Docker),
            (format!("/machine.slice/libpod-{HEX}.scope/container"), Runtime::Podman),
            (format!("/libpod_parent/libpod-{HEX}"), Runtime::Podman),
            (format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod01234567_89ab_cdef_0123_456789abcdef.slice/crio-{HEX}.scope"), Runtime::CriO),
            (format!("/system.slice/cri-containerd-{HEX}.scope"), Runtime::Containerd),
        ];
        for (path, runtime) in cases {
            let c = parse_path(&path)
                .container
                .known()
                .cloned()
                .flatten()
                .unwrap();
            assert_eq!((c.runtime, c.id.as_str()), (runtime, HEX), "{path}");
        }
        let lxc = parse_path("/lxc.payload.web/system.slice/x.service").container;
        assert_eq!(lxc.known().cloned().flatten().unwrap().id, "web");
        // Almost-ids name nothing.
        let short = format!("/system.slice/docker-{}.scope", &HEX[1..]);
        assert_eq!(parse_path(&short).container, Fact::Known(None));
        let upper = format!("/docker/{}", HEX.to_uppercase());
        assert_eq!(parse_path(&upper).container, Fact::Known(None));
    }

    #[test]
    fn pods_from_both_drivers() {
        let uid = "01234567-89ab-cdef-0123-456789abcdef";
        let cgroupfs = format!("/kubepods/burstable/pod{uid}/{HEX}");
        let p = parse_path(&cgroupfs);
        assert_eq!(p.pod.known().cloned().flatten().unwrap().uid, uid);
        assert_eq!(
            p.container.known().cloned().flatten().unwrap().runtime,
            Runtime::Unnamed
        );
        let systemd = format!(
            "/kubepods.slice/kubepods-pod{}.slice/docker-{HEX}.scope",
            uid.replace('-', "_")
        );
        assert_eq!(
            parse_path(&systemd)
                .pod
                .known()
                .cloned()
                .flatten()
                .unwrap()
                .uid,
            uid
        );
        assert_eq!(parse_path("/kubepods/podnope/x").pod, Fact::Known(None));
    }

    #[test]
    fn listen_values() {
        assert_eq!(listen_port("22"), Some(22));
        assert_eq!(listen_port("0.0.0.0:631"), Some(631));
        assert_eq!(listen_port("[::]:80"), Some(80));
        assert_eq!(listen_port("/run/foo.sock"), None);
    }
}
