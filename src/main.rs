//! The `satchel` binary: parse the command line, run the command. Everything else lives in
//! the library so tests drive the same code.

use std::process::ExitCode;

use clap::Parser;
use satchel::cli::Cli;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("failed to start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(satchel::run(cli)) {
        Ok(message) => {
            if !message.is_empty() {
                println!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!(
                "{} {message}",
                chrono::Local::now().format("%Y/%m/%d %H:%M:%S")
            );
            ExitCode::FAILURE
        }
    }
}
