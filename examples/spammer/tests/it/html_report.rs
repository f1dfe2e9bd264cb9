//! `report.html` in a real browser: a short `loadgen` run through the binary writes it, Debian's
//! headless Chromium renders it to a PNG, and the PNG must be a page (large, many colours),
//! not a blank or single-colour image.
//!
//! Skipped with a message when anvil or chromium is missing, except under `CI=true`, where a
//! missing chromium fails (`scripts/setup.sh` installs it).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use spam_devnet::Devnet;

use crate::common::{files_in, spammer};

/// Longest a screenshot may take before chromium is killed.
const BROWSER_DEADLINE: Duration = Duration::from_secs(60);
const WINDOW: (u32, u32) = (1280, 2000);

/// The first of Debian's and other distributions' Chromium binaries on `PATH`.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `chromium --headless --screenshot` of `page` into `png`, killed after the deadline.
fn screenshot(browser: &Path, page: &Path, png: &Path, profile: &Path) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + BROWSER_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not render {} within 60 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium exited with {status}");
}

/// Width, height and the distinct RGB colours of the PNG at `path`.
fn decode(path: &Path) -> (u32, u32, HashSet<[u8; 3]>) {
    let file = std::fs::File::open(path).expect("the screenshot exists");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    let channels = frame.color_type.samples();
    let colours = pixels[..frame.buffer_size()]
        .chunks_exact(channels)
        .map(|px| match channels {
            1 | 2 => [px[0]; 3],
            _ => [px[0], px[1], px[2]],
        })
        .collect();
    (frame.width, frame.height, colours)
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is missing under CI=true: run scripts/setup.sh"
        );
        println!("skipped: chromium not found on PATH (scripts/setup.sh installs it)");
        return;
    };
    if spam_devnet::for_test(Devnet::builder()).is_none() {
        println!("skipped: anvil not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(
        dir.path(),
        &[
            "loadgen",
            "--rate",
            "50",
            "--duration",
            "2s",
            "--report-dir",
            "out",
            "--no-db",
            "--grace",
            "20s",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let page = dir.path().join("out/report.html");
    assert!(out.stderr.contains("report.html"), "{}", out.stderr);
    let html = std::fs::read_to_string(&page).expect("report.html is written");
    assert!(html.contains("<svg") && html.contains("offered"), "{html}");
    assert_eq!(
        files_in(&dir.path().join("out")),
        ["report.html", "report.json"]
    );

    let png = dir.path().join("report.png");
    screenshot(&browser, &page, &png, &dir.path().join("chromium-profile"));
    let size = std::fs::metadata(&png)
        .expect("the screenshot exists")
        .len();
    let (width, height, colours) = decode(&png);
    println!(
        "{}: {width}x{height}, {size} bytes, {} colours",
        png.display(),
        colours.len()
    );
    assert_eq!((width, height), WINDOW, "the window size");
    // A blank page compresses to a few KB and has one colour; text, tables and charts give
    // tens of KB and many colours (anti-aliasing).
    assert!(size > 30_000, "{size} bytes: an empty-looking page");
    assert!(colours.len() > 50, "{} colours", colours.len());
    // The page's own colours are there: the header band and chart lines.
    assert!(colours.contains(&[0x1d, 0x24, 0x30]), "the header band");
    assert!(
        colours.contains(&[31, 111, 235]),
        "the blue of the sent line"
    );
}
