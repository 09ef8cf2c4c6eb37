fn main() -> std::process::ExitCode {
    mistral_rs::cli::main()
}
