//! Writing the output fails in two ways: the reader went away (`| head`: the run is done, exit 0
//! quietly, in every format) or the output cannot be written (`>/dev/full`: one line, exit 1,
//! never a panic).

mod support;

use std::fs::OpenOptions;
use std::io::Read;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;

/// Run `portscope args` with stdout into a pipe whose reader takes one byte and hangs up.
fn read_one_byte_then_close(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(cargo_bin("portscope"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    out.read_exact(&mut one).unwrap();
    drop(out);
    child.wait_with_output().unwrap()
}

#[test]
fn every_list_format_ends_quietly_when_the_reader_hangs_up() {
    // Enough rows that the output is far larger than a pipe's buffer, whatever else listens here:
    // the program is still writing when the reader goes away.
    let _holder = support::hold(&["--name", "psepipe", "--tcp-count", "3000"]);
    for format in [&[][..], &["--csv"], &["--json"]] {
        let mut args = vec!["list"];
        args.extend_from_slice(format);
        let out = read_one_byte_then_close(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_full_device_is_one_line_and_exit_1_never_a_panic() {
    for args in [
        &["completions", "bash"][..],
        &["man"],
        &["--help"],
        &["lookup", "22"],
        &["registry", "info", "--json"],
    ] {
        let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = Command::new(cargo_bin("portscope"))
            .args(args)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("portscope: ") && stderr.contains("No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
