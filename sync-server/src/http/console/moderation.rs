//! Moderation of what the public sees: hide a record with a reason; black out faces and
//! number plates on a report's photo, or approve it as it is, for the public; and undo
//! either. Admins only; each answer goes back to the record page.

use super::error::ConsoleError;
use super::form::{Form, FormData};
use super::records::{done, record_id, render_record};
use super::session::Console;
use crate::domain::DomainError;
use crate::service::photos::{AskedRegion, MAX_REGIONS, RegionUnit};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use uuid::Uuid;

/// A moderation form the rules refuse: the record page with the message, answered 400 (a
/// bad reason or rectangle is the form's fault; nothing was changed).
async fn moderation_refused(state: &AppState, console: &Console, id: Uuid, message: &str) -> Result<Response, ConsoleError> {
    let rec = state.console().record(&console.0.session.caller, id).await?;
    let page = render_record(state, console, rec, None, None, Some(format!("{message}（invalid_request）"))).await?;
    Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
}

/// The answer to a moderation action: back to the record, or the refusal.
async fn moderation_answer(
    state: &AppState,
    console: &Console,
    id: Uuid,
    back_to: Uuid,
    done_code: &str,
    result: Result<(), DomainError>,
) -> Result<Response, ConsoleError> {
    match result {
        Ok(()) => Ok(done(back_to, done_code)),
        Err(DomainError::Invalid { rejection, .. }) => moderation_refused(state, console, id, &rejection.message).await,
        Err(e) => Err(e.into()),
    }
}

/// Where to return after acting on `id` from another record's page (a case shows its
/// source's photos): the page the form came from, if it is a record the caller sees.
async fn back_to(state: &AppState, console: &Console, form: &FormData, id: Uuid) -> Uuid {
    match form.get("back").and_then(|b| Uuid::parse_str(b).ok()) {
        Some(b) if b != id && state.console().record(&console.0.session.caller, b).await.is_ok() => b,
        _ => id,
    }
}

/// Hide a record from the public, with a reason.
pub async fn hide(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let id = record_id(&id)?;
    let reason = form.get("reason").unwrap_or("");
    let result = state.moderation().hide(&console.0.session.caller, id, reason).await;
    moderation_answer(&state, &console, id, id, "hide", result).await
}

/// Show a hidden record to the public again.
pub async fn unhide(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let id = record_id(&id)?;
    let result = state.moderation().unhide(&console.0.session.caller, id).await;
    moderation_answer(&state, &console, id, id, "unhide", result).await
}

/// A rectangle's numbers: `x,y,w,h`.
fn parse_rect(text: &str, n: usize) -> Result<AskedRegion, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let nums: Option<Vec<f64>> =
        if parts.len() == 4 { parts.iter().map(|p| p.parse::<f64>().ok().filter(|v| v.is_finite())).collect() } else { None };
    match nums.as_deref() {
        Some([x, y, w, h]) => Ok(AskedRegion { x: *x, y: *y, w: *w, h: *h }),
        _ => Err(format!("第{n}个遮挡区域应为 x,y,宽,高 四个数字")),
    }
}

/// The rectangles of a redaction form: every `rect` (`x,y,w,h`), and the one typed into
/// the `x`, `y`, `w`, `h` fields (the form without its script), in `unit`.
fn regions_of(form: &FormData) -> Result<(Vec<AskedRegion>, RegionUnit), String> {
    let unit = match form.get("unit").map(str::trim) {
        None | Some("fraction") => RegionUnit::Fraction,
        Some("px") => RegionUnit::Pixel,
        Some(_) => return Err("单位应为比例（fraction）或像素（px）".into()),
    };
    let rects = form.all("rect");
    if rects.len() > MAX_REGIONS {
        return Err(format!("一张照片最多遮挡{MAX_REGIONS}处"));
    }
    let mut out = Vec::new();
    for (i, r) in rects.iter().enumerate() {
        out.push(parse_rect(r, i + 1)?);
    }
    let typed: Vec<Option<&str>> = ["x", "y", "w", "h"].iter().map(|k| form.get(k)).collect();
    if typed.iter().any(Option::is_some) {
        let n = out.len() + 1;
        let [Some(x), Some(y), Some(w), Some(h)] = typed[..] else {
            return Err(format!("第{n}个遮挡区域请填写完整的 x、y、宽、高"));
        };
        out.push(parse_rect(&format!("{x},{y},{w},{h}"), n)?);
    }
    Ok((out, unit))
}

fn photo_hash(sha256: &str) -> Result<String, ConsoleError> {
    if gridwork_core::media::is_sha256_hex(sha256) { Ok(sha256.to_owned()) } else { Err(ConsoleError::NotFound) }
}

/// Black out rectangles of a photo for the public.
pub async fn redact(
    State(state): State<AppState>,
    console: Console,
    Path((id, sha256)): Path<(String, String)>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let (id, sha256) = (record_id(&id)?, photo_hash(&sha256)?);
    let back = back_to(&state, &console, &form, id).await;
    let (regions, unit) = match regions_of(&form) {
        Ok(r) => r,
        Err(message) => return moderation_refused(&state, &console, back, &message).await,
    };
    let result = state.moderation().redact(&console.0.session.caller, id, &sha256, &regions, unit).await.map(|_| ());
    moderation_answer(&state, &console, back, back, "redact", result).await
}

/// Approve a photo for the public as it is (its copy without metadata).
pub async fn publish(
    State(state): State<AppState>,
    console: Console,
    Path((id, sha256)): Path<(String, String)>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let (id, sha256) = (record_id(&id)?, photo_hash(&sha256)?);
    let back = back_to(&state, &console, &form, id).await;
    let result = state.moderation().publish(&console.0.session.caller, id, &sha256).await.map(|_| ());
    moderation_answer(&state, &console, back, back, "publish", result).await
}

/// Withdraw a photo's public version: the public no longer sees the photo.
pub async fn unredact(
    State(state): State<AppState>,
    console: Console,
    Path((id, sha256)): Path<(String, String)>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let (id, sha256) = (record_id(&id)?, photo_hash(&sha256)?);
    let back = back_to(&state, &console, &form, id).await;
    let result = state.moderation().unredact(&console.0.session.caller, id, &sha256).await;
    moderation_answer(&state, &console, back, back, "unredact", result).await
}

/// The redacted copy the public sees of a photo on a record (for staff who see the record).
pub async fn redacted_photo(
    State(state): State<AppState>,
    console: Console,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let (id, sha256) = (record_id(&id)?, photo_hash(&sha256)?);
    state.console().record(&console.0.session.caller, id).await?;
    let blob = state.moderation().redacted_copy(id, &sha256).await?;
    let mut resp = Body::from_stream(blob.stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(resp)
}
