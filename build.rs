//! Embeds the run-time search path of the libpython pyo3 links against (e.g. pyenv's
//! `~/.pyenv/versions/X/lib`), so the binary loads the same interpreter it was built for
//! instead of whatever libpython the dynamic loader finds first.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "python-embed")]
    {
        let cfg = pyo3_build_config::get();
        if let Some(dir) = &cfg.lib_dir {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
}
