use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    farmhouse::telemetry::init();
    let cli = farmhouse::config::Cli::parse();
    match farmhouse::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
