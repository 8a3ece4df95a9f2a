//! The query API over real HTTP: axum on 127.0.0.1:0, a real SledStore holding a valid signed
//! log, and the projections following it in the background as `covenant serve` runs them.

use covenant_core::proto::Verdict;
use covenant_http::server::ServerLimits;
use covenant_http::{AppState, router};
use covenant_query::{Follower, Projections};
use covenant_store::{LogReader, LogStore, SledStore};
use covenant_testkit::log::LogWriter;
use covenant_testkit::scenario::{self, DCMS, DCMS2, DHSC, MP, Scenario};
use serde_json::Value;
use std::sync::Arc;

struct Server {
    base: String,
    store: Arc<SledStore>,
    /// `None` for a server configured without projections.
    projections: Option<Arc<Projections>>,
    scenario: Scenario,
    _follower: Option<Follower>,
    agent: ureq::Agent,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: u16,
    content_type: String,
    link: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The index of a CSV column, by its header.
    fn column(&self, name: &str) -> usize {
        let header = self.body.lines().next().unwrap_or_default();
        header
            .split(',')
            .position(|column| column == name)
            .unwrap_or_else(|| panic!("no column {name} in {header}"))
    }

    fn csv(&self) -> Vec<csv::StringRecord> {
        assert!(
            self.content_type.starts_with("text/csv"),
            "{}",
            self.content_type
        );
        csv::Reader::from_reader(self.body.as_bytes())
            .records()
            .map(|r| r.unwrap())
            .collect()
    }
}

/// The public URL the test server is configured with (absolute links use it).
const PUBLIC_URL: &str = "https://covenant.example.org";

fn serve() -> Server {
    serve_with(ServerLimits::default())
}

fn serve_with(limits: ServerLimits) -> Server {
    serve_configured(limits, true)
}

fn serve_configured(limits: ServerLimits, with_projections: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::create_or_open(dir.path().join("log")).unwrap());
    let scenario = scenario::write(&*store).unwrap();
    let mut state = AppState::new(store.clone(), String::new()).with_public_url(PUBLIC_URL);
    let (mut projections, mut follower) = (None, None);
    if with_projections {
        let opened = Arc::new(Projections::open(dir.path().join("query")).unwrap());
        state = state.with_query(opened.clone());
        follower = Some(Follower::start(opened.clone(), store.clone()).unwrap());
        projections = Some(opened);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(covenant_http::server::serve(
        listener,
        router(state),
        limits,
        std::future::pending(),
    ));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let server = Server {
        base: format!("http://{address}"),
        store,
        projections,
        scenario,
        _follower: follower,
        agent,
        _runtime: runtime,
        _dir: dir,
    };
    server.caught_up();
    server
}

impl Server {
    /// Wait until the follower has projected the whole log, as it stands now.
    fn caught_up(&self) {
        let Some(projections) = &self.projections else {
            return;
        };
        let size = self.store.head().size;
        assert!(
            projections.wait_until_applied(size, std::time::Duration::from_secs(60)),
            "the follower did not project {size} entries within 60 s (applied {})",
            projections.applied()
        );
    }

