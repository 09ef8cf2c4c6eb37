fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    mistral_rs::cli::main()
}

/// glibc gives every thread that allocates its own malloc arena (up to 8 per core); with
/// the engine's many short-lived blocking threads, memory freed in one arena is not reused
/// by the others and the resident size grows to several times what is live. Two arenas keep
/// peak RSS down to about half on the benchmark's with-items and 200-execution runs (see
/// bench/README.md) without a measurable cost in speed. MALLOC_ARENA_MAX still overrides.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; called before any thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
