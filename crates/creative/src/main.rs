//! `cargo run --release -p creative -- train | sample`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    data::exit_on_error(|| creative::cli::run(creative::cli::Cli::parse()));
}
