fn main() {
    eprintln!("loadgen: not built yet");
    std::process::exit(2)
}
