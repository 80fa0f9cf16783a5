//! The `frontdoor` command: serve, migrate, schema, admin, demo, audit, export.
use std::process::ExitCode;

/// mimalloc returns freed memory to the system; glibc's allocator keeps each thread's
/// 19 MiB Argon2 blocks in per-thread arenas, so a login flood left the process at
/// hundreds of MiB long after it ended.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Password hashes run on the blocking pool; an idle blocking thread exits after a
        // second and hands its allocator heap back, so a login flood's memory returns
        // within seconds of the flood rather than after tokio's default ten.
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
        .expect("the async runtime starts")
        .block_on(frontdoor::cli::main())
}
