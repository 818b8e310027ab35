//! The commands a hint suggests, for the OS this binary was built for.
//!
//! A step is structured: a pipeline of commands, each an argv (a list of words), plus an
//! optional fixed remark. Untrusted parts (executable paths) are words like any other and stay
//! raw in the model. [`NextStep::render`] is the one place that turns a step into a line a user
//! can paste: every word is quoted for the shell so that pasting runs exactly that argv, and
//! characters a terminal would act on are written as visible escapes that the shell turns back
//! into the original bytes (`$'\x1b'` for POSIX shells, `[char]0x1b` for PowerShell).
//!
//! Printers print the rendered line as it is: it is printable already, and passing it through
//! [`crate::text::escape`] again would change the command (a `\` inside quotes would double).

use std::fmt;
use std::fmt::Write as _;

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::registry::Protocol;
use crate::sockets::Owner;
use crate::text::{is_dangerous, raw_byte};

/// One command to run next: `argv[0] | argv[1] | ...`, and a remark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextStep {
    /// The commands joined by `|`; each is its argv, never empty.
    pipeline: Vec<Vec<String>>,
    /// Shown after the command as a shell comment (`# Debian, Ubuntu`): fixed text, never data.
    note: Option<&'static str>,
}

impl NextStep {
    /// The command `argv` (its first word is the program).
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> NextStep {
        NextStep {
            pipeline: vec![argv.into_iter().map(Into::into).collect()],
            note: None,
        }
    }

    /// This command piped into `argv`.
    pub fn pipe<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> NextStep {
        self.pipeline
            .push(argv.into_iter().map(Into::into).collect());
        self
    }

    /// A remark shown after the command.
    pub fn note(mut self, note: &'static str) -> NextStep {
        self.note = Some(note);
        self
    }

    /// The commands of the pipeline, each as its argv.
    pub fn pipeline(&self) -> &[Vec<String>] {
        &self.pipeline
    }

    pub fn remark(&self) -> Option<&'static str> {
        self.note
    }

    /// The line to show and paste, for the shell of the OS this binary was built for: POSIX
    /// `sh`-family quoting on Unix, PowerShell quoting on Windows. Print it unescaped.
    pub fn render(&self) -> String {
        if cfg!(windows) {
            self.render_powershell()
        } else {
            self.render_posix()
        }
    }

    /// The line for bash, zsh, ksh or busybox ash: each word bare when it holds only safe
    /// characters, else in single quotes, else (hidden characters, invalid UTF-8, newlines) in
    /// ANSI-C `$'...'` quotes with those bytes written as `\xNN`.
    pub fn render_posix(&self) -> String {
        self.render_with(posix_word)
    }

    /// The line for PowerShell: each word bare, in single quotes, or (hidden characters) as a
    /// parenthesised string expression with those characters as `[char]0xNN`.
    pub fn render_powershell(&self) -> String {
        self.render_with(powershell_word)
    }

    fn render_with(&self, word: fn(&str, &mut String)) -> String {
        let mut out = String::new();
        for (i, argv) in self.pipeline.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            for (j, w) in argv.iter().enumerate() {
                if j > 0 {
                    out.push(' ');
                }
                word(w, &mut out);
            }
        }
        if let Some(note) = self.note {
            out.push_str("    # ");
            out.push_str(note);
        }
        out
    }
}

impl fmt::Display for NextStep {
    /// [`NextStep::render`]: print it as it is, never through the escaper.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// JSON: `{"command": "<the rendered line>", "pipeline": [["argv", ...], ...], "note": ...}`;
/// `pipeline` holds the raw words, for a program that runs the step without a shell.
impl Serialize for NextStep {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("NextStep", 3)?;
        st.serialize_field("command", &self.render())?;
        st.serialize_field("pipeline", &self.pipeline)?;
        st.serialize_field("note", &self.note)?;
        st.end()
    }
}

/// Characters no shell treats specially anywhere in a word.
fn posix_plain(w: &str) -> bool {
    !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,".contains(&b))
}

/// Whether `c` must not appear literally in a pasted line: what [`is_dangerous`] flags (controls,
/// bidi, invisible characters, raw bytes), newlines and tabs included, but not the backslash,
/// which quotes keep literal.
fn needs_ansi_c(c: char) -> bool {
    c != '\\' && is_dangerous(c)
}

