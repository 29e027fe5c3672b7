//! 账号与设备 (admins only): the accounts with their devices; new accounts, disabling and
//! enabling, role and scope, revoking one device. Every action goes through
//! [`crate::service::AccountsService`], which checks the role again and writes the audit
//! trail. A password is only ever in the one form that sets it: never in a URL, the log,
//! the trail, or a page sent back.

use super::error::ConsoleError;
use super::form::{Form, FormData, QueryData};
use super::session::Console;
use super::view::{Choice, Nav, local_time, org_name};
use crate::domain::DomainError;
use crate::domain::error::{Conflict, InvalidKind};
use crate::service::accounts::{AccountOverview, MIN_PASSWORD_CHARS, NewUser};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gridwork_core::model::Role;
use gridwork_core::reference::{OrgLevel, RefIndex, ReferenceData};
use uuid::Uuid;

/// The roles an account may have, in the order the form offers them.
const ROLES: [Role; 3] = [Role::GridWorker, Role::Officer, Role::Admin];

/// What the page says after an action (by the code in `?done=`: never a name).
const DONE: [(&str, &str); 6] = [
    ("created", "账号已创建"),
    ("disabled", "账号已停用，其所有设备已退出登录"),
    ("enabled", "账号已启用"),
    ("role", "角色与管辖范围已修改，该账号的设备需重新登录"),
    ("revoked", "该设备已退出登录"),
    ("unchanged", "角色与管辖范围没有变化"),
];

pub struct DeviceRow {
    pub device_id: String,
    pub device_short: String,
    pub device_name: String,
    pub signed_in: String,
    pub last_seen: String,
    /// The device's last pull (empty: it never said).
    pub last_sync: String,
    /// Changes and photos it still had to send then ("—" when unknown).
    pub pending: String,
    pub live: bool,
    pub ended: String,
}

pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role_label: &'static str,
    pub role_code: &'static str,
    pub scope_name: String,
    pub scope_code: String,
    pub enabled: bool,
    pub disabled_since: String,
    pub created: String,
    pub is_self: bool,
    pub devices: Vec<DeviceRow>,
    pub ended_not_listed: usize,
    pub roles: Vec<Choice>,
}

/// The new-account form as it was filled in (never the password).
#[derive(Default)]
pub struct NewForm {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct AccountsPage {
    nav: Nav,
    rows: Vec<AccountRow>,
    orgs: Vec<Choice>,
    roles: Vec<Choice>,
    new: NewForm,
    min_password: usize,
    flash: Option<&'static str>,
    error: Option<String>,
    /// The form the error is about: `create`, or an account id.
    error_for: String,
}

/// `0193a1b2…9f3c`: enough to tell devices apart (v7 ids share their first digits).
fn short_device(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 13 {
        return id.to_owned();
    }
    format!("{}…{}", chars[..8].iter().collect::<String>(), chars[chars.len() - 4..].iter().collect::<String>())
}

fn role_choices(current: &str) -> Vec<Choice> {
    ROLES
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: format!("{}（{}）", r.label_zh(), r.as_str()),
            selected: r.as_str() == current,
        })
        .collect()
}

/// Every org an account may be scoped to (city, districts, communities, grids), for the
/// scope field's suggestions.
fn org_choices(data: &ReferenceData, refs: &RefIndex) -> Vec<Choice> {
    data.orgs
        .iter()
        .filter(|o| o.level != OrgLevel::Street)
        .map(|o| {
            let label = match (o.level, o.parent.as_deref()) {
                (OrgLevel::Grid | OrgLevel::Community, Some(p)) => format!("{} {}", org_name(refs, p), o.name),
                _ => o.name.clone(),
            };
            Choice { value: o.code.clone(), label: format!("{label}（{}）", o.level.as_str()), selected: false }
        })
        .collect()
}

