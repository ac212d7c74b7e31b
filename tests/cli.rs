//! End-to-end tests of `postern domain|user|alias`: the real binary against a temporary data dir.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use postern::auth::password::verify_password;

/// `openssl passwd -6 -salt abcdefgh secret`
const SHA512_SECRET: &str = "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(self.stderr, "");
        &self.stdout
    }

    /// A failed operation: exit 1, nothing on stdout, `postern: ...` containing `needle`.
    #[track_caller]
    fn fails(&self, needle: &str) {
        assert_eq!(
            self.code, 1,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(self.stdout, "");
        assert!(self.stderr.starts_with("postern: "), "{}", self.stderr);
        assert!(
            self.stderr.contains(needle),
            "expected {needle:?} in {}",
            self.stderr
        );
    }
}

struct DataDir {
    temp: tempfile::TempDir,
}

impl DataDir {
    fn new() -> Self {
        DataDir {
            temp: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.temp.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_postern"));
        command.args(args).arg("--data-dir").arg(self.path());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).stdin(Stdio::null()).output().unwrap())
    }

    fn spawn_with_stdin(&self, args: &[&str], input: &str) -> Child {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child
    }

    fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        Run::from(
            self.spawn_with_stdin(args, input)
                .wait_with_output()
                .unwrap(),
        )
    }

    fn directory_json(&self) -> String {
        fs::read_to_string(self.path().join("directory.json")).unwrap()
    }

    fn account(&self, address: &str) -> serde_json::Value {
        let directory: serde_json::Value = serde_json::from_str(&self.directory_json()).unwrap();
        directory["accounts"][address].clone()
    }

    fn with_domain(domain: &str) -> Self {
        let data = DataDir::new();
        data.run(&["domain", "add", domain]).ok();
        data
    }

    fn add_user(&self, address: &str, password: &str) {
        let run = self.run_with_stdin(
            &["user", "add", address, "--password-stdin"],
            &format!("{password}\n"),
        );
        assert_eq!(run.ok(), format!("added user {address}\n"));
    }

    fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.temp.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn domains_add_list_del() {
    let data = DataDir::new();
    assert_eq!(data.run(&["domain", "list"]).ok(), "");
    assert_eq!(
        data.run(&["domain", "add", "Example.TEST"]).ok(),
        "added domain example.test\n"
    );
    assert_eq!(
        data.run(&["domain", "add", "b.test"]).ok(),
        "added domain b.test\n"
    );
    assert_eq!(
        data.run(&["domain", "add", "a.test"]).ok(),
        "added domain a.test\n"
    );
    data.run(&["domain", "add", "example.test"])
        .fails("domain example.test is already local");
    data.run(&["domain", "add", "bad_domain.test"])
        .fails("invalid domain \"bad_domain.test\"");
    data.run(&["domain", "add", "a..test"]).fails("empty label");
    assert_eq!(
        data.run(&["domain", "list"]).ok(),
        "a.test\nb.test\nexample.test\n"
    );
    assert_eq!(
        data.run(&["domain", "del", "B.test"]).ok(),
        "deleted domain b.test\n"
    );
    data.run(&["domain", "del", "b.test"])
        .fails("domain b.test is not local");
    assert_eq!(data.run(&["domain", "list"]).ok(), "a.test\nexample.test\n");
    assert!(data.directory_json().contains("\"format\": 1"));
}

