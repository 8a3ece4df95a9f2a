//! The pages in a real browser: headless Debian chromium over WebDriver, against the embedded
//! ledger and HTTP server loaded with the demo data through `POST /v1/events`.
//!
//! Each test starts its own server and browser. Screenshots of the home, actor and commitment
//! pages go to target/screenshots/ for people to look at.

mod chrome;
mod embed;
mod report;
mod server;

use chrome::{Chrome, DESKTOP, PHONE};
use covenant_core::bundle::ProofBundle;
use covenant_core::event::SEED_THEMES;
use covenant_store::LogReader;
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};
use server::Server;
use std::path::PathBuf;

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// Save a screenshot of the whole page (the window grows to the page's height first).
async fn save_full_page(chrome: &Chrome, name: &str, width: u32) {
    chrome
        .client
        .set_window_size(width, DESKTOP.height)
        .await
        .expect("resize the window");
    let height = run(chrome, "return document.documentElement.scrollHeight")
        .await
        .as_u64()
        .unwrap_or(900);
    chrome
        .client
        .set_window_size(width, height.clamp(600, 8000) as u32)
        .await
        .expect("resize the window");
    let png = chrome.client.screenshot().await.expect("take a screenshot");
    std::fs::write(screenshot_dir().join(name), png).expect("save the screenshot");
}

async fn run(chrome: &Chrome, script: &str) -> Value {
    chrome
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|error| panic!("run {script:?}: {error}"))
}

async fn text_of(chrome: &Chrome, css: &str) -> String {
    chrome
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element {css}: {error}"))
        .text()
        .await
        .expect("read the text")
}

async fn attribute_of_all(chrome: &Chrome, css: &str, attribute: &str) -> Vec<String> {
    let mut values = vec![];
    for element in chrome
        .client
        .find_all(Locator::Css(css))
        .await
        .expect("find elements")
    {
        values.extend(element.attr(attribute).await.expect("read attribute"));
    }
    values
}

/// The number shown under a headline figure's label, commas removed.
async fn figure(chrome: &Chrome, label: &str) -> i64 {
    let script = format!(
        "for (const item of document.querySelectorAll('.figure')) {{ \
           if (item.querySelector('dt').textContent.trim() === {label:?}) \
             return item.querySelector('dd').textContent; }} return null;"
    );
    let text = run(chrome, &script).await;
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("no figure labelled {label}"));
    text.replace(',', "")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("figure {label} is {text:?}, not a whole number"))
}

/// Fetch `path` from inside the page (same origin), as the reader's browser would.
async fn fetch_json(chrome: &Chrome, path: &str) -> Value {
    chrome
        .client
        .execute_async(
            "const [path, done] = arguments; \
             fetch(path).then(r => r.json().then(body => done({status: r.status, body})))",
            vec![json!(path)],
        )
        .await
        .unwrap_or_else(|error| panic!("fetch {path}: {error}"))
}