fn row_of(o: AccountOverview, refs: &RefIndex, me: &str) -> AccountRow {
    let u = o.account.user;
    let devices = o
        .devices
        .into_iter()
        .map(|d| DeviceRow {
            device_short: short_device(&d.session.device_id),
            device_id: d.session.device_id,
            device_name: d.session.device_name.unwrap_or_default(),
            signed_in: local_time(d.session.created_at),
            last_seen: d.last_seen_at.map(local_time).unwrap_or_default(),
            last_sync: d.last_sync.map(|s| local_time(s.at)).unwrap_or_default(),
            pending: d.last_sync.map_or_else(|| "—".to_owned(), |s| s.pending.to_string()),
            live: d.session.revoked_at.is_none(),
            ended: d.session.revoked_at.map(local_time).unwrap_or_default(),
        })
        .collect();
    AccountRow {
        is_self: u.id == me,
        roles: role_choices(u.role.as_str()),
        scope_name: org_name(refs, &u.scope),
        scope_code: u.scope,
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        role_label: u.role.label_zh(),
        role_code: u.role.as_str(),
        enabled: o.account.disabled_at.is_none(),
        disabled_since: o.account.disabled_at.map(local_time).unwrap_or_default(),
        created: local_time(u.created_at),
        devices,
        ended_not_listed: o.ended_not_listed,
    }
}

