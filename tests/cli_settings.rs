//! Settings precedence as the binary applies it: flags, then CHATEVICT_*
//! variables, then the config file in XDG_CONFIG_HOME, then defaults.

use std::process::Command;

fn whoami(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chatevict"));
    c.arg("whoami")
        .args(args)
        .env_clear()
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"));
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn flags_beat_environment_which_beats_the_config_file() {
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("config/chatevict");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("config.toml"), "cloud = \"china\"\n").unwrap();
    // The file alone: China is refused, with the reason.
    let (code, err) = whoami(d.path(), &[], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("21Vianet"), "{err}");
    // The environment wins over the file: now only the sign-in is missing.
    let (code, err) = whoami(d.path(), &[("CHATEVICT_CLOUD", "usgov")], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("chatevict login"), "{err}");
    // A flag wins over the environment.
    let (code, err) = whoami(
        d.path(),
        &[("CHATEVICT_CLOUD", "usgov")],
        &["--cloud", "cn"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("21Vianet"), "{err}");
    // A broken file says where and what.
    std::fs::write(conf.join("config.toml"), "cloud = [\n").unwrap();
    let (code, err) = whoami(d.path(), &[], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("config.toml") && err.contains("not valid"),
        "{err}"
    );
    // An explicit --config that does not exist is an error, not a default.
    let (code, err) = whoami(d.path(), &[], &["--config", "/nonexistent/c.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/c.toml"), "{err}");
}

#[test]
fn logout_deletes_the_saved_session() {
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state/chatevict");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("token-cache.json"), "{}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .arg("logout")
        .env("XDG_STATE_HOME", d.path().join("state"))
        .env("XDG_CONFIG_HOME", d.path().join("config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!state.join("token-cache.json").exists());
}
