//! The commands a hint suggests, for the OS this binary was built for. Each function returns
//! complete command lines a user can paste; untrusted parts (executable paths) are escaped and
//! shell-quoted so that pasting can never run something the path's owner chose.

use crate::registry::Protocol;
use crate::sockets::Owner;
use crate::text::escape;

/// Quote `s` for a POSIX shell (or PowerShell: both take single quotes literally), after making
/// dangerous characters visible.
pub fn shell_quote(s: &str) -> String {
    let s = escape(s);
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,".contains(&b));
    if plain {
        return s.into_owned();
    }
    if cfg!(windows) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// How to see which process holds `port`.
pub fn find_listener(port: u16, protocol: Option<Protocol>) -> Vec<String> {
    if cfg!(target_os = "macos") {
        return match protocol {
            Some(Protocol::Udp) => vec![format!("lsof -nP -iUDP:{port}")],
            _ => vec![
                format!("lsof -nP -iTCP:{port} -sTCP:LISTEN"),
                format!("netstat -anv -p tcp | grep '\\.{port} '"),
            ],
        };
    }
    if cfg!(windows) {
        return match protocol {
            Some(Protocol::Udp) => vec![format!("Get-NetUDPEndpoint -LocalPort {port}")],
            _ => vec![
                format!("Get-NetTCPConnection -LocalPort {port} -State Listen"),
                format!("netstat -ano | findstr :{port}"),
            ],
        };
    }
    let (ss, lsof) = match protocol {
        Some(Protocol::Tcp) => ("-tlnp", format!("lsof -nP -iTCP:{port} -sTCP:LISTEN")),
        Some(Protocol::Udp) => ("-ulnp", format!("lsof -nP -iUDP:{port}")),
        _ => ("-tulnp", format!("lsof -nP -i :{port}")),
    };
    vec![
        format!("sudo ss {ss} 'sport = :{port}'"),
        format!("sudo {lsof}"),
    ]
}

/// How to find out what a process is: its executable, its service unit, its package.
pub fn inspect_process(owner: &Owner) -> Vec<String> {
    let pid = owner.pid;
    let exe = owner.exe.as_deref().map(shell_quote);
    if cfg!(target_os = "macos") {
        let mut steps = vec![
            format!("ps -o pid,ppid,user,lstart,command -p {pid}"),
            format!("lsof -nP -p {pid}"),
        ];
        if let Some(exe) = exe {
            steps.push(format!("codesign -dv --verbose=2 {exe}"));
            steps.push(format!("pkgutil --file-info {exe}"));
        }
        return steps;
    }
    if cfg!(windows) {
        let mut steps = vec![
            format!("Get-Process -Id {pid} | Format-List Path,StartTime,Company"),
            format!("tasklist /svc /fi \"PID eq {pid}\""),
        ];
        if let Some(exe) = exe {
            steps.push(format!("Get-AuthenticodeSignature {exe}"));
        }
        return steps;
    }
    let mut steps = vec![
        format!("sudo ls -l /proc/{pid}/exe"),
        format!("ps -o pid,ppid,user,lstart,args -p {pid}"),
        format!("systemctl status {pid}"),
    ];
    if let Some(exe) = exe {
        steps.push(format!("dpkg -S {exe}    # Debian, Ubuntu"));
        steps.push(format!("rpm -qf {exe}    # Fedora, RHEL, SUSE"));
    }
    steps
}

/// How to see a process's capabilities (why a non-root process may bind a system port).
pub fn capabilities(pid: u32) -> Vec<String> {
    if cfg!(target_os = "linux") {
        vec![
            format!("grep Cap /proc/{pid}/status"),
            format!("getpcaps {pid}"),
            "sysctl net.ipv4.ip_unprivileged_port_start".to_string(),
        ]
    } else {
        Vec::new()
    }
}

/// How to keep a copy of and fingerprint an executable that may be gone from disk.
pub fn fingerprint_exe(pid: u32) -> Vec<String> {
    if cfg!(target_os = "linux") {
        vec![
            format!("sudo sha256sum /proc/{pid}/exe"),
            format!("sudo cp /proc/{pid}/exe ./pid-{pid}.exe    # keep a copy before it exits"),
        ]
    } else {
        Vec::new()
    }
}

/// How to see what an interpreter is running.
pub fn show_command(pid: u32) -> Vec<String> {
    if cfg!(target_os = "linux") {
        vec![
            format!("tr '\\0' ' ' < /proc/{pid}/cmdline; echo"),
            format!("sudo ls -l /proc/{pid}/cwd"),
            format!("pstree -sp {pid}"),
        ]
    } else if cfg!(windows) {
        vec![format!(
            "Get-CimInstance Win32_Process -Filter \"ProcessId={pid}\" | Select CommandLine,ParentProcessId"
        )]
    } else {
        vec![format!("ps -o pid,ppid,command -p {pid}")]
    }
}

/// How to see whether a firewall lets the network reach a port.
pub fn firewall(port: u16) -> Vec<String> {
    if cfg!(target_os = "linux") {
        vec![format!("sudo nft list ruleset | grep -w {port}")]
    } else if cfg!(target_os = "macos") {
        vec!["/usr/libexec/ApplicationFirewall/socketfilterfw --listapps".to_string()]
    } else if cfg!(windows) {
        vec![format!(
            "Get-NetFirewallPortFilter | Where-Object LocalPort -eq {port} | Get-NetFirewallRule"
        )]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_paths_and_neutralises_the_rest() {
        assert_eq!(shell_quote("/usr/sbin/sshd"), "/usr/sbin/sshd");
        if !cfg!(windows) {
            assert_eq!(shell_quote("/opt/my app/x"), "'/opt/my app/x'");
            assert_eq!(shell_quote("/tmp/a'b"), r"'/tmp/a'\''b'");
            assert_eq!(shell_quote("/tmp/$(reboot)"), "'/tmp/$(reboot)'");
        }
        // A terminal escape in a path becomes visible text, inside quotes.
        assert_eq!(shell_quote("/tmp/\x1b[2J"), "'/tmp/\\x1b[2J'");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_steps_name_the_port_pid_and_exe() {
        assert_eq!(
            find_listener(22, Some(Protocol::Tcp))[0],
            "sudo ss -tlnp 'sport = :22'"
        );
        assert_eq!(
            find_listener(53, Some(Protocol::Udp))[0],
            "sudo ss -ulnp 'sport = :53'"
        );
        let owner = Owner {
            pid: 42,
            name: "x".into(),
            uid: Some(0),
            user: None,
            exe: Some("/usr/bin/x".into()),
            exe_deleted: false,
            cmdline: vec![],
            start_time: None,
            start_ticks: None,
            parent_pid: None,
        };
        let steps = inspect_process(&owner);
        assert!(steps.contains(&"sudo ls -l /proc/42/exe".to_string()));
        assert!(steps.contains(&"systemctl status 42".to_string()));
        assert!(steps.iter().any(|s| s.starts_with("dpkg -S /usr/bin/x")));
        assert!(steps.iter().any(|s| s.starts_with("rpm -qf /usr/bin/x")));
    }
}
