//! Nothing an outsider typed reaches a terminal raw, on any output path.
//!
//! One hostile export (chat names, display names and a UPN full of escape
//! sequences, C1 controls, bidi overrides and invisible characters, under
//! a file name that holds them too) goes through every command and output
//! format, the emulator included; every byte written to stdout, stderr and
//! files is scanned against a list of forbidden characters written here,
//! independently of the sanitiser's own. JSON must still give back the
//! original text when parsed.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const HOME: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";
const FABRIKAM: &str = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// What an outsider may type: an OSC 52 clipboard write, a title change,
/// a screen clear, C1 CSI and OSC, a right-to-left override, DEL, zero
/// width characters, a bidi isolate, a backspace and a carriage return.
const NASTY: &str = "\u{1b}]52;c;SGVsbG8=\u{7}\u{1b}]0;OWNED\u{7}\u{1b}[2J\u{9b}31m\u{9d}0;t\u{9c}\u{202e}evil\u{202c}\u{7f}\u{200b}\u{feff}\u{2066}x\u{2069}\u{8}\r\u{0}";

/// Is this character forbidden in output outside a JSON escape? (`\n` is
/// allowed; `\r` only as part of a CRLF line end.)
fn forbidden(c: char) -> bool {
    let n = c as u32;
    (n < 0x20 && c != '\n' && c != '\r')
        || (0x7f..=0x9f).contains(&n)
        || matches!(
            n,
            0x200b..=0x200f | 0x202a..=0x202e | 0x2060 | 0x2066..=0x2069 | 0xfeff
        )
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let bad = forbidden(c) || (c == '\r' && chars.get(i + 1) != Some(&'\n'));
        if bad {
            let from = i.saturating_sub(30);
            let around: String = chars[from..(i + 10).min(chars.len())].iter().collect();
            panic!("{what}: raw U+{:04X} in {around:?}", c as u32);
        }
    }
}

/// Every string inside a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

/// The JSON documents of `text` (one, or one per line) hold the hostile
/// text exactly as it was written.
fn assert_round_trips(what: &str, text: &str, lines: bool) {
    let docs: Vec<Value> = if lines {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}")))
            .collect()
    } else {
        vec![serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))]
    };
    let mut all = Vec::new();
    docs.iter().for_each(|d| strings(d, &mut all));
    assert!(
        all.iter().any(|s| s.contains(NASTY)),
        "{what}: the hostile text is not given back whole"
    );
}

fn member(name: &str, upn: &str, org: &str) -> Value {
    json!({"DisplayName": name, "UPN": upn, "Role": 1, "OrganizationId": org})
}

