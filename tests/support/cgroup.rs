//! A cgroup of this machine's cgroup v1 `name=systemd` hierarchy (writable by root), for the
//! tests that put a listener in a unit, a container or a pod and expect portscope to name it.

use std::path::{Path, PathBuf};

/// The v1 `name=systemd` hierarchy's mount point, when it is mounted and writable.
pub fn systemd_hierarchy() -> Option<PathBuf> {
    if !super::is_root() {
        eprintln!("skipped: moving processes between cgroups needs root");
        return None;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut right = right.split_whitespace();
        let fstype = right.next()?;
        let options = right.nth(1)?;
        (fstype == "cgroup" && options.split(',').any(|o| o == "name=systemd"))
            .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
            .flatten()
    });
    if mount.is_none() {
        eprintln!("skipped: no cgroup v1 name=systemd hierarchy here");
    }
    mount
}

/// A cgroup under the `name=systemd` hierarchy holding one process; on drop the process is moved
/// back to the root and the directories this created are removed.
pub struct Cgroup {
    mount: PathBuf,
    created: Vec<PathBuf>,
}

impl Cgroup {
    pub fn enter(mount: &Path, relative: &str, pid: u32) -> Cgroup {
        let mut created = Vec::new();
        let mut path = mount.to_path_buf();
        for part in relative.split('/') {
            path.push(part);
            if !path.exists() {
                std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {path:?}: {e}"));
                created.push(path.clone());
            }
        }
        std::fs::write(path.join("cgroup.procs"), pid.to_string()).unwrap();
        Cgroup {
            mount: mount.to_path_buf(),
            created,
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for dir in self.created.iter().rev() {
            if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in procs.lines() {
                    let _ = std::fs::write(self.mount.join("cgroup.procs"), pid);
                }
            }
            let _ = std::fs::remove_dir(dir); // fails harmlessly if another test still uses it
        }
    }
}