    fn get(&self, path: &str) -> Answer {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let link = header("link");
        let retry_after = header("retry-after");
        Answer {
            status: response.status().as_u16(),
            content_type,
            link,
            retry_after,
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    fn ok(&self, path: &str) -> Answer {
        let answer = self.get(path);
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
        answer
    }

    /// Judged on a fixed day, so the answers do not change with the calendar.
    fn json(&self, path: &str) -> Value {
        self.ok(path).json()
    }
}

/// The scenario's stored times end on 2026-05-10; judge on 2026-06-01 via a date as_of.
const JUNE: &str = "as_of=2026-06-01";

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn actors_list_and_scorecards() {
    let server = serve();
    let page = server.json(&format!("/v1/actors?{JUNE}"));
    let actors: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(actors.len(), 5);
    assert!(actors.contains(&MP));
    let mps = server.json("/v1/actors?kind=mp");
    assert_eq!(mps["items"].as_array().unwrap().len(), 1);
    assert_eq!(mps["items"][0]["name"], "Jo Bloggs MP");

    let dcms2 = server.json(&format!("/v1/actors/{DCMS2}?{JUNE}"));
    assert_eq!(
        dcms2["scope"],
        serde_json::json!({"kind": "actor", "id": DCMS2})
    );
    assert_eq!(dcms2["counts"]["overdue"], 1);
    assert_eq!(dcms2["counts"]["in_progress"], 1);
    assert_eq!(dcms2["overdue"]["items"][0]["id"], "dcms-arts");
    assert_eq!(
        dcms2["goalposts_moved"]["items"][0]["current_due_by"],
        "2027-06-30"
    );
    assert_eq!(dcms2["money"][0]["spent_minor"], 1_000_000);
    assert_eq!(dcms2["as_of"]["date"], "2026-06-01");
    let dhsc = server.json(&format!("/v1/actors/{DHSC}?{JUNE}"));
    assert_eq!(dhsc["delivery_rate"], 0.5);
    assert_eq!(dhsc["median_days_to_outcome"], 69.0);
    // Partly delivered is not delivered over time.
    assert_eq!(
        dhsc["over_time"],
        serde_json::json!([{"quarter": "2026-Q1", "made": 2, "delivered": 0}])
    );
    // The retracted commitment is left out; the two deliveries fall in the quarter of their
    // outcomes, at the latest point and at a world date alike.
    let everyone_over_time = serde_json::json!([
        {"quarter": "2026-Q1", "made": 7, "delivered": 0},
        {"quarter": "2026-Q2", "made": 0, "delivered": 2},
    ]);
    assert_eq!(
        server.json("/v1/scorecard")["over_time"],
        everyone_over_time
    );
    assert_eq!(
        server.json(&format!("/v1/scorecard?{JUNE}"))["over_time"],
        everyone_over_time
    );
    let before_deliveries = server.json("/v1/scorecard?as_of=2026-04-19");
    assert_eq!(
        before_deliveries["over_time"],
        serde_json::json!([{"quarter": "2026-Q1", "made": 7, "delivered": 0}]),
        "the world the day before the deliveries, by everything the log holds now"
    );
    let before_retraction = server.json(&format!(
        "/v1/actors/{DHSC}?as_of={}",
        server.scenario.size_before_nurses_retraction
    ));
    assert_eq!(before_retraction["counts"]["not_delivered"], 1);
    assert_eq!(before_retraction["as_of"]["latest"], false);

    let csv = server.ok("/v1/actors.csv").csv();
    assert_eq!(csv.len(), 5);
    let via_format = server.ok("/v1/actors?format=csv").csv();
    assert_eq!(csv, via_format);
}

#[test]
fn commitments_filters_search_pages_and_csv() {
    let server = serve();
    let all = server.json(&format!("/v1/commitments?{JUNE}"));
    assert_eq!(ids(&all).len(), 7);
    let overdue = server.json(&format!("/v1/commitments?status=overdue&{JUNE}"));
    assert_eq!(ids(&overdue), ["dcms-arts"]);
    assert_eq!(overdue["items"][0]["days_overdue"], 62);
    let search = server.json("/v1/commitments?q=Library%20ENGLAND");
    assert_eq!(ids(&search), ["dcms-libraries"]);
    let themed = server.json("/v1/commitments?theme=safety&actor=GB-GOV-DHSC");
    assert_eq!(ids(&themed), ["dhsc-nurses", "dhsc-waiting"]);
    let capitalised = server.json("/v1/commitments?theme=Safety&actor=GB-GOV-DHSC");
    assert_eq!(
        ids(&capitalised),
        ids(&themed),
        "themes are lower-case by rule"
    );
    let dated = server.json("/v1/commitments?due_from=2026-06-01&due_to=2026-12-31");
    assert_eq!(
        ids(&dated),
        ["dcms-libraries", "dcms-museums", "dhsc-nurses"]
    );
    let moved = server.json("/v1/commitments?flag=goalposts_moved");
    assert_eq!(ids(&moved), ["dcms-sport"]);
    assert_eq!(moved["items"][0]["flags"]["deadline_moves"], 1);
    let retracted = server.json("/v1/commitments?status=retracted");
    assert_eq!(ids(&retracted), ["dcms-error"]);

    let mut seen = vec![];
    let mut path = format!("/v1/commitments?limit=2&{JUNE}");
    loop {
        let page = server.json(&path);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/commitments?limit=2&{JUNE}&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all));

    let answer = server.ok(&format!("/v1/commitments.csv?{JUNE}"));
    let csv = answer.csv();
    let csv_ids: Vec<&str> = csv.iter().map(|row| &row[0]).collect();
    assert_eq!(csv_ids, ids(&all));
    let arts = csv.iter().find(|row| &row[0] == "dcms-arts").unwrap();
    assert_eq!(&arts[answer.column("status")], "overdue");
    assert_eq!(
        &arts[answer.column("claimed_status")],
        "",
        "no outcome claims"
    );
    let decided = csv
        .iter()
        .find(|row| &row[answer.column("status")] == "delivered")
        .expect("a delivered commitment");
    assert_eq!(&decided[answer.column("claimed_status")], "delivered");
    // The goalpost move survives the export: original and current terms side by side.
    let sport = csv.iter().find(|row| &row[0] == "dcms-sport").unwrap();
    let cell = |name: &str| sport[answer.column(name)].to_owned();
    assert_eq!(
        (cell("original_target"), cell("target")),
        ("100".into(), "80".into())
    );
    assert_eq!(
        (cell("original_due_by"), cell("due_by")),
        ("2026-06-30".into(), "2027-06-30".into())
    );
    assert_eq!(cell("goalposts_moved"), "true");
    let paged = server.ok("/v1/commitments.csv?limit=3");
    assert_eq!(paged.csv().len(), 3);
    let next = paged.link.expect("a Link header to the next page");
    assert!(
        next.contains("/v1/commitments.csv?") && next.contains("cursor="),
        "{next}"
    );
}

#[test]
fn commitment_detail_and_history_link_to_proofs() {
    let server = serve();
    let sport = server.json("/v1/commitments/dcms-sport");
    assert_eq!(sport["original"]["target_value"], 100.0);
    assert_eq!(sport["current"]["target_value"], 80.0);
    assert_eq!(sport["succession"]["original_owner"], DCMS);
    assert_eq!(sport["succession"]["current_owner"], DCMS2);
    let history = server.json("/v1/commitments/dhsc-nurses/history");
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    for event in events {
        let seq = event["seq"].as_u64().unwrap();
        let entry = server.store.entry(seq).unwrap().unwrap();
        assert_eq!(
            event["entry_hash"],
            hex_of(&covenant_core::entry::chain_hash(&entry))
        );
        assert_eq!(
            event["proof"]["inclusion"],
            format!("/v1/proof/inclusion?seq={seq}")
        );
        assert_eq!(
            event["proof"]["bundle"],
            format!("/v1/proof/bundle/{}", event["event_id"].as_str().unwrap())
        );
    }
    // One line for people, said by covenant-http from the event's kind and fields.
    let line = |index: usize| {
        let actor = events[index]["actor"].as_str().unwrap();
        let summary = events[index]["summary"].as_str().unwrap();
        summary
            .strip_prefix(actor)
            .unwrap_or_else(|| panic!("{summary:?} starts with the actor"))
            .to_owned()
    };
    assert!(line(0).starts_with(" made the commitment: "), "{}", line(0));
    assert!(line(1).starts_with(" recorded an action: "), "{}", line(1));
    assert!(
        line(2).starts_with(" reported the outcome: "),
        "{}",
        line(2)
    );
    assert_eq!(
        line(3),
        format!(" retracted event {}", server.scenario.nurses_outcome)
    );
    assert_eq!(
        events[2]["retracted_by"]["event_id"],
        server.scenario.nurses_outcome_retraction.as_str()
    );
    let answer = server.ok("/v1/commitments/dhsc-nurses/history.csv");
    let csv = answer.csv();
    assert_eq!(csv.len(), 4);
    assert_eq!(
        &csv[2][answer.column("retracted_by")],
        server.scenario.nurses_outcome_retraction.as_str()
    );
    // An amendment is one row per changed field, with the value before and after and why.
    let answer = server.ok("/v1/commitments/dcms-sport/history.csv");
    let rows = answer.csv();
    let changes: Vec<(String, String, String, String)> = rows
        .iter()
        .filter(|row| &row[answer.column("kind")] == "commitment_amended")
        .map(|row| {
            let cell = |name: &str| row[answer.column(name)].to_owned();
            (
                cell("field"),
                cell("old_value"),
                cell("new_value"),
                cell("rationale"),
            )
        })
        .collect();
    let why = "circumstances changed".to_owned();
    assert_eq!(
        changes,
        [
            (
                "target_value".into(),
                "100".into(),
                "80".into(),
                why.clone()
            ),
            (
                "due_by".into(),
                "2026-06-30".into(),
                "2027-06-30".into(),
                why
            ),
        ]
    );
    let early = server.get("/v1/commitments/dcms-sport?as_of=3");
    assert_eq!(early.status, 404, "not made yet at entry 3");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn themes_league_and_overall_scorecard() {
    let server = serve();
    let themes = server.json(&format!("/v1/themes?{JUNE}"));
    assert_eq!(themes["items"][0]["theme"], "safety");
    assert_eq!(themes["items"][0]["seed"], true);
    let csv = server.ok("/v1/themes.csv").csv();
    assert_eq!(csv.len(), 5);
    let community = server.json("/v1/themes/community");
    assert_eq!(community["commitments"], 3);
    let league = server.json("/v1/league?min_resolved=1");
    let ranked: Vec<&str> = league["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["actor"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, [MP, DCMS, DHSC]);
    let league_csv = server.ok("/v1/league.csv?min_resolved=1").csv();
    assert_eq!(&league_csv[0][1], MP);
    let overall = server.json(&format!("/v1/scorecard?{JUNE}"));
    assert_eq!(overall["commitments"], 7);
    assert_eq!(overall["scope"]["kind"], "all");
}

#[test]
fn atom_feeds_parse_and_announce() {
    let server = serve();
    for path in [
        format!("/v1/actors/{DCMS}/feed.atom"),
        format!("/v1/actors/{DCMS2}/feed.atom"),
        "/v1/themes/community/feed.atom".to_owned(),
    ] {
        let answer = server.ok(&path);
        assert!(answer.content_type.starts_with("application/atom+xml"));
        assert!(
            answer
                .body
                .contains("xmlns=\"http://www.w3.org/2005/Atom\"")
        );
        let feed: atom_syndication::Feed = answer
            .body
            .parse()
            .unwrap_or_else(|e| panic!("{path} is not Atom: {e}\n{}", answer.body));
        assert!(!feed.id.is_empty() && !feed.title.value.is_empty());
        assert!(!feed.authors.is_empty(), "feed-level author");
        assert!(feed.links.iter().any(|l| l.rel == "self"));
        assert!(!feed.entries.is_empty(), "{path}");
        for entry in &feed.entries {
            assert!(!entry.id.is_empty() && !entry.title.value.is_empty());
            // Absolute links come from the configured public URL.
            assert!(entry.links[0].href.starts_with(PUBLIC_URL));
        }
    }
    let feed: atom_syndication::Feed = server
        .ok(&format!("/v1/actors/{DCMS2}/feed.atom"))
        .body
        .parse()
        .unwrap();
    let overdue = feed
        .entries
        .iter()
        .find(|e| e.id.starts_with("urn:covenant:overdue:dcms-arts"))
        .expect("newly overdue announced");
    assert_eq!(overdue.updated.to_rfc3339(), "2026-04-01T00:00:00+00:00");
    // `published` is when it happened (the event's own date), `updated` when the log recorded it.
    let dcms_feed: atom_syndication::Feed = server
        .ok(&format!("/v1/actors/{DCMS}/feed.atom"))
        .body
        .parse()
        .unwrap();
    let made = dcms_feed
        .entries
        .iter()
        .find(|e| e.title.value.starts_with("New commitment"))
        .expect("a new commitment announced");
    assert_eq!(
        made.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2026-01-05T00:00:00+00:00"),
        "made on 2026-01-05"
    );
    assert!(made.updated >= made.published.unwrap());
    assert!(dcms_feed.entries.iter().all(|e| e.published.is_some()));
    let dcms: atom_syndication::Feed = server
        .ok(&format!("/v1/actors/{DCMS}/feed.atom"))
        .body
        .parse()
        .unwrap();
    let titles: Vec<&str> = dcms
        .entries
        .iter()
        .map(|e| e.title.value.as_str())
        .collect();
    assert!(titles.contains(&"Amended: Sports pitches"), "{titles:?}");
    assert!(titles.contains(&"Outcome (delivered): Keep every library open"));
    assert_eq!(server.get("/v1/actors/GB-NOBODY/feed.atom").status, 404);
}

#[test]
fn bad_parameters_are_400s_that_name_the_parameter() {
    let server = serve();
    for (path, parameter) in [
        ("/v1/commitments?as_of=yesterday", "as_of"),
        ("/v1/commitments?as_of=999999", "as_of"),
        ("/v1/commitments?as_of=2999-01-01", "as_of"),
        ("/v1/commitments?status=finished", "status"),
        ("/v1/commitments?limit=0", "limit"),
        ("/v1/commitments?limit=abc", "limit"),
        ("/v1/commitments?made_from=2026-02-30", "made_from"),
        (
            "/v1/commitments?due_from=2026-05-01&due_to=2026-01-01",
            "due_to",
        ),
        ("/v1/commitments?cursor=not%20an%20id", "cursor"),
        ("/v1/commitments?flag=nice", "flag"),
        ("/v1/commitments?q=%21%21", "q"),
        ("/v1/commitments?format=xml", "format"),
        ("/v1/commitments?colour=red", "colour"),
        ("/v1/commitments?status=overdue&status=delivered", "status"),
        ("/v1/commitments.csv?format=csv", "format"),
        ("/v1/actors?kind=wizard", "kind"),
        ("/v1/actors/GB-GOV-DCMS?list_limit=5000", "list_limit"),
        ("/v1/league?min_resolved=-1", "min_resolved"),
        ("/v1/themes?as_of=2026-13-01", "as_of"),
        ("/v1/commitments/dcms-arts/history?format=pdf", "format"),
        ("/v1/themes/community/feed.atom?limit=3", "limit"),
    ] {
        let answer = server.get(path);
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        let error = &answer.json()["error"];
        assert_eq!(error["code"], "bad_parameter", "{path}");
        assert_eq!(error["parameter"], parameter, "{path}");
        assert!(
            error["message"].as_str().unwrap().contains(parameter),
            "{path}: {}",
            error["message"]
        );
    }
    for path in [
        "/v1/actors/GB-NOBODY",
        "/v1/commitments/no-such-thing",
        "/v1/commitments/no-such-thing/history",
        "/v1/themes/no-such-theme",
        "/v1/commitments?actor=GB-NOBODY",
        "/v1/commitments?actor=GB-NOBODY&format=csv",
        "/v1/commitments.csv?actor=GB-NOBODY",
    ] {
        let answer = server.get(path);
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json()["error"]["code"], "not_found");
    }
    let unknown = server.get("/v1/commitments?actor=GB-NOBODY").json();
    assert_eq!(
        unknown["error"]["message"],
        "actor GB-NOBODY is not registered at this point"
    );
    // Registered later: not yet at the log's first entries.
    assert_eq!(
        server
            .get(&format!("/v1/commitments?actor={DCMS}&as_of=1"))
            .status,
        404
    );
    assert_eq!(
        server.get(&format!("/v1/commitments?actor={DCMS}")).status,
        200
    );
}

/// Every query route with its placeholders filled in, and the route as the document names it.
fn concrete_query_routes() -> Vec<(&'static str, String)> {
    covenant_http::query_api::route_table()
        .into_iter()
        .map(|(route, _)| route)
        .filter(|route| *route != "/v1/openapi.json")
        .map(|route| {
            let concrete = route
                .replace("{id}/feed", &format!("{DCMS}/feed"))
                .replace("/actors/{id}", &format!("/actors/{DCMS}"))
                .replace("{id}", "dcms-sport")
                .replace("{theme}", "community");
            (route, concrete)
        })
        .collect()
}

#[test]
fn min_size_answers_only_from_a_server_that_has_reached_it() {
    let server = serve();
    let size = server.store.head().size;
    let document = server.json("/v1/openapi.json");
    for (route, path) in concrete_query_routes() {
        let documented = document["paths"][route]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|parameter| parameter["name"] == "min_size" && parameter["in"] == "query");
        assert!(documented, "{route}: min_size missing from openapi.json");
        let reached = server.get(&format!("{path}?min_size={size}"));
        assert_eq!(reached.status, 200, "{path}: {}", reached.body);
        assert_eq!(reached.retry_after, None, "{path}");
        let beyond = server.get(&format!("{path}?min_size={}", size + 1));
        assert_eq!(beyond.status, 503, "{path}: {}", beyond.body);
        assert_eq!(beyond.retry_after.as_deref(), Some("1"), "{path}");
        let error = &beyond.json()["error"];
        assert_eq!(error["code"], "unavailable", "{path}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("reached log size {size},"))
                && message.contains(&format!("min_size {} ", size + 1)),
            "{path}: {message}"
        );
        for bad in ["abc", "-1", "1.5", ""] {
            let refused = server.get(&format!("{path}?min_size={bad}"));
            assert_eq!(refused.status, 400, "{path}?min_size={bad}");
            assert_eq!(
                refused.json()["error"]["parameter"],
                "min_size",
                "{path}?min_size={bad}"
            );
        }
    }
}

#[test]
fn min_size_holds_on_the_event_status_and_proof_routes_too() {
    struct Hashes<'a>(&'a SledStore);
    impl covenant_core::merkle::HashReader for Hashes<'_> {
        fn read_hashes(
            &self,
            indexes: &[u64],
        ) -> Result<Vec<covenant_core::merkle::Hash>, tlog_tiles::Error> {
            self.0.read_hashes(indexes)
        }
    }
    let server = serve();
    let log_size = server.store.head().size;
    // A checkpoint a few entries short of the log, as on a ledger between two signatures.
    let signed = log_size - 3;
    let root = covenant_core::merkle::tree_root(signed, &Hashes(&server.store)).unwrap();
    let signer = covenant_core::checkpoint::LogSigner::new("covenant.test/log", [4; 32]).unwrap();
    server
        .store
        .put_checkpoint(signed, &signer.sign(signed, root))
        .unwrap();
    let event = &server.scenario.libraries_outcome;
    let document = server.json("/v1/openapi.json");
    // Each against what it answers from: the log's entries, or the latest signed checkpoint.
    for (route, path, have) in [
        (
            "/v1/events/{event_id}",
            format!("/v1/events/{event}?"),
            log_size,
        ),
        (
            "/v1/proof/inclusion",
            "/v1/proof/inclusion?seq=1&".to_owned(),
            signed,
        ),
        (
            "/v1/proof/consistency",
            "/v1/proof/consistency?from=1&".to_owned(),
            signed,
        ),
        (
            "/v1/proof/bundle/{event_id}",
            format!("/v1/proof/bundle/{event}?"),
            signed,
        ),
    ] {
        let documented = document["paths"][route]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|parameter| parameter["name"] == "min_size" && parameter["in"] == "query");
        assert!(documented, "{route}: min_size missing from openapi.json");
        let reached = server.get(&format!("{path}min_size={have}"));
        assert_eq!(reached.status, 200, "{path}: {}", reached.body);
        let beyond = server.get(&format!("{path}min_size={}", have + 1));
        assert_eq!(beyond.status, 503, "{path}: {}", beyond.body);
        assert_eq!(beyond.retry_after.as_deref(), Some("1"), "{path}");
        let message = beyond.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains(&format!("reached log size {have},")),
            "{path}: {message}"
        );
        let refused = server.get(&format!("{path}min_size=x"));
        assert_eq!(refused.status, 400, "{path}");
        assert_eq!(refused.json()["error"]["parameter"], "min_size", "{path}");
    }
}

