//! Who is looking at a page, and in which language. A page needs a signed-in person (the
//! session cookie the JSON API also accepts); without one it sends the browser to the sign-in
//! page. Forms carry the session's CSRF token in a hidden field, checked on every POST.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};

use super::{
    PageError,
    i18n::{Lang, Texts},
};
use crate::{
    AppState,
    auth::{cookie, same_secret, session_cookie},
    directory::{Principal, hash_token},
};

/// The cookie remembering the chosen language (not a secret; readable by the page).
pub const LANG_COOKIE: &str = "bukti_lang";

/// The language a request asks for: `?lang=` first, then the cookie, else Indonesian.
pub fn lang_of(parts: &Parts) -> Lang {
    let query = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    let cookie_value = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, LANG_COOKIE));
    Lang::parse(query.or(cookie_value))
}

/// A signed-in person on the console.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub principal: Principal,
    pub csrf: String,
    pub lang: Lang,
}

impl WebUser {
    pub fn texts(&self) -> &'static Texts {
        self.lang.texts()
    }

    /// Refuses a form whose CSRF field is not this session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::Forbidden(self.lang))
        }
    }
}

/// Sends the browser to the sign-in page, to come back to where it was.
#[derive(Debug)]
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next = super::encode_query_value(&self.0);
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let back = SignInFirst(here);
        let Some(value) = session_cookie(&parts.headers) else {
            return Err(back);
        };
        let now = jiff::Timestamp::now().as_millisecond();
        let Ok(Some((person, csrf))) = state.store.session(&hash_token(value), now).await else {
            return Err(back);
        };
        let Ok(principal) = Principal::from(person).check_live(now) else {
            return Err(back);
        };
        Ok(WebUser {
            principal,
            csrf,
            lang: lang_of(parts),
        })
    }
}
