//! `wecom-standin`: a local WeCom on loopback, for tests and other languages.

use std::net::SocketAddr;

const HELP: &str = "\
wecom-standin: a local WeCom (企业微信) generated from the wecom-api spec

USAGE:
    wecom-standin [--addr 127.0.0.1:8080] [--secret CORPID:SECRET]... [--max-records N] [--quiet]

OPTIONS:
    --addr ADDR            where to listen (default 127.0.0.1:8080)
    --secret ID:SECRET     accept only these corp (suite, provider, model) ids and secrets;
                           without any, every corp id and secret is accepted
    --max-records N        requests kept in memory (default 10000)
    --quiet                no log line per request
    -h, --help             this text
";

fn main() {
    if let Err(message) = run() {
        eprintln!("wecom-standin: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut builder = wecom_standin::Standin::builder();
    let mut addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut quiet = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "--addr" => {
                addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?;
            }
            "--secret" => {
                let pair = value("--secret")?;
                let (id, secret) = pair.split_once(':').ok_or("--secret takes ID:SECRET")?;
                builder = builder.secret(id, secret);
            }
            "--max-records" => {
                let max = value("--max-records")?
                    .parse()
                    .map_err(|e| format!("--max-records: {e}"))?;
                builder = builder.max_records(max);
            }
            "--quiet" => quiet = true,
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_max_level(tracing::Level::INFO)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    runtime.block_on(async {
        let standin = builder
            .addr(addr)
            .log_requests(!quiet)
            .start()
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        tracing::info!("wecom-standin listening on {}", standin.base_url());
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
        Ok(())
    })
}
