//! The server as the network sees it: security headers, absolute URLs from the configured
//! public URL whatever the Host header says, and the limits on slow or numerous clients.

use super::{PUBLIC_URL, serve, serve_with};
use covenant_http::server::{CONTENT_SECURITY_POLICY, ServerLimits};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn raw_request(base: &str, request: &str) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

#[test]
fn pages_and_answers_carry_the_security_headers() {
    let server = serve();
    for path in ["/", "/v1/actors", "/log/checkpoint"] {
        let response = server
            .agent
            .get(&format!("{}{path}", server.base))
            .call()
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            header("content-security-policy"),
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src 'self' 'unsafe-inline'"));
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
}

#[test]
fn absolute_urls_come_from_the_public_url_never_the_host_header() {
    let server = serve();
    let feed = raw_request(
        &server.base,
        &format!(
            "GET /v1/actors/{}/feed.atom HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            covenant_testkit::scenario::DCMS
        ),
    );
    assert!(feed.starts_with("HTTP/1.1 200"), "{feed}");
    assert!(!feed.contains("evil.example"), "{feed}");
    assert!(feed.contains(&format!("{PUBLIC_URL}/v1/actors/")), "{feed}");
    let home = raw_request(
        &server.base,
        "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert!(
        home.starts_with("HTTP/1.1 200"),
        "{}",
        &home[..200.min(home.len())]
    );
    assert!(!home.contains("evil.example"));
    assert!(home.contains(&format!("covenant audit verify {PUBLIC_URL}")));
}

fn quick_limits() -> ServerLimits {
    ServerLimits {
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        max_connections: 4,
    }
}

/// How long until the server closes `stream` (reading whatever it sends first).
fn time_until_closed(mut stream: TcpStream) -> (Duration, String) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        started.elapsed(),
        String::from_utf8_lossy(&answer).into_owned(),
    )
}

#[test]
fn half_sent_headers_and_idle_connections_are_closed() {
    let server = serve_with(quick_limits());
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut half = TcpStream::connect(&address).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (waited, _) = time_until_closed(half);
    assert!(waited < Duration::from_secs(5), "held {waited:?}");
    let idle = TcpStream::connect(&address).unwrap();
    let (waited, _) = time_until_closed(idle);
    assert!(waited < Duration::from_secs(5), "idle held {waited:?}");
}

#[test]
fn a_body_that_never_ends_is_cut_off() {
    // A route that reads its body, served as the real server serves every route.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/read",
        axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }),
    );
    runtime.spawn(covenant_http::server::serve(
        listener,
        app,
        quick_limits(),
        std::future::pending(),
    ));
    let mut endless = TcpStream::connect(address).unwrap();
    endless
        .write_all(
            b"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        )
        .unwrap();
    let (waited, answer) = time_until_closed(endless);
    assert!(waited < Duration::from_secs(5), "held {waited:?}: {answer}");
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once() {
    let server = serve_with(ServerLimits {
        header_timeout: Duration::from_secs(30),
        ..quick_limits()
    });
    let address = server.base.trim_start_matches("http://").to_owned();
    let held: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    // Give the server a moment to accept the four it may keep.
    std::thread::sleep(Duration::from_millis(200));
    let extra = TcpStream::connect(&address).unwrap();
    let (waited, answer) = time_until_closed(extra);
    assert!(answer.is_empty(), "{answer}");
    assert!(
        waited < Duration::from_secs(5),
        "the fifth waited {waited:?}"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server
            .agent
            .get(&format!("{}/v1/actors", server.base))
            .call()
            .unwrap()
            .status(),
        200,
        "room again once they close"
    );
}