fn posix_word(w: &str, out: &mut String) {
    if posix_plain(w) {
        out.push_str(w);
    } else if !w.chars().any(needs_ansi_c) {
        out.push('\'');
        out.push_str(&w.replace('\'', r"'\''"));
        out.push('\'');
    } else {
        // `$'...'`: the shell turns each `\xNN` back into that byte, whatever the locale, so the
        // word is the original bytes (a raw byte from a non-UTF-8 path included).
        out.push_str("$'");
        let mut buf = [0u8; 4];
        for c in w.chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '\'' => out.push_str(r"\'"),
                c if raw_byte(c).is_some() || needs_ansi_c(c) => {
                    let bytes = match raw_byte(c) {
                        Some(b) => vec![b],
                        None => c.encode_utf8(&mut buf).as_bytes().to_vec(),
                    };
                    for b in bytes {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        out.push('\'');
    }
}

/// PowerShell reads these bare as one literal argument (a leading `-` is a parameter: only the
/// fixed words written here start with one).
fn powershell_plain(w: &str) -> bool {
    !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:\\".contains(&b))
}

/// PowerShell ends a single-quoted string at any of these, so each is doubled inside one.
fn powershell_quote_char(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn powershell_quoted(s: &str, out: &mut String) {
    out.push('\'');
    for c in s.chars() {
        if powershell_quote_char(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

fn powershell_word(w: &str, out: &mut String) {
    if powershell_plain(w) {
        out.push_str(w);
    } else if !w.chars().any(needs_ansi_c) {
        powershell_quoted(w, out);
    } else {
        // ('C:\a' + [char]0x1b + 'b'): an expression PowerShell evaluates to the exact string.
        let mut parts: Vec<String> = Vec::new();
        let mut run = String::new();
        for c in w.chars() {
            if needs_ansi_c(c) {
                if !run.is_empty() {
                    let mut q = String::new();
                    powershell_quoted(&std::mem::take(&mut run), &mut q);
                    parts.push(q);
                }
                let n = u32::from(c);
                parts.push(if n <= 0xffff {
                    format!("[char]0x{n:x}")
                } else {
                    format!("[char]::ConvertFromUtf32(0x{n:x})")
                });
            } else {
                run.push(c);
            }
        }
        if !run.is_empty() {
            let mut q = String::new();
            powershell_quoted(&run, &mut q);
            parts.push(q);
        }
        // A lone [char] would be a char, not a string: start from '' so `+` concatenates text.
        out.push_str("(''");
        for p in parts {
            out.push_str(" + ");
            out.push_str(&p);
        }
        out.push(')');
    }
}

/// How to see which process holds `port`.
pub fn find_listener(port: u16, protocol: Option<Protocol>) -> Vec<NextStep> {
    if cfg!(target_os = "macos") {
        return match protocol {
            Some(Protocol::Udp) => vec![NextStep::new(["lsof", "-nP", &format!("-iUDP:{port}")])],
            _ => vec![
                NextStep::new(["lsof", "-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN"]),
                NextStep::new(["netstat", "-anv", "-p", "tcp"])
                    .pipe(["grep".to_string(), format!("\\.{port} ")]),
            ],
        };
    }
    if cfg!(windows) {
        let port = port.to_string();
        return match protocol {
            Some(Protocol::Udp) => vec![NextStep::new(["Get-NetUDPEndpoint", "-LocalPort", &port])],
            _ => vec![
                NextStep::new([
                    "Get-NetTCPConnection",
                    "-LocalPort",
                    &port,
                    "-State",
                    "Listen",
                ]),
                NextStep::new(["netstat", "-ano"]).pipe(["findstr", &format!(":{port}")]),
            ],
        };
    }
    let (ss, lsof) = match protocol {
        Some(Protocol::Tcp) => (
            "-tlnp",
            vec![format!("-iTCP:{port}"), "-sTCP:LISTEN".into()],
        ),
        Some(Protocol::Udp) => ("-ulnp", vec![format!("-iUDP:{port}")]),
        _ => ("-tulnp", vec!["-i".into(), format!(":{port}")]),
    };
    vec![
        NextStep::new([
            "sudo".into(),
            "ss".into(),
            ss.into(),
            format!("sport = :{port}"),
        ]),
        NextStep::new(
            ["sudo", "lsof", "-nP"]
                .into_iter()
                .map(String::from)
                .chain(lsof),
        ),
    ]
}

/// How to find out what a process is: its executable, its service unit, its package.
pub fn inspect_process(owner: &Owner) -> Vec<NextStep> {
    let pid = owner.pid.to_string();
    let exe = owner.exe.as_deref();
    if cfg!(target_os = "macos") {
        let mut steps = vec![
            NextStep::new(["ps", "-o", "pid,ppid,user,lstart,command", "-p", &pid]),
            NextStep::new(["lsof", "-nP", "-p", &pid]),
        ];
        if let Some(exe) = exe {
            steps.push(NextStep::new(["codesign", "-dv", "--verbose=2", exe]));
            steps.push(NextStep::new(["pkgutil", "--file-info", exe]));
        }
        return steps;
    }
    if cfg!(windows) {
        let mut steps = vec![
            NextStep::new(["Get-Process", "-Id", &pid]).pipe(["Format-List", "*"]),
            NextStep::new(["tasklist", "/svc", "/fi", &format!("PID eq {pid}")]),
        ];
        if let Some(exe) = exe {
            steps.push(NextStep::new(["Get-AuthenticodeSignature", exe]));
        }
        return steps;
    }
    let mut steps = vec![
        NextStep::new(["sudo", "ls", "-l", &format!("/proc/{pid}/exe")]),
        NextStep::new(["ps", "-o", "pid,ppid,user,lstart,args", "-p", &pid]),
        NextStep::new(["systemctl", "status", &pid]),
    ];
    if let Some(exe) = exe {
        steps.push(NextStep::new(["dpkg", "-S", exe]).note("Debian, Ubuntu"));
        steps.push(NextStep::new(["rpm", "-qf", exe]).note("Fedora, RHEL, SUSE"));
    }
    steps
}

/// How to see a process's capabilities (why a non-root process may bind a system port).
pub fn capabilities(pid: u32) -> Vec<NextStep> {
    if cfg!(target_os = "linux") {
        vec![
            NextStep::new(["grep", "Cap", &format!("/proc/{pid}/status")]),
            NextStep::new(["getpcaps", &pid.to_string()]),
            NextStep::new(["sysctl", "net.ipv4.ip_unprivileged_port_start"]),
        ]
    } else {
        Vec::new()
    }
}

/// What to run about a suspicious executable: fingerprint the running file, then look at the
/// process.
pub fn examine_executable(o: &Owner) -> Vec<NextStep> {
    let mut steps = fingerprint_exe(o.pid);
    steps.extend(inspect_process(o));
    steps
}

/// How to keep a copy of and fingerprint an executable that may be gone from disk.
pub fn fingerprint_exe(pid: u32) -> Vec<NextStep> {
    if cfg!(target_os = "linux") {
        vec![
            NextStep::new(["sudo", "sha256sum", &format!("/proc/{pid}/exe")]),
            NextStep::new([
                "sudo".to_string(),
                "cp".into(),
                format!("/proc/{pid}/exe"),
                format!("./pid-{pid}.exe"),
            ])
            .note("keep a copy before it exits"),
        ]
    } else {
        Vec::new()
    }
}

/// How to see what an interpreter is running.
pub fn show_command(pid: u32) -> Vec<NextStep> {
    if cfg!(target_os = "linux") {
        vec![
            // -v shows the NULs between arguments as ^@ and any control character visibly, so
            // a hostile command line cannot act on the terminal.
            NextStep::new(["cat", "-v", &format!("/proc/{pid}/cmdline")])
                .note("arguments are separated by ^@"),
            NextStep::new(["sudo", "ls", "-l", &format!("/proc/{pid}/cwd")]),
            NextStep::new(["pstree", "-sp", &pid.to_string()]),
        ]
    } else if cfg!(windows) {
        vec![NextStep::new([
            "Get-CimInstance",
            "Win32_Process",
            "-Filter",
            &format!("ProcessId={pid}"),
        ])
        .pipe(["Format-List", "*"])]
    } else {
        vec![NextStep::new([
            "ps",
            "-o",
            "pid,ppid,command",
            "-p",
            &pid.to_string(),
        ])]
    }
}

/// How to see whether a firewall lets the network reach a port.
pub fn firewall(port: u16) -> Vec<NextStep> {
    if cfg!(target_os = "linux") {
        vec![NextStep::new(["sudo", "nft", "list", "ruleset"]).pipe([
            "grep",
            "-w",
            &port.to_string(),
        ])]
    } else if cfg!(target_os = "macos") {
        vec![NextStep::new([
            "/usr/libexec/ApplicationFirewall/socketfilterfw",
            "--listapps",
        ])]
    } else if cfg!(windows) {
        vec![NextStep::new(["Get-NetFirewallPortFilter"])
            .pipe(["Where-Object", "LocalPort", "-eq", &port.to_string()])
            .pipe(["Get-NetFirewallRule"])]
    } else {
        Vec::new()
    }
}

/// How to see this host's ephemeral port range and the ports reserved from it.
pub fn ephemeral_range() -> Vec<NextStep> {
    if cfg!(target_os = "linux") {
        vec![NextStep::new([
            "sysctl",
            "net.ipv4.ip_local_port_range",
            "net.ipv4.ip_local_reserved_ports",
        ])]
    } else if cfg!(windows) {
        vec![NextStep::new([
            "netsh",
            "int",
            "ipv4",
            "show",
            "dynamicport",
            "tcp",
        ])]
    } else if cfg!(target_os = "macos") {
        vec![NextStep::new([
            "sysctl",
            "net.inet.ip.portrange.first",
            "net.inet.ip.portrange.last",
        ])]
    } else {
        Vec::new()
    }
}

/// `sudo portscope explain PORT/PROTO`: the same view with every owner visible. Windows has no
/// sudo: the same command from an elevated terminal.
pub fn explain_as_root(port: u16, protocol: Protocol) -> NextStep {
    if cfg!(windows) {
        return NextStep::new([
            "portscope".to_string(),
            "explain".into(),
            format!("{port}/{protocol}"),
        ])
        .note("in a terminal opened with Run as administrator");
    }
    NextStep::new([
        "sudo".to_string(),
        "portscope".into(),
        "explain".into(),
        format!("{port}/{protocol}"),
    ])
}

/// `ps` for one pid (`Get-Process` on Windows).
pub fn ps(pid: u32) -> NextStep {
    if cfg!(windows) {
        return NextStep::new(["Get-Process", "-Id", &pid.to_string()]).pipe(["Format-List", "*"]);
    }
    NextStep::new([
        "ps",
        "-o",
        "pid,ppid,user,lstart,args",
        "-p",
        &pid.to_string(),
    ])
}

/// Commands that list what the kernel itself serves (RPC, WireGuard).
pub fn kernel_services() -> Vec<NextStep> {
    if cfg!(target_os = "linux") {
        vec![
            NextStep::new(["rpcinfo", "-p"]),
            NextStep::new(["sudo", "wg", "show"]),
        ]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::from_os_bytes;

    fn one(w: &str) -> String {
        NextStep::new(["dpkg", "-S", w]).render_posix()
    }

    fn ps1(w: &str) -> String {
        NextStep::new(["Get-AuthenticodeSignature", w]).render_powershell()
    }

    #[test]
    fn posix_quoting_keeps_plain_paths_and_neutralises_the_rest() {
        assert_eq!(one("/usr/sbin/sshd"), "dpkg -S /usr/sbin/sshd");
        assert_eq!(one("/opt/my app/x"), "dpkg -S '/opt/my app/x'");
        assert_eq!(one("/tmp/a'b"), r"dpkg -S '/tmp/a'\''b'");
        assert_eq!(one("/tmp/$(reboot)"), "dpkg -S '/tmp/$(reboot)'");
        assert_eq!(one("/tmp/a\\x1b"), r"dpkg -S '/tmp/a\x1b'");
        assert_eq!(one(""), "dpkg -S ''");
        assert_eq!(one("#x"), "dpkg -S '#x'");
        assert_eq!(one("~root"), "dpkg -S '~root'");
    }

    #[test]
    fn posix_quoting_writes_hidden_characters_as_escapes_the_shell_undoes() {
        // The line is printable (no ESC reaches the terminal) and pastes as the real bytes.
        assert_eq!(one("/tmp/\x1b[2J"), r"dpkg -S $'/tmp/\x1b[2J'");
        assert_eq!(one("/tmp/a\nb"), r"dpkg -S $'/tmp/a\x0ab'");
        assert_eq!(one("/tmp/\u{202e}x"), r"dpkg -S $'/tmp/\xe2\x80\xaex'");
        assert_eq!(one("/tmp/a'\x07\\"), r"dpkg -S $'/tmp/a\'\x07\\'");
        // A byte that was not UTF-8 goes back as that byte; the text \xff stays text.
        assert_eq!(one(&from_os_bytes(b"/tmp/\xff")), r"dpkg -S $'/tmp/\xff'");
        assert_eq!(one(&from_os_bytes(b"/tmp/\\xff")), r"dpkg -S '/tmp/\xff'");
        // Visible non-ASCII stays readable.
        assert_eq!(one("/opt/日本/x"), "dpkg -S '/opt/日本/x'");
    }

    #[test]
    fn pipelines_and_notes_render_in_order() {
        let step = NextStep::new(["sudo", "nft", "list", "ruleset"]).pipe(["grep", "-w", "22"]);
        assert_eq!(step.render_posix(), "sudo nft list ruleset | grep -w 22");
        let noted = NextStep::new(["rpm", "-qf", "/x y"]).note("Fedora");
        assert_eq!(noted.render_posix(), "rpm -qf '/x y'    # Fedora");
        assert_eq!(noted.to_string(), noted.render());
        let json = serde_json::to_value(&noted).unwrap();
        assert_eq!(json["pipeline"][0][2], "/x y");
        assert_eq!(json["command"], noted.render());
        assert_eq!(json["note"], "Fedora");
    }

    #[test]
    fn powershell_quoting_doubles_every_quote_powershell_knows() {
        assert_eq!(
            ps1(r"C:\Windows\System32\svchost.exe"),
            r"Get-AuthenticodeSignature C:\Windows\System32\svchost.exe"
        );
        assert_eq!(
            ps1(r"C:\Program Files\a'b.exe"),
            r"Get-AuthenticodeSignature 'C:\Program Files\a''b.exe'"
        );
        // PowerShell also closes single-quoted strings at typographic quotes.
        assert_eq!(
            ps1("C:\\a\u{2019};calc"),
            "Get-AuthenticodeSignature 'C:\\a\u{2019}\u{2019};calc'"
        );
        assert_eq!(
            ps1("C:\\$(calc),x"),
            "Get-AuthenticodeSignature 'C:\\$(calc),x'"
        );
        assert_eq!(
            ps1("C:\\a\x1b[2J\u{202e}"),
            r"Get-AuthenticodeSignature ('' + 'C:\a' + [char]0x1b + '[2J' + [char]0x202e)"
        );
        assert_eq!(
            ps1("\u{e0041}"),
            "Get-AuthenticodeSignature ('' + [char]::ConvertFromUtf32(0xe0041))"
        );
        assert_eq!(
            NextStep::new(["tasklist", "/svc", "/fi", "PID eq 7"]).render_powershell(),
            "tasklist /svc /fi 'PID eq 7'"
        );
        // pwsh expands a bare wildcard for native commands on Unix: quote it.
        assert_eq!(
            NextStep::new(["Get-Process", "-Id", "7"])
                .pipe(["Format-List", "*"])
                .render_powershell(),
            "Get-Process -Id 7 | Format-List '*'"
        );
        assert_eq!(ps1("C:\\a,b@c"), "Get-AuthenticodeSignature 'C:\\a,b@c'");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_steps_name_the_port_pid_and_exe() {
        assert_eq!(
            find_listener(22, Some(Protocol::Tcp))[0].render(),
            "sudo ss -tlnp 'sport = :22'"
        );
        assert_eq!(
            find_listener(53, Some(Protocol::Udp))[0].render(),
            "sudo ss -ulnp 'sport = :53'"
        );
        assert_eq!(find_listener(53, None)[1].render(), "sudo lsof -nP -i :53");
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
        let steps: Vec<String> = inspect_process(&owner)
            .iter()
            .map(NextStep::render)
            .collect();
        assert!(steps.contains(&"sudo ls -l /proc/42/exe".to_string()));
        assert!(steps.contains(&"systemctl status 42".to_string()));
        assert!(steps.contains(&"dpkg -S /usr/bin/x    # Debian, Ubuntu".to_string()));
        assert!(steps.iter().any(|s| s.starts_with("rpm -qf /usr/bin/x")));
        assert_eq!(
            show_command(42)[0].render(),
            "cat -v /proc/42/cmdline    # arguments are separated by ^@"
        );
    }
}
