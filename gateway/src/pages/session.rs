//! Browser sessions for the pages: `/login` exchanges a bearer token for a random session
//! identifier in an `HttpOnly`, `SameSite=Strict` cookie. Sessions live in memory only (a
//! restart signs everyone out), expire after [`SESSION_TTL`], and are capped at
//! [`MAX_SESSIONS`], the oldest dropped first. The sign-in form carries an anti-forgery value
//! that must match its cookie ([`CSRF_COOKIE`]), so no other site can sign a browser in.
//! The forms of a signed-in browser (the coordinator's capacity and break forms) carry
//! [`form_token`], which only the holder of the session's `HttpOnly` cookie can know.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use ring::rand::{SecureRandom, SystemRandom};

use crate::auth::Role;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "accord_session";
/// The sign-in form's anti-forgery cookie: the form must post back the same value.
pub const CSRF_COOKIE: &str = "accord_csrf";
/// How long a session lasts: a working day.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// The most sessions kept at once.
pub const MAX_SESSIONS: usize = 10_000;

/// The signed-in browsers.
#[derive(Debug)]
pub struct Sessions {
    random: SystemRandom,
    open: Mutex<HashMap<String, (Role, Instant)>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            random: SystemRandom::new(),
            open: Mutex::default(),
        }
    }
}

impl Sessions {
    /// A new session for `role`: its identifier, or `None` if no randomness was available.
    pub fn open(&self, role: Role) -> Option<String> {
        let id = self.random_value()?;
        let now = Instant::now();
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|_, (_, opened)| now.duration_since(*opened) < SESSION_TTL);
        if open.len() >= MAX_SESSIONS {
            let oldest = open
                .iter()
                .min_by_key(|(_, (_, opened))| *opened)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                open.remove(&oldest);
            }
        }
        open.insert(id.clone(), (role, now));
        Some(id)
    }

    /// 32 random bytes, hex: a session identifier or an anti-forgery value.
    pub fn random_value(&self) -> Option<String> {
        let mut bytes = [0_u8; 32];
        self.random.fill(&mut bytes).ok()?;
        Some(hex::encode(bytes))
    }

    /// The role of the session the request's cookie names, if it is open.
    pub fn role(&self, headers: &HeaderMap) -> Option<Role> {
        let id = cookie(headers, COOKIE_NAME)?;
        let open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.get(&id)
            .filter(|(_, opened)| opened.elapsed() < SESSION_TTL)
            .map(|(role, _)| *role)
    }
}

/// The value of the request's cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

/// The anti-forgery value of the forms of the session the request's cookie names: SHA-256
/// of a fixed label and the session's identifier, hex. Another site can neither read the
/// cookie nor send it (`SameSite=Strict`), so it cannot forge a form that carries this.
pub fn form_token(headers: &HeaderMap) -> Option<String> {
    use sha2::{Digest, Sha256};
    let id = cookie(headers, COOKIE_NAME)?;
    let mut hasher = Sha256::new();
    hasher.update(b"accord-gateway-form\0");
    hasher.update(id.as_bytes());
    Some(hex::encode(hasher.finalize()))
}

/// Whether a posted form's anti-forgery value is its session's.
pub fn form_token_matches(headers: &HeaderMap, posted: &str) -> bool {
    !posted.is_empty() && form_token(headers).as_deref() == Some(posted)
}

/// The `Set-Cookie` value for session `id`.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE_NAME}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value of the sign-in form's anti-forgery `value`.
pub fn set_csrf_cookie(value: &str) -> String {
    format!("{CSRF_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/login")
}
