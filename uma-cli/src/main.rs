//! `uma`: curl for UMA-protected APIs (under construction).

fn main() {
    eprintln!("uma: the command-line tool is under construction");
    std::process::exit(2);
}
