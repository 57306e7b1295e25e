//! `cargo run --release -p gan -- train | sample | evaluate | experiment`.

use clap::Parser;

fn main() {
    data::exit_on_error(|| gan::cli::run(gan::cli::Cli::parse()));
}