/// The hostile export, under a hostile file name.
fn write_export(dir: &Path) -> PathBuf {
    let mut lines = vec![json!({
        "CreationTime": "2026-11-01T08:00:00", "Id": "00000001-0000-4000-8000-000000000001",
        "Operation": "TeamsSessionStarted", "OrganizationId": HOME, "RecordType": 25,
        "UserKey": "00000001-1111-4111-8111-000000000001", "UserType": 0,
        "Workload": "MicrosoftTeams", "UserId": "user1@contoso.com",
    })];
    let chat = |n: u32, name: String, members: Value| {
        json!({
            "CreationTime": format!("2026-11-02T09:00:0{n}"),
            "Id": format!("00000002-0000-4000-8000-00000000000{n}"),
            "Operation": "MemberAdded", "OrganizationId": HOME, "RecordType": 25,
            "UserKey": "", "UserType": 0, "Workload": "MicrosoftTeams",
            "UserId": "rob.young@fabrikam.com",
            "ChatThreadId": format!("19:{n:032x}@thread.v2"), "CommunicationType": "GroupChat",
            "ChatName": name, "ResourceTenantId": FABRIKAM, "Members": members,
        })
    };
    lines.push(chat(
        1,
        format!("Deal {NASTY}"),
        json!([
            member(&format!("Rob {NASTY}"), "rob.young@fabrikam.com", FABRIKAM),
            member(&format!("User {NASTY}"), "user1@contoso.com", HOME),
        ]),
    ));
    // A spreadsheet formula for a name, and a home UPN no plan may hold.
    lines.push(chat(
        2,
        "=HYPERLINK(\"http://x\",\"y\")".into(),
        json!([
            member("Rob", "rob.young@fabrikam.com", FABRIKAM),
            member("Eve", &format!("eve{NASTY}@contoso.com"), HOME),
        ]),
    ));
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    let path = dir.join(format!("=1+2 {}.ndjson", NASTY.replace('\0', "")));
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

struct Env {
    dir: tempfile::TempDir,
    export: PathBuf,
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        // umask 000: whatever the tool writes must still be private.
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("umask 000; exec \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_chatevict"))
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env_remove("CHATEVICT_TENANT")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn out(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Runs a command; its stdout and stderr are scanned. Returns them.
fn checked(what: &str, out: &Output, codes: &[i32]) -> (String, String) {
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(codes.contains(&code), "{what}: exit {code}: {err}");
    assert_clean(&format!("{what} stdout"), &out.stdout);
    assert_clean(&format!("{what} stderr"), &out.stderr);
    (String::from_utf8(out.stdout.clone()).unwrap(), err)
}

fn assert_private(what: &str, p: &Path) {
    let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{what} {} is {mode:o}", p.display());
}

/// The emulator as a user starts it, seeded from the hostile export; its
/// log lines are scanned too.
fn start_emulator(env: &Env) -> (Child, String, Vec<u8>) {
    let mut child = env
        .cmd(&[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--seed-export",
            env.export.to_str().unwrap(),
            "--auto-approve",
            "--approve-after",
            "0",
            "--device-interval",
            "1",
            // Server errors whose texts carry escapes too.
            "--faults",
            "hostile",
            "--seed",
            &common::emu::seed().to_string(),
        ])
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("emulator said {line:?}"))
        .to_owned();
    (child, url, line.into_bytes())
}

#[test]
fn every_output_path_is_safe_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(dir.path());
    let env = Env { dir, export };
    // As typed in the export's directory: `=1+2 …` is what a spreadsheet
    // would see in the source_file column.
    let x = env.export.file_name().unwrap().to_str().unwrap();

    // Loading and triage, in every format.
    for (what, args, json_lines) in [
        ("events table", vec!["events", x], None),
        (
            "events jsonl",
            vec!["events", x, "--format", "jsonl"],
            Some(true),
        ),
        ("events csv", vec!["events", x, "--format", "csv"], None),
        ("events stats", vec!["events", x, "--stats"], None),
        ("chats table", vec!["chats", x], None),
        (
            "chats jsonl",
            vec!["chats", x, "--format", "jsonl"],
            Some(true),
        ),
        ("chats csv", vec!["chats", x, "--format", "csv"], None),
        (
            "plan stdout",
            vec!["plan", x, "--filter", "name:Deal"],
            Some(false),
        ),
    ] {
        let (out, _) = checked(what, &env.out(&args), &[0]);
        assert!(!out.is_empty(), "{what}: no output");
        if let Some(lines) = json_lines {
            assert_round_trips(what, &out, lines);
        }
        if what.ends_with("csv") {
            // Shown, not obeyed: the escape is visible; formulas are defused.
            assert!(out.contains("\\u{1b}]52;c;"), "{what}: {out}");
            assert!(out.contains("'=HYPERLINK("), "{what}: {out}");
            if what.starts_with("events") {
                assert!(out.contains("'=1+2 "), "{what}: source_file not defused");
            }
        }
    }

    // A plan written to a file: safe JSON that holds the original text.
    let plan = env.path("plan.json");
    checked(
        "plan file",
        &env.out(&[
            "plan",
            x,
            "--filter",
            "name:Deal",
            "-o",
            plan.to_str().unwrap(),
        ]),
        &[0],
    );
    let bytes = std::fs::read(&plan).unwrap();
    assert_clean("plan file", &bytes);
    assert_round_trips("plan file", std::str::from_utf8(&bytes).unwrap(), false);
    // The whole export's plan names a UPN no plan may hold.
    let all = env.path("all.json");
    checked(
        "plan all",
        &env.out(&["plan", x, "-o", all.to_str().unwrap()]),
        &[0],
    );

    // The emulator, sign-in, a refused plan and a run.
    let (mut emu, url, line) = start_emulator(&env);
    assert_clean("emulator stdout", &line);
    let graph = ["--login-url", &url, "--graph-url", &url];
    // A tenant typed with escapes is refused, quoted safely.
    let bad_tenant = format!("x{}.com", NASTY.replace('\0', ""));
    checked(
        "login usage error",
        &env.out(&[&["login", "--tenant", &bad_tenant][..], &graph].concat()),
        &[2],
    );
    // Entra's refusal, with what it means on a line of its own.
    let (_, err) = checked(
        "login error",
        &env.out(&[&["login", "--tenant", "nowhere.example"][..], &graph].concat()),
        &[1],
    );
    assert!(!err.contains("\\n"), "a literal \\n in {err}");
    assert!(err.contains("\n  What it means:"), "{err}");
    checked("login", &env.out(&[&["login"][..], &graph].concat()), &[0]);
    // Under the hostile profile Graph may refuse it (exit 1, said on stdout).
    checked(
        "whoami",
        &env.out(&[&["whoami"][..], &graph].concat()),
        &[0, 1],
    );
    let journal = env.path("journal.jsonl");
    let j = journal.to_str().unwrap();
    let (_, err) = checked(
        "apply refused",
        &env.out(
            &[
                &["apply", all.to_str().unwrap(), "--yes", "--journal", j][..],
                &graph,
            ]
            .concat(),
        ),
        &[2],
    );
    assert!(err.contains("eve\\u{1b}]52"), "{err}");
    checked(
        "apply",
        &env.out(
            &[
                &["apply", plan.to_str().unwrap(), "--yes", "--journal", j][..],
                &graph,
            ]
            .concat(),
        ),
        &[0, 3],
    );
    let _ = emu.kill();
    let out = emu.wait_with_output().unwrap();
    assert_clean("emulator stderr", &out.stderr);

    // The journal and the session: safe, and private whatever the umask.
    assert_clean("journal", &std::fs::read(&journal).unwrap());
    assert_round_trips("journal", &std::fs::read_to_string(&journal).unwrap(), true);
    assert_private("journal", &journal);
    let state = env.path("state/chatevict");
    let mut files = 0;
    for e in walk(&state) {
        assert_private("state file", &e);
        files += 1;
    }
    assert!(files > 0, "nothing in {}", state.display());

    // Reports of the run, in every format.
    for (what, format) in [
        ("report md", "md"),
        ("report csv", "csv"),
        ("report json", "json"),
    ] {
        let (out, _) = checked(what, &env.out(&["report", j, "--format", format]), &[0]);
        assert!(
            out.contains("19:00000000000000000000000000000001@thread.v2"),
            "{what}: {out}"
        );
        match format {
            "json" => assert_round_trips(what, &out, false),
            _ => assert!(out.contains("\\u{1b}]52;c;"), "{what}: {out}"),
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The log's writer: what reaches the file is made safe.
#[test]
fn the_log_writer_escapes_what_it_is_given() {
    use std::io::Write;
    let mut w = chatevict::sanitize::SafeWriter(Vec::new());
    write!(w, "loaded {NASTY}\nnext line\n").unwrap();
    assert_clean("log", &w.0);
    let text = String::from_utf8(w.0).unwrap();
    assert!(text.starts_with("loaded \\u{1b}]52;c;"), "{text}");
    assert!(text.ends_with("\nnext line\n"), "{text}");
}
