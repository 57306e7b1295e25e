//! `cargo run --release -p study -- experiment <ID>`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    data::exit_on_error(|| study::cli::run(study::cli::Cli::parse()));
}
