//! `sena`: parse the command line, set up logging, hand over to `cli`.

fn main() {
    std::process::exit(sena::cli::main());
}
