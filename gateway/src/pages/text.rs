//! The pages' words in the pilot's two languages, and how a request chooses one: `?lang=`
//! first, then the first language of `Accept-Language` the gateway speaks, else English.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;

/// Every word a page shows, in one language.
#[derive(Debug)]
pub struct Text {
    /// The language's code, for `<html lang>` and links.
    pub lang: &'static str,
    /// "Sign in".
    pub sign_in: &'static str,
    /// The token field's label.
    pub token: &'static str,
    /// The answer to an unknown token.
    pub unknown_token: &'static str,
    /// The answer to a sign-in form not served by this gateway (or too old).
    pub form_expired: &'static str,
    /// The answer to a role that may not see a page.
    pub not_allowed: &'static str,
    /// The case list's title.
    pub cases_title: &'static str,
    /// What the case list shows.
    pub cases_intro: &'static str,
    /// An empty list.
    pub no_cases: &'static str,
    /// Column: the case.
    pub case: &'static str,
    /// Column: the other state.
    pub partner: &'static str,
    /// Column: this state's role.
    pub role: &'static str,
    /// Column: the regime.
    pub regime: &'static str,
    /// Column: the status.
    pub status: &'static str,
    /// Column: when submitted.
    pub submitted: &'static str,
    /// Column: when the reply is due.
    pub reply_due: &'static str,
    /// This state requested.
    pub requesting: &'static str,
    /// This state was asked.
    pub requested: &'static str,
    /// The pager's button.
    pub next_page: &'static str,
}

/// English.
pub const ENGLISH: Text = Text {
    lang: "en",
    sign_in: "Sign in",
    token: "Access token",
    unknown_token: "This token is not known to this gateway.",
    form_expired: "This form has expired: please sign in again.",
    not_allowed: "This page is for the caseworkers of this state.",
    cases_title: "Readmission cases",
    cases_intro: "The readmission cases this state's node holds, newest first.",
    no_cases: "No case yet.",
    case: "Case",
    partner: "Other state",
    role: "This state",
    regime: "Regime",
    status: "Status",
    submitted: "Submitted",
    reply_due: "Reply due",
    requesting: "requests",
    requested: "is asked",
    next_page: "Next page",
};

/// French.
pub const FRENCH: Text = Text {
    lang: "fr",
    sign_in: "Se connecter",
    token: "Jeton d'accès",
    unknown_token: "Ce jeton n'est pas connu de cette passerelle.",
    form_expired: "Ce formulaire a expiré : veuillez vous reconnecter.",
    not_allowed: "Cette page est réservée aux agents instructeurs de cet État.",
    cases_title: "Dossiers de réadmission",
    cases_intro: "Les dossiers de réadmission que tient le nœud de cet État, du plus récent au plus ancien.",
    no_cases: "Aucun dossier pour l'instant.",
    case: "Dossier",
    partner: "Autre État",
    role: "Cet État",
    regime: "Régime",
    status: "Statut",
    submitted: "Soumis le",
    reply_due: "Réponse attendue le",
    requesting: "demande",
    requested: "est requis",
    next_page: "Page suivante",
};

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    English,
    /// French.
    French,
}

impl Lang {
    /// The language of a BCP 47 tag: French for `fr` and its regional forms, else English.
    pub fn from_tag(tag: &str) -> Self {
        if tag.trim().to_ascii_lowercase().starts_with("fr") {
            Self::French
        } else {
            Self::English
        }
    }

    /// The pages' words in this language.
    pub fn text(self) -> &'static Text {
        match self {
            Self::English => &ENGLISH,
            Self::French => &FRENCH,
        }
    }
}

/// The words for `lang` (from `?lang=` or a form), else for the request's `Accept-Language`.
pub fn choose(lang: Option<&str>, headers: &HeaderMap) -> &'static Text {
    let accepted = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let wanted = lang.map_or_else(
        || {
            accepted
                .split(',')
                .map(|item| item.split(';').next().unwrap_or_default().trim().to_owned())
                .find(|tag| tag.starts_with("fr") || tag.starts_with("en"))
                .unwrap_or_default()
        },
        str::to_owned,
    );
    if wanted.starts_with("fr") {
        &FRENCH
    } else {
        &ENGLISH
    }
}
