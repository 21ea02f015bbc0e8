//! Test support (feature `browser`, dev-dependencies only): headless Chromium for the
//! browser tests of the pages, driven over WebDriver: a `chromedriver` started
//! on a free port of 127.0.0.1 (`--port=0`; it prints the port it took), a session of
//! Debian's `chromium` (or the binary in `CHROME`) through fantoccini, and the few steps the
//! tests take — sign in, read the page's DOM, fetch with the session's cookie, take a
//! screenshot. Every wait is on a condition (an element appears), never on a sleep.
//!
//! Without Chromium a test is skipped with a loud message, unless `ACCORD_REQUIRE_BROWSER` is
//! set (as CI sets it): then it fails. It does not download a browser or a driver. Like a
//! test, it panics on what should not happen, with the reason.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Debian's Chromium, unless `CHROME` names another binary.
const CHROME_DEFAULT: &str = "/usr/bin/chromium";
/// Debian's chromium-driver, unless `CHROMEDRIVER` names another binary.
const CHROMEDRIVER_DEFAULT: &str = "/usr/bin/chromedriver";
/// What chromedriver prints, followed by the port, once it listens.
const DRIVER_READY: &str = "ChromeDriver was started successfully on port ";
/// The first bytes of every PNG file.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// Chromium's flags: no display, no sandbox (CI runs as root in a container), and a window
/// wide enough for the round's tables. `/dev/shm` is small in containers.
const CHROME_ARGS: [&str; 5] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
];

/// A chromedriver process, killed with the Chromium it started when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts `binary` on a port of its choosing and waits until it says it listens.
    fn start(binary: &str) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["--port=0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // Its own process group, so that dropping it also ends the Chromium it started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start {binary} ({error}): install Debian's chromium-driver")
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.strip_prefix(DRIVER_READY)?
                    .trim_end_matches('.')
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{binary} exited without listening"));
        // Keep reading what it prints, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill(); // chromedriver at least, should `kill` be missing.
        let _ = self.child.wait();
    }
}

/// A headless Chromium session; [`Browser::close`] ends it, dropping it kills the driver.
pub struct Browser {
    client: Client,
    _driver: Driver,
}

impl Browser {
    /// A new session, or `None` (said loudly) when Chromium is not installed and
    /// `ACCORD_REQUIRE_BROWSER` is not set.
    pub async fn start() -> Option<Self> {
        let chrome = std::env::var("CHROME").unwrap_or_else(|_| CHROME_DEFAULT.to_owned());
        if !Path::new(&chrome).exists() {
            if std::env::var_os("ACCORD_REQUIRE_BROWSER").is_some() {
                panic!("ACCORD_REQUIRE_BROWSER is set but there is no Chromium at {chrome}");
            }
            eprintln!(
                "\n**** SKIPPED: no Chromium at {chrome}; this browser test did not run. ****\n\
                 **** Install Debian's chromium and chromium-driver (as .ci/run does),    ****\n\
                 **** or set CHROME; set ACCORD_REQUIRE_BROWSER=1 to make this a failure. ****\n"
            );
            return None;
        }
        let binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER_DEFAULT.to_owned());
        let driver = tokio::task::spawn_blocking(move || Driver::start(&binary))
            .await
            .unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chrome, "args": CHROME_ARGS },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a Chromium session through chromedriver");
        Some(Self {
            client,
            _driver: driver,
        })
    }

    /// Ends the session (Chromium quits); the driver stops when `self` drops.
    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }

    /// Opens `url` and waits for the element `css` on it.
    pub async fn open(&self, url: &str, css: &str) -> Element {
        self.client.goto(url).await.unwrap();
        self.wait_for(css).await
    }

    /// The element `css` once it is on the page.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
    }

    /// Signs in to the coordinator's gateway at `base` (`http://127.0.0.1:PORT`) through its
    /// form, typing `token` as a person would, and waits for the signed-in pages' navigation.
    pub async fn sign_in(&self, base: &str, token: &str) {
        let field = self
            .open(&format!("{base}/login?lang=en"), "input#token")
            .await;
        field.send_keys(token).await.unwrap();
        self.find("form[action='/login'] button[type=submit]")
            .await
            .click()
            .await
            .unwrap();
        self.wait_for("nav a[href^='/rounds']").await;
    }

    /// The one element `css`, which must be on the page already.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
    }

    /// Every element `css` on the page.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// The rendered text of the element `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The texts of the elements `css`, in the page's order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            texts.push(element.text().await.unwrap());
        }
        texts
    }

    /// The JSON at `path`, fetched by the page with the session's cookie.
    pub async fn fetch_json(&self, path: &str) -> Value {
        let script = "return fetch(arguments[0]).then(async r => [r.status, await r.text()]);";
        let answer = self
            .client
            .execute(script, vec![json!(path)])
            .await
            .unwrap();
        assert_eq!(answer[0], 200, "GET {path}: {answer}");
        serde_json::from_str(answer[1].as_str().unwrap()).unwrap()
    }

    /// Saves a screenshot of the window as `name`.png in `ACCORD_SCREENSHOT_DIR`, or else in
    /// `folder`, checks that it is a PNG, and returns its path.
    pub async fn screenshot(&self, folder: &Path, name: &str) -> PathBuf {
        let folder =
            std::env::var_os("ACCORD_SCREENSHOT_DIR").map_or(folder.to_owned(), PathBuf::from);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("{name}.png"));
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(&path, &png).unwrap();
        let written = std::fs::read(&path).unwrap();
        assert!(written.len() > PNG_SIGNATURE.len(), "an empty screenshot");
        assert_eq!(written[..8], PNG_SIGNATURE, "the screenshot is not a PNG");
        eprintln!("screenshot: {} ({} bytes)", path.display(), written.len());
        path
    }

    /// The session, for what the helpers above do not cover (forms).
    pub fn client(&self) -> &Client {
        &self.client
    }
}
