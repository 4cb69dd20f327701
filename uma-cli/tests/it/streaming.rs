//! Issue 14 (CLI): bodies stream both ways with bounded memory, a body cut short is an error, and the
//! curl habits `-o`, `-f`, `-L`, `-w` work against the testkit.
//!
//! Peak memory is the child's `VmHWM` (peak resident set) from `/proc/<pid>/status`, read every 20 ms
//! while it runs: the kernel keeps the peak, so the last value read before the process exits is its
//! peak up to that moment (what it allocates in its last 20 ms could be missed; its work is streaming
//! by then). Where `/proc` is missing (not Linux) the memory check is skipped, the rest still runs.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, app_flags, fetch, kit, temp_dir};
use sha2::{Digest, Sha256};
use uma_testkit::{Dialect, Endpoint, Fault, GrantedBody, Server, pattern_chunk, pattern_sha256};

const MIB: u64 = 1024 * 1024;
/// The bound of issue 14 on the process's peak resident set.
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// What a monitored run gave.
struct Monitored {
    code: i32,
    stdout: String,
    stderr: String,
    /// Peak resident set in KiB, if `/proc` told it.
    peak_kib: Option<u64>,
    elapsed: Duration,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `uma fetch FLAGS… EXTRA…`, sampling its peak RSS until it exits (or 10 minutes pass: then it
/// is killed and the test fails).
fn fetch_monitored(flags: &[String], extra: &[&str]) -> Monitored {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_uma"))
        .arg("fetch")
        .args(flags)
        .args(extra)
        .env_remove("UMA_CLIENT_SECRET")
        .env_remove("UMA_PASSWORD")
        .env_remove("UMA_ACCESS_TOKEN")
        .env_remove("SSL_CERT_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run uma");
    // Drain both pipes on their own threads so the child never blocks on them.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let pid = child.id();
    let mut peak_kib = None;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak_kib = Some(peak_kib.unwrap_or(0).max(kib));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(600) {
            child.kill().ok();
            child.wait().ok();
            panic!("uma fetch did not finish in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Monitored {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_kib,
        elapsed: started.elapsed(),
    }
}

fn assert_rss_bounded(run: &Monitored, what: &str) {
    eprintln!(
        "{what}: {:.1} s, peak RSS {} KiB",
        run.elapsed.as_secs_f64(),
        run.peak_kib.map_or("unknown".to_owned(), |k| k.to_string())
    );
    if let Some(kib) = run.peak_kib {
        assert!(
            kib < RSS_LIMIT_KIB,
            "{what}: peak RSS {kib} KiB, over {RSS_LIMIT_KIB} KiB"
        );
    }
}

fn file_sha256(path: &Path) -> (u64, String) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; MIB as usize];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        len += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (len, hex)
}

/// Writes `len` bytes of the testkit's pattern to `path`, a chunk at a time.
fn write_pattern(path: &Path, len: u64) {
    let mut file =
        std::io::BufWriter::with_capacity(MIB as usize, std::fs::File::create(path).unwrap());
    let mut pos = 0u64;
    while pos < len {
        let chunk = pattern_chunk(pos, usize::try_from(len - pos).unwrap_or(usize::MAX));
        file.write_all(chunk).unwrap();
        pos += chunk.len() as u64;
    }
    file.flush().unwrap();
}

fn one_error_line(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr:?}");
    assert!(lines[0].contains(needle), "{stderr:?}");
}

#[test]
fn one_gib_download_to_a_file_has_the_right_digest_in_bounded_memory() {
    let kit = kit(Dialect::Spec);
    let len = 1u64 << 30;
    kit.set_granted_body(GrantedBody::Pattern(len));
    let dir = temp_dir("gib-download");
    let file = dir.join("download.bin");
    let file_arg = file.display().to_string();
    let run = fetch_monitored(
        &app_flags(&kit),
        &[
            "-o",
            &file_arg,
            "-w",
            "%{http_code} %{size_download}\\n",
            &kit.rs_url("/api/a"),
        ],
    );
    let (got_len, digest) = file_sha256(&file);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, format!("200 {len}\n"), "-w goes to stdout");
    assert_eq!(got_len, len);
    assert_eq!(digest, pattern_sha256(len));
    assert_rss_bounded(&run, "1 GiB download");
}

