//! The `volume` command.
//!
//! **Status: skeleton.** Management verbs and `volume serve` arrive with their
//! own issue; for now the binary only says so.

fn main() {
    eprintln!("volume: not implemented yet; see the volume-rs README for what works today");
    std::process::exit(2);
}
