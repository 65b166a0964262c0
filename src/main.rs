use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = farmhouse::config::Cli::parse();
    farmhouse::telemetry::init(cli.log_format == farmhouse::config::LogFormat::Json);
    match farmhouse::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
