//! `cargo run --release -p rbm -- train | evaluate | sample | reconstruct | inpaint`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    data::exit_on_error(|| rbm::cli::run(rbm::cli::Cli::parse()));
}