#[test]
fn every_route_answers_and_is_in_the_openapi_document() {
    let server = serve();
    let document = server.json("/v1/openapi.json");
    let paths = document["paths"].as_object().unwrap();
    let routes: Vec<&str> = covenant_http::query_api::route_table()
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    for route in &routes {
        assert!(
            paths.contains_key(*route),
            "{route} missing from openapi.json"
        );
        let concrete = route
            .replace("{id}/feed", &format!("{DCMS}/feed"))
            .replace("/actors/{id}", &format!("/actors/{DCMS}"))
            .replace("{id}", "dcms-sport")
            .replace("{theme}", "community");
        assert_eq!(server.get(&concrete).status, 200, "{concrete}");
    }
    // Every /v1 route the router serves is in the document, and every path in the document
    // is one the router serves.
    let served: std::collections::BTreeSet<&str> = covenant_http::v1_route_table()
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let documented: std::collections::BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    assert_eq!(
        served, documented,
        "the router's /v1 routes against openapi.json"
    );
    // Each documented method is routed (not the fallback's 404 nor a 405).
    for (path, item) in paths
        .iter()
        .filter(|(path, _)| !routes.contains(&path.as_str()))
    {
        let concrete = path.replace("{event_id}", "01JDQ0000000000000000000099");
        let answer = if item.get("post").is_some() {
            let mut response = server
                .agent
                .post(&format!("{}{concrete}", server.base))
                .header("content-type", "application/x-protobuf")
                .send(&[0x0a, 0xff][..])
                .unwrap();
            (
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap(),
            )
        } else {
            let answer = server.get(&concrete);
            (answer.status, answer.body)
        };
        assert!(
            !answer.1.contains("is not a route of this API") && answer.0 != 405,
            "{path} is documented but not routed: {answer:?}"
        );
    }
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in [
        "Scorecard",
        "CommitmentPage",
        "CommitmentDetail",
        "HistoryEvent",
        "ErrorAnswer",
        "ErrorDetail",
        "Receipt",
        "EventStatus",
        "InclusionProof",
        "ConsistencyProof",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    // The documented required fields of a scorecard are what the server sends.
    let scorecard = server.json(&format!("/v1/actors/{DCMS}"));
    for field in schemas["Scorecard"]["required"].as_array().unwrap() {
        let field = field.as_str().unwrap();
        assert!(scorecard.get(field).is_some(), "scorecard lacks {field}");
    }
}

#[test]
fn a_new_event_shows_once_the_follower_projects_it() {
    let server = serve();
    let before = server.json(&format!("/v1/actors/{MP}"));
    assert_eq!(before["commitments"], 1);
    let mut log = LogWriter::resume(&*server.store).unwrap();
    log.commitment(
        MP,
        "mp4514-library",
        "Reopen the village library",
        "Reopen the village library on Saturdays",
        "2026-05-20",
        "2026-09-01",
        &["community"],
    )
    .unwrap();
    log.outcome(MP, "mp4514-library", Verdict::Delivered, "2026-05-30")
        .unwrap();
    let size = log.flush().unwrap().size;
    // No request is needed for the follower to apply the new entries.
    server.caught_up();
    let after = server.json(&format!("/v1/actors/{MP}"));
    assert_eq!(after["as_of"]["size"], size);
    assert_eq!(after["commitments"], 2);
    assert_eq!(after["counts"]["delivered"], 2);
}

/// A server over a log of 9,002 entries whose projections have applied none of them.
struct Backlogged {
    base: String,
    size: u64,
    store: Arc<SledStore>,
    projections: Arc<Projections>,
    agent: ureq::Agent,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Backlogged {
    fn serve() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::create_or_open(dir.path().join("log")).unwrap());
        let mut log = LogWriter::genesis(&*store, scenario::START_NS).unwrap();
        log.register(DHSC, "Health", covenant_core::proto::ActorKind::Department)
            .unwrap();
        for index in 0..9_000 {
            log.commitment(
                DHSC,
                &format!("c-{index}"),
                "A promise",
                "A promise among many",
                "2026-01-05",
                "2026-12-31",
                &["safety"],
            )
            .unwrap();
        }
        let size = log.flush().unwrap().size;
        let projections = Arc::new(Projections::open(dir.path().join("query")).unwrap());
        let state = AppState::new(store.clone(), String::new()).with_query(projections.clone());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, router(state)).await });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base,
            size,
            store,
            projections,
            agent,
            _runtime: runtime,
            _dir: dir,
        }
    }

    fn follow(&self) -> Follower {
        Follower::start(self.projections.clone(), self.store.clone()).unwrap()
    }

    fn get(&self, path: &str) -> String {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .unwrap();
        assert_eq!(response.status(), 200, "{path} answers while catching up");
        response.body_mut().read_to_string().unwrap()
    }
}

