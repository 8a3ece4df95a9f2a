//! The annual report page in the browser: its figures are the report JSON's, each links to the
//! events it counts, and the print stylesheet turns it into a document.

use crate::chrome::{Chrome, DESKTOP};
use crate::server::Server;
use crate::{run, save_full_page, text_of};
use fantoccini::Locator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_shows_every_figure_and_each_links_to_what_it_counts() {
    let server = Server::with_demo().await;
    let chrome = Chrome::start(DESKTOP).await;
    let client = &chrome.client;
    let path = "/actors/GB-GOV-23/reports/2025";
    let report = server.json(&format!("{path}/report.json")).await;

    // A reader finds the report from the department's page.
    client
        .goto(&server.url("/actors/GB-GOV-23"))
        .await
        .expect("load the actor page");
    client
        .find(Locator::Css(&format!(".report-links a[href='{path}']")))
        .await
        .expect("the actor page links to its 2025 report")
        .click()
        .await
        .expect("follow the link");
    assert_eq!(
        text_of(&chrome, "h1").await,
        "Department for Culture, Media and Sport"
    );
    assert!(
        text_of(&chrome, ".report-checkpoint")
            .await
            .contains(report["checkpoint"]["root_hash"].as_str().unwrap())
    );
    // The figures table, cell by cell, is the JSON's: this year and the year before.
    let rows = run(
        &chrome,
        "return [...document.querySelectorAll('.report-figures tbody tr')] \
           .map(row => [...row.children].map(cell => cell.textContent.trim()))",
    )
    .await;
    let figures = report["current"]["figures"].as_array().unwrap();
    assert_eq!(rows.as_array().unwrap().len(), figures.len());
    assert_eq!(rows[0][0], "Commitments made");
    assert_eq!(rows[0][1], figures[0]["value"].to_string());
    assert_eq!(
        rows[0][2],
        report["previous"]["figures"][0]["value"].to_string()
    );
    assert_eq!(rows[0][3], "+1");

    // Following a figure lands on the list of the events it counts, each linking to its proof.
    client
        .find(Locator::Css("a[href='#figure-disputed']"))
        .await
        .expect("the disputed figure links to its events")
        .click()
        .await
        .expect("follow the link");
    let target = run(&chrome, "return document.querySelector(':target')?.id").await;
    assert_eq!(target, json!("figure-disputed"));
    let counted = run(
        &chrome,
        "return [...document.querySelectorAll('#figure-disputed li a[href^=\"/proofs/\"]')] \
           .map(link => link.textContent.trim())",
    )
    .await;
    let expected: Vec<_> = figures
        .iter()
        .find(|figure| figure["name"] == "disputed")
        .unwrap()["counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event_id"].clone())
        .collect();
    assert_eq!(counted, json!(expected));
    let proof = client
        .find(Locator::Css("#figure-disputed li a[href^='/proofs/']"))
        .await
        .unwrap();
    proof.click().await.unwrap();
    assert!(text_of(&chrome, "h1").await.starts_with("What event"));

    // For print: a stylesheet rule starts the appendix of counted events on a new page and
    // hides the site's navigation.
    client.goto(&server.url(path)).await.unwrap();
    let print_rules = run(
        &chrome,
        "return [...document.styleSheets].flatMap(sheet => [...sheet.cssRules]) \
           .filter(rule => rule.media && rule.media.mediaText === 'print') \
           .flatMap(rule => [...rule.cssRules].map(inner => inner.cssText))",
    )
    .await;
    let print_rules: Vec<String> = serde_json::from_value(print_rules).unwrap();
    assert!(
        print_rules
            .iter()
            .any(|rule| rule.contains(".report-appendix") && rule.contains("break-before: page")),
        "{print_rules:?}"
    );
    assert!(
        print_rules
            .iter()
            .any(|rule| rule.contains(".site-header") && rule.contains("display: none")),
        "{print_rules:?}"
    );
    save_full_page(&chrome, "report.png", DESKTOP.width).await;
    chrome.close().await;
}
