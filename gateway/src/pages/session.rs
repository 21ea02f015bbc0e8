//! Browser sessions for the pages: `/login` exchanges a bearer token for a random session
//! identifier in an `HttpOnly`, `SameSite=Strict` cookie. Sessions live in memory only (a
//! restart signs everyone out), expire after [`SESSION_TTL`], and are capped at
//! [`MAX_SESSIONS`], the oldest dropped first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use ring::rand::{SecureRandom, SystemRandom};

use crate::auth::Role;

/// The cookie's name.
pub const COOKIE_NAME: &str = "accord_session";
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
        let mut bytes = [0_u8; 32];
        self.random.fill(&mut bytes).ok()?;
        let id = hex::encode(bytes);
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

    /// The role of the session the request's cookie names, if it is open.
    pub fn role(&self, headers: &HeaderMap) -> Option<Role> {
        let id = cookie(headers)?;
        let open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.get(&id)
            .filter(|(_, opened)| opened.elapsed() < SESSION_TTL)
            .map(|(role, _)| *role)
    }
}

/// The session cookie's value.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for session `id`.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE_NAME}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}