#[test]
fn user_add_list_passwd_del() {
    let data = DataDir::with_domain("example.test");
    data.run(&["domain", "add", "other.test"]).ok();
    let run = data.run_with_stdin(
        &["user", "add", "Alice@Example.test", "--password-stdin"],
        "correct horse\n",
    );
    assert_eq!(run.ok(), "added user alice@example.test\n");
    data.add_user("bob@example.test", "pw-bob");
    data.add_user("carol@other.test", "pw-carol");

    // The file holds an argon2id hash and SCRAM keys, never the password.
    let json = data.directory_json();
    assert!(
        !json.contains("correct horse") && !json.contains("pw-bob"),
        "{json}"
    );
    let alice = data.account("alice@example.test");
    let hash = alice["password"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("{ARGON2ID}$argon2id$"), "{hash}");
    assert!(verify_password(&hash, b"correct horse").unwrap());
    assert!(
        alice["scram_sha256"]
            .as_str()
            .unwrap()
            .starts_with("SCRAM-SHA-256$")
    );

    assert_eq!(
        data.run(&["user", "list"]).ok(),
        "alice@example.test\nbob@example.test\ncarol@other.test\n"
    );
    assert_eq!(
        data.run(&["user", "list", "other.test"]).ok(),
        "carol@other.test\n"
    );
    data.run(&["user", "list", "nowhere.test"])
        .fails("domain nowhere.test is not local");

    // Errors are found before a password is asked for.
    data.run(&["user", "add", "ALICE@example.test"])
        .fails("user alice@example.test already exists");
    data.run(&["user", "add", "dave@nowhere.test"])
        .fails("`postern domain add nowhere.test`");
    data.run(&["user", "add", "da ve@example.test"])
        .fails("invalid address \"da ve@example.test\"");
    data.run(&["user", "add", "dave"]).fails("has no @");
    data.run(&["user", "add", "dave@example.test"])
        .fails("no terminal");
    data.run_with_stdin(
        &["user", "add", "dave@example.test", "--password-stdin"],
        "\n",
    )
    .fails("empty");
    data.run_with_stdin(
        &["user", "add", "dave@example.test", "--password-stdin"],
        "",
    )
    .fails("empty");
    assert!(data.account("dave@example.test").is_null());

    // passwd replaces both the hash and the SCRAM keys.
    let scram_before = data.account("alice@example.test")["scram_sha256"].clone();
    let run = data.run_with_stdin(
        &["user", "passwd", "alice@example.test", "--password-stdin"],
        "new one\r\n",
    );
    assert_eq!(run.ok(), "changed the password of alice@example.test\n");
    let alice = data.account("alice@example.test");
    let hash = alice["password"].as_str().unwrap();
    assert!(verify_password(hash, b"new one").unwrap());
    assert!(!verify_password(hash, b"correct horse").unwrap());
    assert_ne!(alice["scram_sha256"], scram_before);
    data.run_with_stdin(
        &["user", "passwd", "zed@example.test", "--password-stdin"],
        "x\n",
    )
    .fails("no such user: zed@example.test");
    data.run(&["user", "passwd", "alice@example.test"])
        .fails("--password-stdin");

    assert_eq!(
        data.run(&["user", "del", "bob@example.test"]).ok(),
        "deleted user bob@example.test\n"
    );
    data.run(&["user", "del", "bob@example.test"])
        .fails("no such user: bob@example.test");
    assert_eq!(
        data.run(&["user", "list", "example.test"]).ok(),
        "alice@example.test\n"
    );
}

