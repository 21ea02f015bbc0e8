//! The pages, as a browser meets them: `/cases` sends a stranger to `/login`; a known token
//! signs in with an `HttpOnly`, `SameSite=Strict` session cookie through a form that carries an
//! anti-forgery value; the case list shows the
//! state's cases, in English or French; other roles are turned away.

use reqwest::redirect::Policy;

use crate::support::{DIPLOMAT, GB_CASEWORKER, States, readmission_request};

const FORM: &str = "application/x-www-form-urlencoded";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Opens the sign-in form: its anti-forgery cookie (`name=value`) and the form's value.
async fn form(states: &States) -> (String, String) {
    let response = browser()
        .get(states.url("GB", "/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    let html = response.text().await.unwrap();
    let value = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (pair, value)
}

/// Posts the sign-in form with `token`, the form's `cookie` and anti-forgery `value`.
async fn post_login(states: &States, token: &str, cookie: &str, value: &str) -> reqwest::Response {
    browser()
        .post(states.url("GB", "/login"))
        .header("content-type", FORM)
        .header("cookie", cookie)
        .body(format!("token={token}&lang=en&csrf={value}"))
        .send()
        .await
        .unwrap()
}

/// Signs in with `token` and returns the session cookie (`name=value`) and its attributes.
async fn sign_in(states: &States, token: &str) -> (String, String) {
    let (cookie, value) = form(states).await;
    let response = post_login(states, token, &cookie, &value).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/cases?lang=en");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("accord_session="), "{set_cookie}");
    (pair, set_cookie)
}

async fn page(states: &States, path: &str, cookie: &str, language: &str) -> (u16, String) {
    let response = browser()
        .get(states.url("GB", path))
        .header("cookie", cookie)
        .header("accept-language", language)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_caseworker_signs_in_and_sees_the_states_cases_in_english_or_french() {
    let states = States::start().await;
    let (status, opened) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "page-1",
            &readmission_request('a'),
        )
        .await;
    assert_eq!(status, 201);
    let case_ref = opened["readmission"]["case_ref"].as_str().unwrap();

    let stranger = browser()
        .get(states.url("GB", "/cases"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 303);
    assert!(
        stranger.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    let (cookie, attributes) = sign_in(&states, GB_CASEWORKER).await;
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(attributes.contains("SameSite=Strict"), "{attributes}");
    assert!(
        !attributes.contains(GB_CASEWORKER),
        "the cookie never carries the token"
    );

    let (status, english) = page(&states, "/cases?lang=en", &cookie, "fr-FR").await;
    assert_eq!(status, 200);
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert!(english.contains("Readmission cases — GB"), "{english}");
    assert!(english.contains(case_ref), "{english}");
    assert!(
        english.contains("UKFR_2025") && english.contains("requests"),
        "{english}"
    );

    let (status, french) = page(&states, "/cases", &cookie, "fr-FR,fr;q=0.9,en;q=0.8").await;
    assert_eq!(status, 200);
    assert!(french.contains("Dossiers de réadmission — GB"), "{french}");
    assert!(french.contains(case_ref), "{french}");
}

#[tokio::test]
async fn unknown_tokens_and_forged_forms_sign_nobody_in_and_a_diplomat_may_not_see_the_case_list() {
    let states = States::start().await;
    let (cookie, value) = form(&states).await;
    let refused = post_login(&states, "guess", &cookie, &value).await;
    assert_eq!(refused.status(), 401);
    assert!(
        !refused.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("accord_session")
    );
    let body = refused.text().await.unwrap();
    assert!(body.contains("This token is not known"), "{body}");

    let forged = post_login(&states, GB_CASEWORKER, "accord_csrf=mine", "mine-too").await;
    assert_eq!(
        forged.status(),
        403,
        "a form this gateway did not serve signs nobody in"
    );
    assert!(
        !forged.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("accord_session")
    );
    let without_cookie = post_login(&states, GB_CASEWORKER, "", &value).await;
    assert_eq!(without_cookie.status(), 403);

    let (cookie, _) = sign_in(&states, DIPLOMAT).await;
    let (status, body) = page(&states, "/cases", &cookie, "en").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("for the caseworkers of this state"), "{body}");

    let (status, _) = page(&states, "/cases", "accord_session=forged", "en").await;
    assert_eq!(
        status, 303,
        "a session the gateway never opened is no session"
    );
}