#[test]
fn half_gib_upload_from_a_file_streams_and_survives_the_challenge_in_bounded_memory() {
    let kit = kit(Dialect::Spec);
    let len = 512 * MIB;
    let dir = temp_dir("upload");
    let file = dir.join("upload.bin");
    write_pattern(&file, len);
    let at_file = format!("@{}", file.display());
    let run = fetch_monitored(
        &app_flags(&kit),
        &["--data-binary", &at_file, &kit.rs_url("/api/echo")],
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(echo["len"], len);
    assert_eq!(echo["sha256"], pattern_sha256(len).as_str());
    // Over 1 MiB the file goes with `Expect: 100-continue`: the challenge comes before any of it, and
    // only the retry with the RPT sends it, whole.
    let sent: Vec<(bool, usize, Option<String>)> = kit
        .log_of(Server::Rs)
        .iter()
        .map(|r| {
            (
                r.body_read,
                r.body_len,
                r.header("expect").map(str::to_owned),
            )
        })
        .collect();
    let continue_ = Some("100-continue".to_owned());
    assert_eq!(
        sent,
        vec![
            (false, 0, continue_.clone()),
            (true, len as usize, continue_)
        ]
    );
    assert_rss_bounded(&run, "512 MiB upload");
}

#[test]
fn a_small_file_body_goes_without_expect_and_is_opened_again_for_the_retry() {
    let kit = kit(Dialect::Spec);
    let dir = temp_dir("small-upload");
    let file = dir.join("small.bin");
    write_pattern(&file, 100_000);
    let at_file = format!("@{}", file.display());
    let run = fetch(
        &app_flags(&kit),
        &["--data-binary", &at_file, &kit.rs_url("/api/echo")],
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["sha256"], pattern_sha256(100_000).as_str());
    let sent: Vec<(usize, bool)> = kit
        .log_of(Server::Rs)
        .iter()
        .map(|r| (r.body_len, r.header("expect").is_some()))
        .collect();
    assert_eq!(sent, vec![(100_000, false), (100_000, false)]);
}

#[test]
fn a_truncated_body_is_an_error_never_a_short_success() {
    let kit = kit(Dialect::Spec);
    let dir = temp_dir("truncated");
    for (body, name) in [
        (GrantedBody::Truncated(4 * MIB as usize), "content-length"),
        (GrantedBody::TruncatedChunked(4 * MIB), "chunked"),
    ] {
        kit.set_granted_body(body);
        // To a file: what arrived stays there, and the exit says it is not all.
        let file = dir.join(format!("{name}.bin"));
        let file_arg = file.display().to_string();
        let run = fetch(
            &app_flags(&kit),
            &[
                "-o",
                &file_arg,
                "-w",
                "%{http_code} %{exitcode}\\n",
                &kit.rs_url("/api/a"),
            ],
        );
        assert_eq!(run.code, 4, "{name}: {}", run.all());
        one_error_line(&run.stderr, "the response body ended early");
        assert_eq!(run.stdout, "200 4\n", "{name}");
        // Content-Length: half arrived; chunked: all the chunks, but not the end of the body.
        let kept = std::fs::metadata(&file).unwrap().len();
        assert!(kept <= 4 * MIB, "{name}: {kept} bytes kept");
        // To standard output: the same exit.
        let run = fetch(&app_flags(&kit), &[&kit.rs_url("/api/a")]);
        assert_eq!(run.code, 4, "{name}: {}", run.stderr);
        one_error_line(&run.stderr, "the response body ended early");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fail_prints_nothing_of_an_http_error_and_creates_no_file() {
    let kit = kit(Dialect::Spec);
    let url = kit.rs_url("/nope");
    let plain = fetch(&app_flags(&kit), &[&url]);
    assert_eq!(plain.code, 1);
    assert!(plain.stdout.contains("not_found"), "{}", plain.stdout);

    let failed = fetch(&app_flags(&kit), &["-f", "-i", &url]);
    assert_eq!(failed.code, 1);
    assert_eq!(failed.stdout, "");
    one_error_line(&failed.stderr, "HTTP 404");

    let dir = temp_dir("fail");
    let file = dir.join("never.json");
    let file_arg = file.display().to_string();
    let failed = fetch(
        &app_flags(&kit),
        &[
            "--fail",
            "-s",
            "-o",
            &file_arg,
            "-w",
            "%{http_code}\\n",
            &url,
        ],
    );
    let created = file.exists();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(failed.code, 1);
    assert_eq!(failed.stdout, "404\n", "-w still reports");
    assert_eq!(failed.stderr, "");
    assert!(!created);

    // A success is untouched by -f.
    let ok = fetch(&app_flags(&kit), &["-f", &kit.rs_url("/api/a")]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert!(!ok.stdout.is_empty());
}

#[test]
fn redirects_are_answers_without_location_and_followed_with_it() {
    let kit = kit(Dialect::Spec);
    let target = kit.rs_url("/api/echo");
    let write = ["-w", "%{http_code} %{num_redirects} %{url_effective}\\n"];

    kit.set_fault_times(Endpoint::RsResource, Fault::RedirectTo(target.clone()), 1);
    let a = kit.rs_url("/api/a");
    let mut args = write.to_vec();
    args.push(&a);
    let run = fetch(&app_flags(&kit), &args);
    assert_eq!(run.code, 1, "a 3xx is not 2xx: {}", run.all());
    assert_eq!(
        run.stdout,
        format!("307 0 {}\n", kit.rs_url("/api/a")),
        "curl's default: the 3xx is the answer"
    );

    kit.set_fault_times(Endpoint::RsResource, Fault::RedirectTo(target.clone()), 1);
    let mut args = vec!["-L"];
    args.extend(write);
    let start = kit.rs_url("/api/a?token=query-secret");
    args.push(&start);
    let run = fetch(&app_flags(&kit), &args);
    assert_eq!(run.code, 0, "{}", run.all());
    // The body (no newline of its own), then the write-out.
    let written = format!("200 1 {target}\n");
    let body = run.stdout.strip_suffix(&written).expect(&run.stdout);
    assert!(body.contains("\"len\":0"), "{body}");
    assert!(!run.all().contains("query-secret"));

    // One more redirect than --max-redirs: exit 1, one line.
    kit.set_fault_times(Endpoint::RsResource, Fault::RedirectTo(target.clone()), 2);
    let run = fetch(
        &app_flags(&kit),
        &["-L", "--max-redirs", "1", &kit.rs_url("/api/a")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    one_error_line(&run.stderr, "too many redirects");
}

#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    let kit = kit(Dialect::Spec);
    // The authorization server's origin stands for "elsewhere".
    let elsewhere = format!("{}/elsewhere", kit.as_base());
    kit.set_fault_times(Endpoint::RsResource, Fault::RedirectTo(elsewhere), 1);
    let run = fetch(
        &app_flags(&kit),
        &[
            "-L",
            "-H",
            "Authorization: Bearer header-secret",
            "-H",
            "Cookie: session=cookie-secret",
            &kit.rs_url("/api/a"),
        ],
    );
    assert_ne!(run.code, 0, "{}", run.all());
    let first = &kit.log_of(Server::Rs)[0];
    assert!(first.header("authorization").is_some());
    let there: Vec<_> = kit
        .log_of(Server::As)
        .into_iter()
        .filter(|r| r.path == "/elsewhere")
        .collect();
    assert_eq!(there.len(), 1, "followed once");
    assert_eq!(there[0].header("authorization"), None);
    assert_eq!(there[0].header("cookie"), None);
}

#[test]
fn output_takes_one_fetch_and_write_out_checks_its_variables() {
    let kit = kit(Dialect::Spec);
    let a = kit.rs_url("/api/a");
    let two = fetch(&app_flags(&kit), &["-o", "x.bin", &a, &a]);
    assert_eq!(two.code, 2, "{}", two.all());
    one_error_line(&two.stderr, "-o FILE takes exactly one fetch");
    let repeat = fetch(&app_flags(&kit), &["-o", "x.bin", "--repeat", "2", &a]);
    assert_eq!(repeat.code, 2);
    // `-o -` is standard output, with any number of fetches.
    let dash = fetch(
        &app_flags(&kit),
        &["-o", "-", "-w", "|%{http_code}\\n", &a, &a],
    );
    assert_eq!(dash.code, 0, "{}", dash.all());
    assert_eq!(dash.stdout.matches("|200\n").count(), 2, "{}", dash.stdout);

    kit.clear_log();
    let unknown = fetch(&app_flags(&kit), &["-w", "%{nope}", &a]);
    assert_eq!(unknown.code, 2);
    one_error_line(&unknown.stderr, "unknown variable %{nope}");
    assert!(kit.log().is_empty(), "nothing is sent after a usage error");
}

#[test]
fn standard_input_past_the_replay_limit_goes_once_with_expect() {
    let kit = kit(Dialect::Spec);
    let len = 5 * MIB;
    let mut input = Vec::with_capacity(len as usize);
    while (input.len() as u64) < len {
        input.extend_from_slice(pattern_chunk(
            input.len() as u64,
            (len as usize) - input.len(),
        ));
    }
    let mut args = vec!["fetch".to_owned()];
    args.extend(app_flags(&kit));
    args.extend([
        "--data-binary".to_owned(),
        "@-".to_owned(),
        kit.rs_url("/api/echo"),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // The challenge comes before the body (Expect: 100-continue): the retry sends it.
    let run = common::uma_stdin(&args, &input, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["sha256"], pattern_sha256(len).as_str());

    // A server that reads the body before challenging: it cannot be sent again, one line, exit 4.
    kit.set_rs_ignore_expect(true);
    let run = common::uma_stdin(&args, &input, &[]);
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(run.stdout, "");
    one_error_line(&run.stderr, "--data-binary @FILE");
}
