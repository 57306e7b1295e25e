//! `cargo run --release -p gan -- train | sample | evaluate`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    data::exit_on_error(|| gan::cli::run(gan::cli::Cli::parse()));
}
