//! `/admin/records/{id}/evidence`: a record checked against what its devices signed. For
//! each field: signed by which account on which device, unsigned (the console, a server
//! job), or broken (changed after signing, a signature that does not hold); for each photo:
//! the stored file against the signed hash. Shows verdicts, ids and hashes only, never a
//! field's value (a notice's party is personal data).

use super::error::ConsoleError;
use super::form::Form;
use super::records::record_id;
use super::session::Console;
use super::timeline::{field_label, short_hash};
use super::view::{Nav, short, user_name};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use gridwork_core::evidence::FieldVerdict;

struct FieldRow {
    label: &'static str,
    code: String,
    verdict: &'static str,
    verdict_code: &'static str,
    broken: bool,
    by: String,
    device: String,
    op: String,
}

struct PhotoRow {
    sha: String,
    verdict: &'static str,
    verdict_code: &'static str,
    broken: bool,
}

struct KeyRow {
    device: String,
    by: String,
    key: String,
    ops: usize,
}

#[derive(Template)]
#[template(path = "console/evidence.html")]
struct EvidencePage {
    nav: Nav,
    id: String,
    kind_label: &'static str,
    intact: bool,
    fully_signed: bool,
    signed_ops: usize,
    bad_signatures: usize,
    /// Admins may download the bundle (it holds personal data).
    can_export: bool,
    fields: Vec<FieldRow>,
    photos: Vec<PhotoRow>,
    keys: Vec<KeyRow>,
}

pub async fn page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let caller = &console.0.session.caller;
    // Visible to whoever may see the record on the console (403 / 404 otherwise).
    let rec = state.console().record(caller, record_id(&id)?).await?;
    let check = state.evidence().check(rec.id).await?.ok_or(ConsoleError::NotFound)?;
    let refs = state.reference().current().await?;
    let fields = check
        .report
        .fields
        .iter()
        .map(|(f, v)| {
            let (by, device, op) = match v {
                FieldVerdict::Signed { op_id, user_id, device_id } => {
                    (user_name(&refs.index, user_id), short(device_id, 13), short(&op_id.to_string(), 13))
                }
                FieldVerdict::BadSignature { op_id } | FieldVerdict::Altered { op_id } => {
                    (String::new(), String::new(), short(&op_id.to_string(), 13))
                }
                FieldVerdict::Unsigned => Default::default(),
            };
            FieldRow {
                label: field_label(f),
                code: f.clone(),
                verdict: v.label(),
                verdict_code: v.code(),
                broken: v.is_broken(),
                by,
                device,
                op,
            }
        })
        .collect();
    let photos = check
        .photos
        .iter()
        .map(|(sha, p)| PhotoRow {
            sha: short_hash(sha),
            verdict: p.label(),
            verdict_code: p.code(),
            broken: *p == crate::service::evidence::PhotoFile::Altered,
        })
        .collect();
    let mut keys: Vec<KeyRow> = Vec::new();
    for op in &check.ops {
        let device = short(&op.device_id, 13);
        match keys.iter_mut().find(|k| k.key == op.public_key && k.device == device) {
            Some(k) => k.ops += 1,
            None => keys.push(KeyRow { device, by: user_name(&refs.index, &op.user_id), key: op.public_key.clone(), ops: 1 }),
        }
    }
    let page = EvidencePage {
        nav: Nav::new(&console.0, &refs.index, "records"),
        id: rec.id.to_string(),
        kind_label: rec.kind().label_zh(),
        intact: check.intact(),
        fully_signed: check.fully_signed(),
        signed_ops: check.ops.len(),
        can_export: caller.role == gridwork_core::model::Role::Admin,
        bad_signatures: check.report.bad_signatures.len(),
        fields,
        photos,
        keys,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/records/{id}/evidence/bundle` (`_csrf`): the record's evidence bundle
/// (证据包) as a JSON file, for `gridwork-server evidence verify --bundle` anywhere. Admins
/// only; it holds personal data, so it is a POST and is audited.
pub async fn bundle(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let caller = &console.0.session.caller;
    let rec = state.console().record(caller, record_id(&id)?).await?;
    let bundle = state.evidence().bundle(caller, rec.id).await?.ok_or(ConsoleError::NotFound)?;
    let body = serde_json::to_vec_pretty(&bundle).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"evidence-{}.json\"", rec.id)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
