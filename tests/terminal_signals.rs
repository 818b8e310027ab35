//! SIGQUIT (Ctrl-\ or `kill -QUIT`) ends the explorer with the terminal given back: cooked mode,
//! echo on, alternate screen left and cursor shown, as SIGTERM, SIGHUP and SIGINT do.

mod support;

use std::time::Duration;

use support::pty::start;

#[test]
fn sigquit_ends_it_with_the_terminal_cooked_again() {
    let mut s = start(&[], &[], 80, 24);
    s.wait_for("proto local", Duration::from_secs(15));
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(s.pid(), libc::SIGQUIT) }, 0);
    let status = s
        .wait_exit(Duration::from_secs(2))
        .expect("still running 2 s after SIGQUIT");
    assert!(
        !status.success(),
        "a signal is not a clean quit: {status:?}"
    );
    s.assert_cooked();
    s.assert_restored();
}
