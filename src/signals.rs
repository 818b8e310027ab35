//! Requests from the OS to stop, for the commands that run until told to (`watch`, the explorer):
//! SIGTERM and SIGINT on Unix; on Windows, which has no such signals, the console's control
//! events (Ctrl-C, Ctrl-Break, the console window closing, logoff, shutdown). Owns only the
//! handler's installation; what a stop means is the caller's.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Set `flag` on SIGTERM or SIGINT (Unix) or a console control event (Windows).
#[cfg(unix)]
pub(crate) fn stop_flag(flag: &Arc<AtomicBool>) -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(flag))?;
    }
    Ok(())
}

#[cfg(windows)]
pub(crate) fn stop_flag(flag: &Arc<AtomicBool>) -> std::io::Result<()> {
    let flag = Arc::clone(flag);
    console::on_event(move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst))
}

#[cfg(windows)]
pub(crate) use console::on_event as on_console_event;

#[cfg(windows)]
mod console {
    use std::sync::{Mutex, Once};
    use std::time::Duration;

    use windows_sys::core::BOOL;
    use windows_sys::Win32::System::Console::{
        SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_C_EVENT,
    };

    type Handler = Box<dyn Fn(i32) + Send + Sync>;
    static HANDLERS: Mutex<Vec<Handler>> = Mutex::new(Vec::new());

    /// Call `f` with a Unix-style signal number on each console control event: 2 (as SIGINT)
    /// for Ctrl-C and Ctrl-Break, 1 (as SIGHUP) for the console closing, logoff and shutdown.
    pub(crate) fn on_event(f: impl Fn(i32) + Send + Sync + 'static) -> std::io::Result<()> {
        HANDLERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(f));
        static INSTALL: Once = Once::new();
        let mut result = Ok(());
        INSTALL.call_once(|| {
            // SAFETY: registers a handler function that lives as long as the program.
            if unsafe { SetConsoleCtrlHandler(Some(handler), 1) } == 0 {
                result = Err(std::io::Error::last_os_error());
            }
        });
        result
    }

    /// Runs on a thread the system starts for the event.
    unsafe extern "system" fn handler(event: u32) -> BOOL {
        let interrupt = event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT;
        for f in HANDLERS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            f(if interrupt { 2 } else { 1 });
        }
        if !interrupt {
            // The process ends as soon as this returns (a closing console waits about five
            // seconds at most): give the main thread the time to restore the console and exit.
            std::thread::sleep(Duration::from_secs(3));
        }
        1
    }
}
