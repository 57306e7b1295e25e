//! `cargo run --release -p dbm -- train | evaluate | sample | filters | export | ship`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    data::exit_on_error(|| dbm::cli::run(dbm::cli::Cli::parse()));
}
