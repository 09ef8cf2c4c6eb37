//! `/v2/workflows/{id}/members`: with authentication off (mistral-rs does not authenticate)
//! every member call gets upstream's 400, in pecan's `{"faultstring"}` shape.

mod common;

use common::sqlite;
use reqwest::Method;

#[test]
fn member_calls_answer_that_sharing_needs_authentication() {
    let s = sqlite();
    let wf = "635bba10-715f-4988-899e-fba9a3cd52f4";
    for (m, path) in [
        (Method::GET, format!("/v2/workflows/{wf}/members")),
        (Method::POST, format!("/v2/workflows/{wf}/members")),
        (Method::GET, format!("/v2/workflows/{wf}/members/p2")),
        (Method::PUT, format!("/v2/workflows/{wf}/members/p2")),
        (Method::DELETE, format!("/v2/workflows/{wf}/members/p2")),
    ] {
        let r = s.req(m.clone(), &path).send().unwrap();
        assert_eq!(r.status().as_u16(), 400, "{m} {path}");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(
            r.text().unwrap(),
            "{\"faultstring\": \"Resource sharing feature can only be supported with authentication enabled.\"}"
        );
    }
    let r = s.get("/v2/workflows/wf_name/members");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().unwrap(),
        "{\"faultstring\": \"Only support UUID as resource identifier in resource sharing feature.\"}"
    );
}