/// Requests, API and pages alike, answer from what is projected and never apply an entry
/// themselves: with no follower running, nothing is ever applied.
#[test]
fn a_request_answers_from_what_is_projected_and_applies_nothing() {
    let server = Backlogged::serve();
    for _ in 0..3 {
        let body: Value = serde_json::from_str(&server.get("/v1/themes")).unwrap();
        assert_eq!(body["as_of"]["size"], 0, "answered as of what is projected");
        let items = body["items"].as_array().unwrap();
        assert!(
            items.iter().all(|theme| theme["commitments"] == 0),
            "nothing projected, nothing counted: {body}"
        );
        let page = server.get("/themes");
        assert!(page.contains("<html"), "a page: {page:.200}");
    }
    // Give anything a request might have started in the background time to show.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(server.projections.applied(), 0, "a request applied entries");
}

/// The follower projects the log by itself, with no request made, and answers then say so.
#[test]
fn the_follower_catches_up_without_any_request() {
    let server = Backlogged::serve();
    let follower = server.follow();
    assert!(
        server
            .projections
            .wait_until_applied(server.size, std::time::Duration::from_secs(60)),
        "the follower stopped at {} of {}",
        server.projections.applied(),
        server.size
    );
    let body: Value = serde_json::from_str(&server.get("/v1/themes")).unwrap();
    assert_eq!(body["as_of"]["size"], server.size);
    assert_eq!(body["items"][0]["commitments"], 9_000);
    // It keeps following: an entry appended later is projected with no request either.
    let mut log = LogWriter::resume(&*server.store).unwrap();
    log.commitment(
        DHSC,
        "c-late",
        "A late promise",
        "A promise made after the others",
        "2026-01-06",
        "2026-12-31",
        &["safety"],
    )
    .unwrap();
    let size = log.flush().unwrap().size;
    assert_eq!(size, server.size + 1);
    assert!(
        server
            .projections
            .wait_until_applied(size, std::time::Duration::from_secs(30)),
        "the follower did not apply the new entry"
    );
    // Stopped, it applies nothing more.
    follower.stop();
    let mut log = LogWriter::resume(&*server.store).unwrap();
    log.commitment(
        DHSC,
        "c-after-stop",
        "A promise after the follower stopped",
        "Made once nobody follows",
        "2026-01-07",
        "2026-12-31",
        &["safety"],
    )
    .unwrap();
    log.flush().unwrap();
    assert!(
        !server
            .projections
            .wait_until_applied(size + 1, std::time::Duration::from_millis(200)),
        "a stopped follower applied an entry"
    );
}

