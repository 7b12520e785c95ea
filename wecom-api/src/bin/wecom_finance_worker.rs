//! The Finance SDK worker: runs WeCom's native library in its own process for
//! `wecom_api::finance::WorkerBackend`, so a crash in it ends this process, not yours.

fn main() -> std::process::ExitCode {
    wecom_api::finance::run_worker()
}