#[test]
fn aliases_catch_alls_and_cascading_deletes() {
    let data = DataDir::with_domain("example.test");
    data.add_user("alice@example.test", "a");
    data.add_user("bob@example.test", "b");
    let run = data.run(&[
        "alias",
        "add",
        "team@example.test",
        "bob@example.test",
        "Alice@example.test",
    ]);
    assert_eq!(
        run.ok(),
        "alias team@example.test: added target alice@example.test\nalias team@example.test: added target bob@example.test\n"
    );
    // Alias to alias, and a catch-all.
    data.run(&["alias", "add", "all@example.test", "team@example.test"])
        .ok();
    data.run(&["alias", "add", "@example.test", "all@example.test"])
        .ok();
    data.run(&["alias", "add", "solo@example.test", "bob@example.test"])
        .ok();
    assert_eq!(
        data.run(&["alias", "list"]).ok(),
        "@example.test -> all@example.test\n\
         all@example.test -> team@example.test\n\
         solo@example.test -> bob@example.test\n\
         team@example.test -> alice@example.test, bob@example.test\n"
    );
    data.run(&["alias", "add", "fwd@example.test", "someone@remote.test"])
        .fails("outbound relay");
    data.run(&["alias", "add", "fwd@example.test", "ghost@example.test"])
        .fails("neither an account nor an alias");
    data.run(&["alias", "add", "x@nowhere.test", "bob@example.test"])
        .fails("`postern domain add nowhere.test`");
    data.run(&["alias", "add", "bob@example.test", "alice@example.test"])
        .fails("bob@example.test is an account");
    data.run(&["alias", "add", "x@example.test", "not-an-address"])
        .fails("invalid address");
    data.run(&["alias", "add", "@nowhere.test", "bob@example.test"])
        .fails("domain nowhere.test is not local");
    data.run(&["alias", "del", "team@example.test", "carol@example.test"])
        .fails("has no target carol@example.test");
    data.run(&["alias", "del", "nope@example.test"])
        .fails("no such alias: nope@example.test");
    data.run_with_stdin(
        &["user", "add", "team@example.test", "--password-stdin"],
        "x\n",
    )
    .fails("is an alias");

    let run = data.run(&["alias", "del", "team@example.test", "alice@example.test"]);
    assert_eq!(
        run.ok(),
        "alias team@example.test: removed target alice@example.test\n"
    );
    // Deleting bob empties team, which empties all, which empties the catch-all.
    assert_eq!(
        data.run(&["user", "del", "bob@example.test"]).ok(),
        "deleted user bob@example.test\n\
         alias solo@example.test: removed target bob@example.test\n\
         alias team@example.test: removed target bob@example.test\n\
         deleted alias solo@example.test (no targets left)\n\
         deleted alias team@example.test (no targets left)\n\
         alias all@example.test: removed target team@example.test\n\
         deleted alias all@example.test (no targets left)\n\
         alias @example.test: removed target all@example.test\n\
         deleted alias @example.test (no targets left)\n"
    );
    assert_eq!(data.run(&["alias", "list"]).ok(), "");

    data.run(&["alias", "add", "@example.test", "alice@example.test"])
        .ok();
    assert_eq!(
        data.run(&["alias", "del", "@example.test"]).ok(),
        "deleted alias @example.test\n"
    );
}

#[test]
fn domain_in_use_is_not_deleted() {
    let data = DataDir::with_domain("example.test");
    data.add_user("alice@example.test", "a");
    data.run(&["alias", "add", "a@example.test", "alice@example.test"])
        .ok();
    data.run(&["alias", "add", "@example.test", "alice@example.test"])
        .ok();
    data.run(&["domain", "del", "example.test"]).fails(
        "domain example.test is still used by 1 account, 1 alias and the catch-all @example.test; \
         remove them with `postern user del` and `postern alias del` first",
    );
    data.run(&["alias", "del", "@example.test"]).ok();
    data.run(&["user", "del", "alice@example.test"]).ok();
    data.run(&["domain", "del", "example.test"]).ok();
    assert_eq!(data.run(&["domain", "list"]).ok(), "");
}

#[test]
fn import_passwd_file() {
    let data = DataDir::with_domain("example.test");
    data.add_user("alice@example.test", "old");
    let file = data.write_file(
        "passwd",
        &format!(
            "# Dovecot users\n\
             \n\
             carol@example.test:{{SHA512-CRYPT}}{SHA512_SECRET}:1000:1000::/home/carol::\n\
             dave:{{PLAIN}}plain-pw\n\
             erin@Example.test:{{PLAIN}}erin-pw::::::\n"
        ),
    );
    let file = path_str(&file);
    // Users without a domain need --domain.
    data.run(&["user", "import", "--passwd-file", file])
        .fails(&format!(
            "{file}:4: user \"dave\" has no domain; give one with --domain"
        ));
    let run = data.run(&[
        "user",
        "import",
        "--passwd-file",
        file,
        "--domain",
        "example.test",
    ]);
    assert_eq!(run.ok(), "imported 3 users (3 new, 0 replaced)\n");
    assert_eq!(
        data.run(&["user", "list"]).ok(),
        "alice@example.test\ncarol@example.test\ndave@example.test\nerin@example.test\n"
    );
    let carol = data.account("carol@example.test");
    assert_eq!(
        carol["password"],
        format!("{{SHA512-CRYPT}}{SHA512_SECRET}")
    );
    assert!(verify_password(carol["password"].as_str().unwrap(), b"secret").unwrap());
    assert!(carol["scram_sha256"].is_null());
    let dave = data.account("dave@example.test");
    assert_eq!(dave["password"], "{PLAIN}plain-pw");
    assert!(
        dave["scram_sha256"]
            .as_str()
            .unwrap()
            .starts_with("SCRAM-SHA-256$")
    );

    // Existing users need --replace.
    let again = data.write_file(
        "again",
        "alice@example.test:{PLAIN}new\ncarol@example.test:{PLAIN}new\n",
    );
    let again = path_str(&again);
    data.run(&["user", "import", "--passwd-file", again])
        .fails("these users already exist: alice@example.test, carol@example.test; use --replace");
    let run = data.run(&["user", "import", "--passwd-file", again, "--replace"]);
    assert_eq!(run.ok(), "imported 2 users (0 new, 2 replaced)\n");
    assert_eq!(data.account("alice@example.test")["password"], "{PLAIN}new");

    // Domains must be local; all are listed.
    let remote = data.write_file(
        "remote",
        "x@b.test:{PLAIN}x\ny@a.test:{PLAIN}y\nz@example.test:{PLAIN}z\n",
    );
    data.run(&["user", "import", "--passwd-file", path_str(&remote)])
        .fails("these domains are not local: a.test, b.test");
    data.run(&["user", "import", "--passwd-file", "/nonexistent/passwd"])
        .fails("cannot read /nonexistent/passwd");
}