/// While a long backlog is being applied, answers keep coming, each as of what was projected
/// when it was asked, until they reach the end of the log.
#[test]
fn answers_follow_a_long_backlog_as_it_is_applied() {
    let server = Backlogged::serve();
    let _follower = server.follow();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut sizes = vec![];
    loop {
        let body: Value = serde_json::from_str(&server.get("/v1/themes")).unwrap();
        let answered = body["as_of"]["size"].as_u64().unwrap();
        assert!(
            sizes.last().is_none_or(|last| *last <= answered),
            "the answers went back: {sizes:?} then {answered}"
        );
        sizes.push(answered);
        if answered == server.size {
            assert_eq!(body["items"][0]["commitments"], 9_000);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never caught up: {sizes:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[path = "query_api/hardening.rs"]
mod hardening;

#[path = "query_api/embed.rs"]
mod embed;

/// What a request answered: status, content type and JSON body.
fn send(server: &Server, method: &str, path: &str) -> (u16, String, Value) {
    let url = format!("{}{path}", server.base);
    let request = match method {
        "POST" => server
            .agent
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .send(&[0x0a, 0xff][..]),
        "DELETE" => server.agent.delete(&url).call(),
        _ => server.agent.get(&url).call(),
    };
    let mut response = request.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {body}"));
    (response.status().as_u16(), content_type, json)
}

/// The one error shape: `{"error": {"code", "message", "parameter", "event_id"}}`, all four
/// keys, a snake_case code and a sentence.
fn assert_error_shape(what: &str, status: u16, content_type: &str, body: &Value) {
    assert!(status >= 400, "{what}: {status} {body}");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
    let outer: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(outer, ["error"], "{what}: {body}");
    let error = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: {body}"));
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "event_id", "message", "parameter"],
        "{what}: {body}"
    );
    let code = error["code"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{what}: code {code:?}"
    );
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.len() > 10, "{what}: message {message:?}");
    assert!(
        error["parameter"].is_null() || error["parameter"].is_string(),
        "{what}"
    );
    assert!(
        error["event_id"].is_null() || error["event_id"].is_string(),
        "{what}"
    );
}

#[test]
fn every_v1_error_has_the_one_shape() {
    let server = serve();
    let document = server.json("/v1/openapi.json");
    let unknown_event = "01JDQ0000000000000000000099";
    let mut walked = 0;
    for (route, _) in covenant_http::v1_route_table() {
        let concrete = route
            .replace("{id}/feed", &format!("{DCMS}/feed"))
            .replace("/actors/{id}", &format!("/actors/{DCMS}"))
            .replace("{id}", "dcms-sport")
            .replace("{theme}", "community")
            .replace("{event_id}", unknown_event);
        // A bad request for each route: an unknown parameter where it takes parameters, an
        // unknown event where it takes an event id, a method it does not take otherwise.
        let (method, path, expected_code) = match route {
            "/v1/openapi.json" => ("POST", concrete.clone(), "method_not_allowed"),
            "/v1/events" => ("POST", concrete.clone(), "read_only"),
            _ if route.contains("{event_id}") => ("GET", concrete.clone(), "not_found"),
            _ => ("GET", format!("{concrete}?nonsense=1"), "bad_parameter"),
        };
        let (status, content_type, body) = send(&server, method, &path);
        assert_error_shape(&format!("{method} {path}"), status, &content_type, &body);
        assert_eq!(
            body["error"]["code"], expected_code,
            "{method} {path}: {body}"
        );
        if expected_code == "bad_parameter" {
            assert_eq!(body["error"]["parameter"], "nonsense", "{path}");
        }
        if route == "/v1/events/{event_id}" {
            assert_eq!(body["error"]["event_id"], unknown_event, "{body}");
        }
        if expected_code != "method_not_allowed" {
            let documented =
                &document["paths"][route][method.to_lowercase()]["responses"][status.to_string()];
            assert!(
                documented.is_object(),
                "{method} {route} answered {status}, which openapi.json does not list"
            );
        }
        walked += 1;
    }
    assert_eq!(walked, document["paths"].as_object().unwrap().len());
    // Whatever else goes wrong under /v1 has the shape too: an unknown route, a method a route
    // does not take, a path the router cannot read.
    for (method, path, expected_code) in [
        ("GET", "/v1/nothing-here", "not_found"),
        ("GET", "/v1", "not_found"),
        ("DELETE", "/v1/actors", "method_not_allowed"),
        ("GET", "/v1/events", "method_not_allowed"),
        ("GET", "/v1/actors/%FF%FE", "bad_request"),
    ] {
        let (status, content_type, body) = send(&server, method, path);
        assert_error_shape(&format!("{method} {path}"), status, &content_type, &body);
        assert_eq!(
            body["error"]["code"], expected_code,
            "{method} {path}: {body}"
        );
    }
    // Outside /v1, pages keep their own answers.
    let page = server.get("/no-such-page");
    assert_eq!(page.status, 404);
    assert!(
        !page.content_type.starts_with("application/json"),
        "{}",
        page.content_type
    );
    // A server without projections: 503 in the same shape.
    let bare = serve_configured(ServerLimits::default(), false);
    let (status, content_type, body) = send(&bare, "GET", "/v1/actors");
    assert_error_shape(
        "GET /v1/actors without projections",
        status,
        &content_type,
        &body,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable"))
    );
}

/// One row of docs/API.md's route table.
#[derive(Debug, PartialEq)]
struct DocumentedRoute {
    parameters: std::collections::BTreeSet<String>,
    request_types: std::collections::BTreeSet<String>,
    answer_types: std::collections::BTreeSet<String>,
    statuses: std::collections::BTreeSet<String>,
}

/// The backticked words of a table cell; media types (with a `/`) or names (without).
fn backticked(cell: &str, media_types: bool) -> std::collections::BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| word.contains('/') == media_types)
        .map(str::to_owned)
        .collect()
}