/// Wait up to two seconds for a loaded page whose address has `text` in its query.
async fn wait_for_query(chrome: &Chrome, text: &str) -> bool {
    for _ in 0..40 {
        let url = chrome.client.current_url().await.expect("current url");
        let loaded = run(chrome, "return document.readyState").await == "complete";
        if url.query().unwrap_or("").contains(text) && loaded {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// `1234` as the pages write it, `1,234`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn counts_of(api: &Value) -> &Value {
    &api["counts"]
}

async fn assert_no_horizontal_scroll(chrome: &Chrome, path: &str) {
    let widths = run(
        chrome,
        "return [document.documentElement.scrollWidth, window.innerWidth]",
    )
    .await;
    let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(
        scroll <= inner,
        "{path} scrolls sideways at {inner}px: the page is {scroll}px wide"
    );
    // Nor does any table need scrolling inside its box.
    let cramped = run(
        chrome,
        "return [...document.querySelectorAll('.table-scroll')] \
           .filter(box => box.scrollWidth > box.clientWidth + 1) \
           .map(box => box.querySelector('table').className || 'table')",
    )
    .await;
    assert_eq!(cramped, json!([]), "{path} has tables wider than a phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_goes_from_the_home_page_to_a_proof() {
    let server = Server::with_demo().await;
    let chrome = Chrome::start(DESKTOP).await;
    let client = &chrome.client;

    // Home: the headline figures are the overall scorecard's.
    client.goto(&server.url("/")).await.expect("load home");
    assert_eq!(text_of(&chrome, "h1").await, "Promised versus done");
    let overall = server.json("/v1/scorecard").await;
    assert_eq!(
        figure(&chrome, "Commitments").await,
        overall["commitments"].as_i64().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Delivered").await,
        counts_of(&overall)["delivered"].as_i64().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Overdue").await,
        counts_of(&overall)["overdue"].as_i64().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Goalposts moved").await,
        overall["flags"]["goalposts_moved"].as_i64().unwrap()
    );
    // The departments' league table is the API's, in the same order.
    let league = server
        .json("/v1/league?kind=department&min_resolved=2")
        .await;
    let ranked: Vec<String> = league["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["actor"].as_str().unwrap().to_owned())
        .collect();
    assert!(!ranked.is_empty(), "the demo ranks some departments");
    let ranked: Vec<String> = ranked.into_iter().take(15).collect();
    let shown = attribute_of_all(
        &chrome,
        "#departments-heading ~ .table-scroll tr[data-actor]",
        "data-actor",
    )
    .await;
    assert_eq!(shown, ranked);
    // Every link to the league's data asks for the threshold the page ranks by.
    let league_links = run(
        &chrome,
        "return [...document.querySelectorAll('a[href*=\"/v1/league.csv\"]')].map(a => a.getAttribute('href'))",
    )
    .await;
    let league_links = league_links.as_array().unwrap();
    assert!(!league_links.is_empty(), "{league_links:?}");
    assert!(
        league_links
            .iter()
            .all(|href| href.as_str().unwrap().contains("min_resolved=2")),
        "{league_links:?}"
    );
    // Moved goalposts come most recently moved first.
    let moved_dates = run(
        &chrome,
        "return [...document.querySelectorAll('#goalposts-heading ~ ul .item-meta > span:first-child')] \
           .map(span => Date.parse(span.textContent.replace('Moved ', '')))",
    )
    .await;
    let moved_dates: Vec<i64> = moved_dates
        .as_array()
        .expect("moved dates")
        .iter()
        .map(|date| date.as_i64().expect("a date the browser can read"))
        .collect();
    assert!(!moved_dates.is_empty());
    assert!(
        moved_dates.windows(2).all(|pair| pair[0] >= pair[1]),
        "{moved_dates:?}"
    );
    let checkpoint = text_of(&chrome, "#verify .verify-line").await;
    assert_eq!(checkpoint, format!("covenant audit verify {}", server.base));
    save_full_page(&chrome, "home.png", DESKTOP.width).await;
    // The top of the page, as the README shows it.
    client
        .set_window_size(DESKTOP.width, 1300)
        .await
        .expect("resize the window");
    let png = client.screenshot().await.expect("take a screenshot");
    std::fs::write(screenshot_dir().join("home-top.png"), png).expect("save the screenshot");

    // To the top department's page.
    let top = &ranked[0];
    client
        .find(Locator::Css(&format!("tr[data-actor=\"{top}\"] a")))
        .await
        .expect("the top department's link")
        .click()
        .await
        .expect("follow it");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/actors/")
    );
    let scorecard = server.json(&format!("/v1/actors/{top}")).await;
    assert_eq!(
        text_of(&chrome, "h1").await,
        scorecard["actor"]["name"].as_str().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Commitments").await,
        scorecard["commitments"].as_i64().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Delivered").await,
        counts_of(&scorecard)["delivered"].as_i64().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Overdue").await,
        counts_of(&scorecard)["overdue"].as_i64().unwrap()
    );
    let listed = client
        .find_all(Locator::Css("ul.commitments > li"))
        .await
        .unwrap();
    assert_eq!(
        listed.len() as i64,
        scorecard["commitments"].as_i64().unwrap().min(50)
    );
    // The chart's text alternative is not rendered, so read it as screen readers do.
    let chart = run(
        &chrome,
        "return document.getElementById('actor-status-desc').textContent",
    )
    .await;
    let chart = chart.as_str().expect("the status chart has a description");
    assert!(
        chart.starts_with(&format!("{} commitments", scorecard["commitments"])),
        "{chart}"
    );
    save_full_page(&chrome, "actor.png", DESKTOP.width).await;

    // Filter by status with the plain form: only delivered commitments remain, as many as
    // the API lists.
    client
        .find(Locator::Css("#filter-status option[value=\"delivered\"]"))
        .await
        .expect("the delivered option")
        .click()
        .await
        .expect("choose it");
    // With scripts on, choosing applies the filter at once; the Apply button is the way
    // without them.
    if !wait_for_query(&chrome, "status=delivered").await {
        client
            .find(Locator::Css("form.filters button[type=submit]"))
            .await
            .expect("the apply button")
            .click()
            .await
            .expect("apply the filter");
    }
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or("").contains("status=delivered"),
        "{url}"
    );
    let statuses = attribute_of_all(&chrome, "ul.commitments > li", "data-status").await;
    let delivered = server
        .json(&format!("/v1/commitments?actor={top}&status=delivered"))
        .await;
    assert_eq!(statuses.len(), delivered["items"].as_array().unwrap().len());
    assert!(
        !statuses.is_empty() && statuses.iter().all(|status| status == "delivered"),
        "{statuses:?}"
    );

    // To a commitment: every event in its history is on the page with its sequence number.
    client
        .find(Locator::Css("ul.commitments > li a.item-title"))
        .await
        .expect("a commitment link")
        .click()
        .await
        .expect("follow it");
    let commitment_id = client
        .current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/commitments/")
        .to_owned();
    let history = server
        .json(&format!("/v1/commitments/{commitment_id}/history"))
        .await;
    let api_seqs: Vec<String> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["seq"].to_string())
        .collect();
    let page_seqs = attribute_of_all(&chrome, "[data-seq]", "data-seq").await;
    let mut sorted_page = page_seqs.clone();
    sorted_page.sort_by_key(|seq| seq.parse::<u64>().unwrap());
    assert_eq!(sorted_page, api_seqs);
    assert!(text_of(&chrome, ".status-line .badge").await.len() > 3);
    save_full_page(&chrome, "commitment.png", DESKTOP.width).await;

    // The verify link of the first event returns its proof bundle.
    let verify = client
        .find(Locator::Css("[data-seq] a.verify"))
        .await
        .expect("a verify link")
        .attr("href")
        .await
        .unwrap()
        .expect("the verify link has an address");
    let answer = fetch_json(&chrome, &verify).await;
    assert_eq!(answer["status"], 200, "{answer}");
    let bundle: ProofBundle =
        serde_json::from_value(answer["body"].clone()).expect("the answer is a proof bundle");
    let verified = bundle
        .verify(&server.verifier_key)
        .expect("the bundle checks against the log's key");
    let first_event = &history["events"][0];
    assert_eq!(
        verified.event.event_id(),
        first_event["event_id"].as_str().unwrap()
    );
    assert_eq!(json!(bundle.seq), first_event["seq"]);

    // A commitment whose goalposts moved shows the old deadline or target struck through
    // beside the new one.
    client.goto(&server.url("/")).await.unwrap();
    // (A scope change has no old value to strike: take one whose deadline or target moved.)
    client
        .find(Locator::Css(
            "#goalposts-heading ~ ul li:has(.item-meta del) a.item-title",
        ))
        .await
        .expect("a commitment with a moved deadline or target")
        .click()
        .await
        .expect("follow it");
    let moved = text_of(&chrome, ".terms").await;
    let struck = text_of(&chrome, ".terms del").await;
    let inserted = text_of(&chrome, ".terms ins").await;
    assert!(
        !struck.is_empty() && !inserted.is_empty() && struck != inserted,
        "{moved}"
    );
    save_full_page(&chrome, "commitment-amended.png", DESKTOP.width).await;
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_as_of_shows_the_log_as_it_stood_and_links_keep_it() {
    let server = Server::with_demo().await;
    let chrome = Chrome::start(DESKTOP).await;
    let client = &chrome.client;
    let size = server.store.head().size;
    let earlier = size * 2 / 3;
    let league = server
        .json("/v1/league?kind=department&min_resolved=1")
        .await;
    let actor = league["rows"][0]["actor"].as_str().unwrap().to_owned();

    client
        .goto(&server.url(&format!("/actors/{actor}")))
        .await
        .expect("load the actor");
    // The box suggests the signed checkpoints, newest (all of the log) first.
    let suggested = attribute_of_all(&chrome, "#as-of-checkpoints option", "value").await;
    assert_eq!(suggested.first(), Some(&size.to_string()), "{suggested:?}");
    let as_of = client
        .find(Locator::Id("as_of"))
        .await
        .expect("the as-of box");
    as_of
        .send_keys(&earlier.to_string())
        .await
        .expect("type a size");
    as_of
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("submit");
    let url = client.current_url().await.unwrap();
    assert!(
        url.query()
            .unwrap_or("")
            .contains(&format!("as_of={earlier}")),
        "{url}"
    );
    let showing = text_of(&chrome, ".as-of-state").await;
    let then = server
        .json(&format!("/v1/actors/{actor}?as_of={earlier}"))
        .await;
    let now = server.json(&format!("/v1/actors/{actor}")).await;
    assert!(showing.contains("as it stood at"), "{showing}");
    assert!(
        showing.contains(&format!("{} entries", thousands(earlier))),
        "{showing}"
    );
    assert_eq!(
        figure(&chrome, "Commitments").await,
        then["commitments"].as_i64().unwrap()
    );
    assert_eq!(
        figure(&chrome, "Delivered").await,
        counts_of(&then)["delivered"].as_i64().unwrap()
    );
    assert_ne!(
        then["counts"], now["counts"],
        "the demo changes after two thirds of its log"
    );

    // Links to commitments, themes and the data keep the moment.
    for href in attribute_of_all(
        &chrome,
        "main a[href^='/commitments/'], .formats a:not([type*=atom])",
        "href",
    )
    .await
    {
        assert!(
            href.contains(&format!("as_of={earlier}")),
            "{href} forgets the moment"
        );
    }
    // The JSON link answers as of the same moment.
    let json_link = client
        .find(Locator::Css(".formats a[type='application/json']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let linked = fetch_json(&chrome, &json_link).await;
    assert_eq!(linked["body"]["as_of"]["size"], earlier);

    // "Latest" goes back to now.
    client
        .find(Locator::LinkText("Latest"))
        .await
        .expect("the latest link")
        .click()
        .await
        .unwrap();
    assert_eq!(
        figure(&chrome, "Delivered").await,
        counts_of(&now)["delivered"].as_i64().unwrap()
    );

    // A bad moment is a clear 400 page, not a crash.
    client
        .goto(&server.url("/?as_of=last+tuesday"))
        .await
        .unwrap();
    assert_eq!(
        text_of(&chrome, "h1").await,
        "That request could not be answered"
    );
    assert!(text_of(&chrome, ".lede").await.contains("\"last tuesday\""));
    assert_eq!(server.status("/?as_of=last+tuesday").await, 400);
    assert_eq!(server.status(&format!("/?as_of={}", size + 1)).await, 400);
    assert_eq!(
        server.status(&format!("/actors/{actor}?status=kept")).await,
        400
    );
    assert_eq!(server.status("/actors/nobody").await, 404);
    assert_eq!(server.status("/commitments/nothing").await, 404);
    assert_eq!(server.status("/themes/not-a-theme").await, 404);
    assert_eq!(
        server.status("/assets/site-0000000000000000.css").await,
        404
    );
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_theme_and_successor_pages_answer_like_the_api() {
    let server = Server::with_demo().await;
    let chrome = Chrome::start(DESKTOP).await;
    let client = &chrome.client;

    client
        .goto(&server.url("/search"))
        .await
        .expect("load search");
    let words = "report";
    let search_box = client.find(Locator::Id("q")).await.expect("the search box");
    search_box.send_keys(words).await.unwrap();
    search_box.send_keys(&Key::Enter.to_string()).await.unwrap();
    let api = server.json(&format!("/v1/commitments?q={words}")).await;
    let expected: Vec<String> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| format!("/commitments/{}", item["id"].as_str().unwrap()))
        .collect();
    assert!(
        !expected.is_empty(),
        "the demo has commitments about a report"
    );
    let shown = attribute_of_all(&chrome, "ul.commitments a.item-title", "href").await;
    assert_eq!(shown, expected);

    save_full_page(&chrome, "search.png", DESKTOP.width).await;

    // Narrowing by a flag lists what the API lists.
    client
        .goto(&server.url("/search?flag=goalposts_moved"))
        .await
        .unwrap();
    let api = server.json("/v1/commitments?flag=goalposts_moved").await;
    let expected: Vec<String> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| format!("/commitments/{}", item["id"].as_str().unwrap()))
        .collect();
    assert!(!expected.is_empty(), "the demo moves some goalposts");
    let shown = attribute_of_all(&chrome, "ul.commitments a.item-title", "href").await;
    assert_eq!(shown, expected);

    for theme in SEED_THEMES {
        client
            .goto(&server.url(&format!("/themes/{theme}")))
            .await
            .unwrap();
        let heading = text_of(&chrome, "h1").await;
        assert_eq!(heading.to_lowercase(), theme, "the {theme} page");
        let api = server
            .json(&format!("/v1/commitments?theme={theme}&limit=50"))
            .await;
        let listed = client
            .find_all(Locator::Css("ul.commitments > li"))
            .await
            .unwrap();
        assert_eq!(
            listed.len(),
            api["items"].as_array().unwrap().len(),
            "{theme}"
        );
    }
    save_full_page(&chrome, "theme.png", DESKTOP.width).await;

    // A body that was renamed or merged links to its successor, and the successor back.
    let actors = server.json("/v1/actors?limit=500").await;
    let predecessor = actors["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|actor| !actor["successors"].as_array().unwrap().is_empty())
        .expect("the demo has a machinery-of-government change");
    let (old_id, new_id) = (
        predecessor["id"].as_str().unwrap(),
        predecessor["successors"][0].as_str().unwrap(),
    );
    client
        .goto(&server.url(&format!("/actors/{old_id}")))
        .await
        .unwrap();
    client
        .find(Locator::Css("#succession-heading ~ p a[rel=next]"))
        .await
        .expect("a link to the successor")
        .click()
        .await
        .unwrap();
    assert_eq!(
        client.current_url().await.unwrap().path(),
        format!("/actors/{new_id}")
    );
    let back = attribute_of_all(&chrome, "#succession-heading ~ p a[rel=prev]", "href").await;
    assert!(back.contains(&format!("/actors/{old_id}")), "{back:?}");
    save_full_page(&chrome, "actor-successor.png", DESKTOP.width).await;
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_commitments_read_right_and_every_figure_agrees_with_the_api() {
    let server = Server::with_demo().await;
    let chrome = Chrome::start(DESKTOP).await;
    let client = &chrome.client;

    // A milestone one body answers for and four deliver, with two targets, one moved.
    let id = "co-homelessness-milestone";
    client
        .goto(&server.url(&format!("/commitments/{id}")))
        .await
        .unwrap();
    let api = server.json(&format!("/v1/commitments/{id}")).await;
    let partners = attribute_of_all(&chrome, ".delivery-partners a", "href").await;
    assert_eq!(partners.len(), 4, "{partners:?}");
    let rows = client
        .find_all(Locator::Css("table.indicators tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let moved = text_of(
        &chrome,
        "tr[data-indicator=temporary-accommodation] td.target",
    )
    .await;
    assert!(
        moved.contains("at most 100,000 households")
            && moved.contains("at most 110,000 households"),
        "the moved target shows before and after: {moved}"
    );
    let missed = text_of(&chrome, "tr[data-indicator=rough-sleeping]").await;
    assert!(
        missed.contains("2,640 people")
            && missed.contains("not met")
            && missed.contains("none given")
            && !missed.contains(" 0 people"),
        "{missed}"
    );
    assert_eq!(api["status"], "partly_delivered");
    assert_eq!(api["claimed_status"], "delivered");
    let status_line = text_of(&chrome, ".status-line").await;
    assert!(status_line.contains("Partly delivered"), "{status_line}");
    assert!(text_of(&chrome, ".claimed").await.contains("Delivered"));
    assert!(
        text_of(&chrome, ".assessed-verdict")
            .await
            .contains("Partly delivered")
    );
    let changed_words = text_of(&chrome, ".promise-text.current").await;
    assert!(
        changed_words.contains("110,000") && !changed_words.contains("100,000110,000"),
        "word boundaries kept: {changed_words}"
    );
    save_full_page(&chrome, "commitment-shared.png", DESKTOP.width).await;

    // The outcome's entry number leads to a proof page that says what the event says.
    let outcome_seq = api["outcome"]["seq"].as_u64().unwrap();
    client
        .find(Locator::Css("a[title^='Entry hash'][href^='/proofs/']"))
        .await
        .expect("an entry link to a proof page");
    let outcome_id = api["outcome"]["event_id"].as_str().unwrap();
    client
        .goto(&server.url(&format!("/proofs/{outcome_id}")))
        .await
        .unwrap();
    let says = text_of(&chrome, ".event-facts").await;
    for expected in [
        "outcome_reported",
        "delivered",
        "temporary-accommodation = 108300 on 2026-03-31",
        "rough-sleeping = 2640 on 2026-03-31",
    ] {
        assert!(says.contains(expected), "{expected:?} in {says}");
    }
    let covered = text_of(&chrome, ".covered").await;
    assert!(
        covered.contains(&format!("Entry #{outcome_seq}")),
        "{covered}"
    );
    let bundle = attribute_of_all(&chrome, "a.verify", "href").await;
    assert_eq!(bundle, [format!("/v1/proof/bundle/{outcome_id}")]);

    // A delivery partner sees it on its page, marked, and its figures do not count it.
    let partner = "GB-GOV-7";
    client
        .goto(&server.url(&format!("/actors/{partner}")))
        .await
        .unwrap();
    let marked = run(
        &chrome,
        &format!(
            "return [...document.querySelectorAll('ul.commitments li')] \
               .filter(li => li.querySelector('a.item-title').getAttribute('href').includes('{id}')) \
               .map(li => li.querySelector('.partner-mark') !== null)"
        ),
    )
    .await;
    assert_eq!(marked, json!([true]), "listed once, marked as partner");
    let mark = text_of(&chrome, ".partner-mark").await;
    assert!(
        mark.contains("answerable: Cabinet Office"),
        "the owner by name: {mark}"
    );

    // A 2024 pledge loaded in 2026 and adopted by a department.
    client
        .goto(&server.url("/commitments/party-6500-teachers"))
        .await
        .unwrap();
    assert!(
        text_of(&chrome, ".adoption")
            .await
            .contains("Department for Education")
    );
    assert!(
        text_of(&chrome, "strong.backfilled")
            .await
            .contains("long after it was made")
    );
    let as_of_2024 = server
        .json("/v1/commitments/party-6500-teachers?as_of=2024-12-04")
        .await;
    assert_eq!(as_of_2024["owner"], "GB-GOV-5", "adopted on 17 July 2024");
    // Both axes on a page: the world on a date, as a given number of entries recorded it.
    let size = as_of_2024["as_of"]["size"].as_u64().unwrap();
    client
        .goto(&server.url(&format!(
            "/commitments/party-6500-teachers?as_of=2024-12-04&recorded={size}"
        )))
        .await
        .unwrap();
    let showing = text_of(&chrome, ".as-of-state").await;
    let expected = format!(
        "the world on 4 Dec 2024, as recorded by the log's first {} entries",
        thousands(size)
    );
    assert!(showing.contains(&expected), "{showing}");
    // As recorded before the pledge was loaded, the same date shows nothing.
    client
        .goto(&server.url("/commitments/party-6500-teachers?as_of=2024-12-04&recorded=1"))
        .await
        .unwrap();
    assert!(text_of(&chrome, "h1").await.contains("Not found"));

    // Every figure on an actor page says what the API says, the chart's words included.
    for actor in ["GB-GOV-3", "GB-GOV-5", "GB-GOV-7", "GB-GOV-12"] {
        client
            .goto(&server.url(&format!("/actors/{actor}")))
            .await
            .unwrap();
        let api = server.json(&format!("/v1/actors/{actor}")).await;
        let counts = counts_of(&api);
        assert_eq!(
            figure(&chrome, "Commitments").await,
            api["commitments"].as_i64().unwrap(),
            "{actor}"
        );
        assert_eq!(
            figure(&chrome, "Delivered").await,
            counts["delivered"].as_i64().unwrap(),
            "{actor}"
        );
        let chart = run(
            &chrome,
            "return document.getElementById('over-time-desc').textContent",
        )
        .await;
        let chart = chart.as_str().unwrap_or_default().to_owned();
        let expected = format!(
            "By the end, {} commitments made and {} delivered",
            api["commitments"], counts["delivered"]
        );
        assert!(
            chart.starts_with(&expected),
            "{actor}: {chart} should start with {expected}"
        );
    }
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone_and_work_from_the_keyboard() {
    let server = Server::with_demo().await;
    let chrome = Chrome::start(PHONE).await;
    let client = &chrome.client;
    let league = server
        .json("/v1/league?kind=department&min_resolved=1")
        .await;
    let actor = league["rows"][0]["actor"].as_str().unwrap().to_owned();
    let commitments = server
        .json(&format!("/v1/commitments?actor={actor}&limit=1"))
        .await;
    let commitment = commitments["items"][0]["id"].as_str().unwrap().to_owned();

    for (path, screenshot) in [
        ("/".to_owned(), None),
        (format!("/actors/{actor}"), Some("actor-phone.png")),
        (
            format!("/commitments/{commitment}"),
            Some("commitment-phone.png"),
        ),
        ("/search?q=report".to_owned(), None),
        ("/themes".to_owned(), Some("themes-phone.png")),
        ("/themes/community".to_owned(), None),
        (
            "/actors/GB-GOV-23/reports/2025".to_owned(),
            Some("report-phone.png"),
        ),
    ] {
        client.goto(&server.url(&path)).await.unwrap();
        let width = run(&chrome, "return window.innerWidth").await;
        assert_eq!(width, 375, "the phone viewport");
        assert_no_horizontal_scroll(&chrome, &path).await;
        if let Some(name) = screenshot {
            let png = client.screenshot().await.expect("take a screenshot");
            std::fs::write(screenshot_dir().join(name), png).expect("save the screenshot");
        }
    }
    client.goto(&server.url("/")).await.unwrap();
    let png = client.screenshot().await.expect("take a screenshot");
    std::fs::write(screenshot_dir().join("home-phone.png"), png).expect("save the screenshot");

    // Keyboard: the first Tab reaches the skip link, Enter jumps to the content, and the
    // next Tab and Enter follow the first link there.
    client.goto(&server.url("/")).await.unwrap();
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&Key::Tab.to_string()).await.unwrap();
    let focused = client.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    focused.send_keys(&Key::Enter.to_string()).await.unwrap();
    let focused = client.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("main"));
    focused.send_keys(&Key::Tab.to_string()).await.unwrap();
    let link = client.active_element().await.unwrap();
    let target = link.attr("href").await.unwrap().expect("a focused link");
    let outline = run(
        &chrome,
        "return getComputedStyle(document.activeElement).backgroundColor",
    )
    .await;
    assert_eq!(
        outline, "rgb(255, 221, 0)",
        "the focused link is highlighted"
    );
    link.send_keys(&Key::Enter.to_string()).await.unwrap();
    let url = client.current_url().await.unwrap();
    assert_eq!(url.as_str(), server.url(&target));
    chrome.close().await;
}