#[test]
fn import_with_a_bad_line_imports_nothing() {
    let data = DataDir::with_domain("example.test");
    let before = data.directory_json();
    let cases = [
        (
            "frank@example.test:{PLAIN}f\ngina@example.test:$6$nosalt$nohash\n",
            ":2: ",
            "no {SCHEME} prefix",
        ),
        (
            "frank@example.test:{PLAIN}f\n\n# x\ngina@example.test:{MD9}zzz\n",
            ":4: ",
            "unknown password scheme",
        ),
        (
            "frank@example.test:{PLAIN}f\ngina@example.test\n",
            ":2: ",
            "has no password",
        ),
        (
            "frank@example.test:{SHA512-CRYPT}garbage\n",
            ":1: ",
            "SHA512-CRYPT",
        ),
        ("fr ank@example.test:{PLAIN}f\n", ":1: ", "invalid address"),
    ];
    for (index, (text, line, reason)) in cases.into_iter().enumerate() {
        let file = data.write_file(&format!("bad{index}"), text);
        let file = path_str(&file);
        let run = data.run(&["user", "import", "--passwd-file", file]);
        run.fails(&format!("{file}{line}"));
        run.fails(reason);
        run.fails("nothing imported");
    }
    assert_eq!(data.directory_json(), before);
    assert_eq!(data.run(&["user", "list"]).ok(), "");
}

#[test]
fn concurrent_writers_both_land() {
    let data = DataDir::with_domain("example.test");
    let users: Vec<String> = (0..4).map(|n| format!("user{n}@example.test")).collect();
    let children: Vec<Child> = users
        .iter()
        .map(|user| data.spawn_with_stdin(&["user", "add", user, "--password-stdin"], "pw\n"))
        .collect();
    for child in children {
        Run::from(child.wait_with_output().unwrap()).ok();
    }
    let expected: String = users.iter().map(|user| format!("{user}\n")).collect();
    assert_eq!(data.run(&["user", "list"]).ok(), expected);
}

#[test]
fn usage_errors_exit_2() {
    let data = DataDir::new();
    for args in [
        &["user", "frobnicate"][..],
        &["frobnicate"],
        &["user", "add"],
        &["alias", "add", "a@example.test"],
        &["user", "import"],
    ] {
        let run = data.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("Usage"), "{}", run.stderr);
    }
    let help = data.run(&["user", "del", "--help"]);
    assert!(
        help.ok()
            .contains("Mail already stored for the account is not touched")
    );
}

#[test]
fn unsupported_directory_format_is_refused() {
    let data = DataDir::new();
    fs::create_dir_all(data.path()).unwrap();
    fs::write(data.path().join("directory.json"), "{\"format\": 2}\n").unwrap();
    data.run(&["user", "list"])
        .fails("directory format 2 is not supported (this version of Postern reads format 1)");
    fs::write(
        data.path().join("directory.json"),
        "{\"format\": 1,\n \"domains\": [}\n",
    )
    .unwrap();
    data.run(&["domain", "add", "x.test"])
        .fails("directory.json:2:14: ");
}