/// docs/API.md's route table, by (method, path).
fn api_md_routes() -> std::collections::BTreeMap<(String, String), DocumentedRoute> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md"))
        .expect("docs/API.md");
    let mut routes = std::collections::BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let [method, path, parameters, request, answers] = cells[..] else {
            continue;
        };
        if !path.starts_with("`/v1") {
            continue;
        }
        let statuses = answers
            .split(|c: char| !c.is_ascii_digit())
            .filter(|word| word.len() == 3 && ('1'..='5').contains(&word.chars().next().unwrap()))
            .map(str::to_owned)
            .collect();
        let route = DocumentedRoute {
            parameters: backticked(parameters, false),
            request_types: backticked(request, true),
            answer_types: backticked(answers, true),
            statuses,
        };
        let key = (
            method.trim_matches('`').to_owned(),
            path.trim_matches('`').to_owned(),
        );
        assert!(
            routes.insert(key.clone(), route).is_none(),
            "{key:?} twice in API.md"
        );
    }
    routes
}

#[test]
fn api_md_lists_exactly_the_routes_of_the_openapi_document() {
    let document: Value = serde_json::from_str(&covenant_http::query_api::openapi_json()).unwrap();
    let strings = |value: &Value| -> std::collections::BTreeSet<String> {
        value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut documented = std::collections::BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            let responses = operation["responses"].as_object().unwrap();
            let answer_types = responses
                .values()
                .flat_map(|response| strings(&response["content"]))
                .collect();
            documented.insert(
                (method.to_uppercase(), path.clone()),
                DocumentedRoute {
                    parameters,
                    request_types: strings(&operation["requestBody"]["content"]),
                    answer_types,
                    statuses: responses.keys().cloned().collect(),
                },
            );
        }
    }
    let in_api_md = api_md_routes();
    let keys = |map: &std::collections::BTreeMap<(String, String), DocumentedRoute>| {
        map.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&in_api_md),
        keys(&documented),
        "docs/API.md's route table against openapi.json"
    );
    for (route, openapi) in &documented {
        assert_eq!(
            &in_api_md[route], openapi,
            "{route:?}: docs/API.md (left) against openapi.json"
        );
    }
    assert!(documented.len() >= 22, "{}", documented.len());
}
