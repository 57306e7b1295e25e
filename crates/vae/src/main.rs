//! `cargo run --release -p vae -- train | sample | encode | reconstruct | evaluate`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    data::exit_on_error(|| vae::cli::run(vae::cli::Cli::parse()));
}
