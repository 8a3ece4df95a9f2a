//! A real headless Chromium driven over WebDriver: Debian's chromium and chromedriver, started
//! fresh for each test on a free port with a throwaway profile.

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "run scripts/ensure-chromium.sh (or `just test`) to install Debian's chromium and chromium-driver";

/// A chromedriver child process and a WebDriver session with headless Chromium.
pub struct Chrome {
    pub client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// The chromedriver process group, ended when dropped: even when a test fails, or the
/// session cannot be opened at all, no chromedriver or chromium outlives it.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The process group this harness created.
        covenant_testkit::send_signal(self.0.id(), covenant_testkit::SIGKILL, true);
        let _ = self.0.wait();
    }
}

fn find_program(env_var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        let candidate = Path::new(name);
        if candidate.is_absolute() {
            return candidate.is_file().then(|| candidate.to_path_buf());
        }
        std::env::split_paths(&path_var)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free port for chromedriver")
}

fn wait_until_listening(addr: SocketAddr, driver: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited before listening ({status}); {INSTALL_HINT}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("chromedriver did not listen on {addr} within 30 s");
}

/// The screen a page is looked at on.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
    /// Emulate a phone: a touch device with a narrow viewport, as a journalist's phone shows.
    pub phone: bool,
}

pub const DESKTOP: Screen = Screen {
    width: 1280,
    height: 900,
    phone: false,
};

/// An iPhone-sized viewport, 375 CSS pixels wide.
pub const PHONE: Screen = Screen {
    width: 375,
    height: 812,
    phone: true,
};

impl Chrome {
    /// Start chromedriver and open a headless browser showing pages on `screen`.
    pub async fn start(screen: Screen) -> Chrome {
        let Screen { width, height, .. } = screen;
        let driver_path = find_program("CHROMEDRIVER", &["chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver is not installed: {INSTALL_HINT}"));
        // Debian's /usr/bin/chromium is a launcher script; the browser itself lives beside it.
        let browser_path = find_program(
            "CHROMIUM",
            &["/usr/lib/chromium/chromium", "chromium", "chromium-browser"],
        )
        .unwrap_or_else(|| panic!("chromium is not installed: {INSTALL_HINT}"));
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browsers it starts can be ended with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("start {}: {error}; {INSTALL_HINT}", driver_path.display())
            });
        let mut driver = Driver(driver);
        wait_until_listening(SocketAddr::from(([127, 0, 0, 1], port)), &mut driver.0);

        let profile = tempfile::tempdir().expect("create a browser profile directory");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        let mut options = json!({
                "binary": browser_path,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
        });
        if screen.phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true },
            });
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        // chromedriver listens on loopback: plain HTTP, no TLS.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|error| {
                panic!("open a headless chromium session: {error}; {INSTALL_HINT}")
            });
        Chrome {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// End the browser session and chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