/// The page, with what a failed form left (its message, its values).
async fn render(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    flash: Option<&'static str>,
    error: Option<(String, String)>,
    new: NewForm,
) -> Result<Response, ConsoleError> {
    let session = &console.0.session;
    let overview = state.accounts().overview(session).await?;
    let refs = state.reference().current().await?;
    let rows = overview.into_iter().map(|o| row_of(o, &refs.index, &session.user.id)).collect();
    let (error_for, error) = match error {
        Some((on, message)) => (on, Some(message)),
        None => (String::new(), None),
    };
    let page = AccountsPage {
        nav: Nav::new(&console.0, &refs.index, "accounts"),
        rows,
        orgs: org_choices(&refs.data, &refs.index),
        roles: role_choices(if new.role.is_empty() { Role::GridWorker.as_str() } else { &new.role }),
        new,
        min_password: MIN_PASSWORD_CHARS,
        flash,
        error,
        error_for,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// A rule an action broke, as the page shows it: 400 for a field, 409 for a taken
/// username; anything else is the console's own error page.
fn form_error(e: DomainError) -> Result<(StatusCode, String), ConsoleError> {
    match e {
        DomainError::Invalid { kind: InvalidKind::Input, rejection } => Ok((StatusCode::BAD_REQUEST, rejection.message)),
        DomainError::Conflict(Conflict::UsernameTaken) => Ok((StatusCode::CONFLICT, "用户名已存在 (username_taken)".into())),
        other => Err(other.into()),
    }
}

fn done(what: &str, anchor: &str) -> Response {
    Redirect::to(&format!("/admin/accounts?done={what}#{anchor}")).into_response()
}

pub async fn page(State(state): State<AppState>, console: Console, QueryData(q): QueryData) -> Result<Response, ConsoleError> {
    console.0.session.caller.require_admin()?;
    let flash = q.get("done").and_then(|d| DONE.iter().find(|(c, _)| *c == d)).map(|(_, m)| *m);
    render(&state, &console, StatusCode::OK, flash, None, NewForm::default()).await
}

/// The account an action's path names (by id: a username is nobody's business in a URL).
async fn username_of(state: &AppState, id: &str) -> Result<String, ConsoleError> {
    if id.len() > 64 {
        return Err(ConsoleError::NotFound);
    }
    let refs = state.reference().current().await?;
    refs.index.user(id).map(|u| u.username.clone()).ok_or(ConsoleError::NotFound)
}

fn role_of(form: &FormData) -> Result<Role, String> {
    match form.get("role") {
        None => Err("请选择角色 (role)".into()),
        Some(r) => Role::parse(r.trim()).ok_or_else(|| "不是有效的角色 (role)".into()),
    }
}

fn scope_of(form: &FormData) -> Result<String, String> {
    match form.get("scope").map(str::trim) {
        None => Err("请填写管辖范围（机构代码） (scope)".into()),
        Some(s) if s.len() > 64 => Err("管辖范围不存在 (scope)".into()),
        Some(s) => Ok(s.to_owned()),
    }
}

pub async fn create(State(state): State<AppState>, console: Console, Form(form): Form) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let kept = |name: &str, max: usize| -> String {
        form.get(name).map(|v| v.trim().chars().filter(|c| !c.is_control()).take(max).collect()).unwrap_or_default()
    };
    let entered = NewForm {
        username: kept("username", 64),
        display_name: kept("display_name", 50),
        role: kept("role", 20),
        scope: kept("scope", 64),
    };
    let checked = (|| -> Result<NewUser, String> {
        let username = form.get("username").map(str::trim).ok_or("请填写用户名 (username)")?.to_owned();
        let display_name = form.get("display_name").map(str::trim).ok_or("请填写姓名 (display_name)")?.to_owned();
        let role = role_of(&form)?;
        let scope = scope_of(&form)?;
        let password = form.get("password").ok_or_else(|| format!("请填写初始密码，至少{MIN_PASSWORD_CHARS}位 (password)"))?;
        Ok(NewUser { username, display_name, role, scope, password: password.to_owned() })
    })();
    let outcome = match checked {
        Ok(new) => match state.accounts().add_user_as(&console.0.session, new).await {
            Ok(user) => return Ok(done("created", &format!("u-{}", user.id))),
            Err(e) => form_error(e)?,
        },
        Err(message) => (StatusCode::BAD_REQUEST, message),
    };
    let (status, message) = outcome;
    render(&state, &console, status, None, Some(("create".into(), message)), entered).await
}

/// Disable or enable the account `id`.
async fn set_enabled(
    state: AppState,
    console: Console,
    id: String,
    form: FormData,
    enabled: bool,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let username = username_of(&state, &id).await?;
    match state.accounts().set_enabled(&console.0.session, &username, enabled).await {
        Ok(_) => Ok(done(if enabled { "enabled" } else { "disabled" }, &format!("u-{id}"))),
        Err(e) => {
            let (status, message) = form_error(e)?;
            render(&state, &console, status, None, Some((id, message)), NewForm::default()).await
        }
    }
}

pub async fn disable(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    set_enabled(state, console, id, form, false).await
}

pub async fn enable(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    set_enabled(state, console, id, form, true).await
}

pub async fn role(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let username = username_of(&state, &id).await?;
    let outcome = match (role_of(&form), scope_of(&form)) {
        (Ok(role), Ok(scope)) => match state.accounts().set_role_scope(&console.0.session, &username, role, &scope).await {
            Ok(changed) => return Ok(done(if changed.is_some() { "role" } else { "unchanged" }, &format!("u-{id}"))),
            Err(e) => form_error(e)?,
        },
        (Err(m), _) | (_, Err(m)) => (StatusCode::BAD_REQUEST, m),
    };
    let (status, message) = outcome;
    render(&state, &console, status, None, Some((id, message)), NewForm::default()).await
}

pub async fn revoke(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let username = username_of(&state, &id).await?;
    let device = form.required("device", "设备")?;
    let device = Uuid::parse_str(device.trim()).map_err(|_| ConsoleError::bad("device", "不是有效的设备编号"))?;
    let revoked = state.accounts().revoke(&console.0.session, &username, Some(device)).await?;
    if revoked == 0 {
        // Already ended (another admin, or it signed out): nothing to do, said plainly.
        return Err(ConsoleError::Conflict("该设备已不在登录状态".into()));
    }
    Ok(done("revoked", &format!("u-{id}")))
}
