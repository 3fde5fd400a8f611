//! Records the git commit and build profile for `/status`.
use std::process::Command;

fn main() {
    // A build without `.git` (the Docker image) passes the commit in: `--build-arg BARDO_GIT_COMMIT`.
    println!("cargo:rerun-if-env-changed=BARDO_GIT_COMMIT");
    let given = std::env::var("BARDO_GIT_COMMIT").ok().filter(|commit| !commit.is_empty());
    let commit = given.unwrap_or_else(git_commit);
    println!("cargo:rustc-env=BARDO_GIT_COMMIT={commit}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=BARDO_BUILD_PROFILE={profile}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}
