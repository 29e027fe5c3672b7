//! The composition root: builds the services from the stores, the photo files and the
//! clocks, and hands each front door only the service a handler asks for (axum's
//! `FromRef`). Nothing else sees all of them.

use crate::domain::DomainError;
use crate::domain::clock::{ServerClock, WallClock};
use crate::service::accounts::Passwords;
use crate::service::export::ExportService;
use crate::service::open311::Open311Service;
use crate::service::photos::PhotoFiles;
use crate::service::{
    AccountsService, AuditService, ConsoleService, ConsoleSessions, DeadlineService, FiguresService, NumberService,
    PhotosService, ReferenceService, StallService, SyncService,
};
use crate::storage::Stores;
use axum::extract::FromRef;
use gridwork_core::hlc::Hlc;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    accounts: Arc<AccountsService>,
    sync: Arc<SyncService>,
    photos: Arc<PhotosService>,
    reference: Arc<ReferenceService>,
    deadlines: Arc<DeadlineService>,
    figures: Arc<FiguresService>,
    audit: Arc<AuditService>,
    numbers: Arc<NumberService>,
    enrolment: Arc<crate::service::EnrolmentService>,
    /// Records checked against what their devices signed.
    evidence: Arc<crate::service::EvidenceService>,
    stalls: Arc<StallService>,
    open311: Arc<Open311Service>,
    /// Hidden records and redacted public photos.
    moderation: Arc<crate::service::moderation::ModerationService>,
    export: Arc<ExportService>,
    console_sessions: Arc<ConsoleSessions>,
    console: Arc<ConsoleService>,
    clock: Arc<ServerClock>,
    stores: Stores,
    /// The CJK font of the console's PDFs.
    font: Arc<crate::config::PdfFont>,
    /// The reverse proxies whose forwarded client addresses are believed.
    trusted_proxies: Arc<crate::http::forwarded::TrustedProxies>,
}

impl AppState {
    /// The services over `stores`, with production password hashing, on `wall`.
    pub async fn new(stores: Stores, files: PhotoFiles, wall: Arc<WallClock>) -> Result<Self, DomainError> {
        Self::build(stores, files, Arc::new(Passwords::production()?), wall).await
    }

    /// The services with explicit password settings (tests use cheap ones) and wall clock.
    pub async fn build(
        stores: Stores,
        files: PhotoFiles,
        passwords: Arc<Passwords>,
        wall: Arc<WallClock>,
    ) -> Result<Self, DomainError> {
        let reference = Arc::new(ReferenceService::new(stores.reference.clone(), stores.accounts.clone()).await?);
        // The clock restarts above every stamp already accepted (after a restart a
        // far-future op re-stamped from a fresh clock could otherwise lose to an older edit).
        let highest = stores.records.max_clock().await?.and_then(|s| s.parse::<Hlc>().ok());
        let clock = Arc::new(ServerClock::new(wall, highest.as_ref()));
        let audit = Arc::new(AuditService::new(stores.audit.clone(), clock.clone()));
        let sync = Arc::new(SyncService::new(
            stores.records.clone(),
            stores.photos.clone(),
            reference.clone(),
            clock.clone(),
            audit.clone(),
        ));
        let numbers = Arc::new(NumberService::new(stores.numbers.clone(), reference.clone(), clock.clone(), audit.clone()));
        let accounts = Arc::new(AccountsService::new(
            stores.accounts.clone(),
            reference.clone(),
            clock.clone(),
            passwords,
            audit.clone(),
            numbers.clone(),
        ));
        let evidence =
            Arc::new(crate::service::EvidenceService::new(stores.records.clone(), files.blobs().clone(), Some(audit.clone())));
        let photos = Arc::new(PhotosService::new(files, stores.photos.clone(), reference.clone()));
        let moderation = Arc::new(crate::service::moderation::ModerationService::new(
            stores.moderation.clone(),
            stores.records.clone(),
            photos.clone(),
            reference.clone(),
            clock.clone(),
            audit.clone(),
        ));
        Ok(AppState {
            moderation,
            evidence,
            open311: Arc::new(Open311Service::new(
                stores.clients.clone(),
                stores.records.clone(),
                stores.moderation.clone(),
                accounts.clone(),
                sync.clone(),
                reference.clone(),
                clock.clone(),
                audit.clone(),
            )),
            export: Arc::new(ExportService::new(stores.records.clone(), reference.clone(), audit.clone(), clock.clone())),
            console_sessions: Arc::new(ConsoleSessions::new(accounts.clone(), clock.clone())),
            console: Arc::new(ConsoleService::new(
                stores.records.clone(),
                reference.clone(),
                sync.clone(),
                clock.clone(),
                audit.clone(),
            )),
            enrolment: Arc::new(crate::service::EnrolmentService::new(
                stores.enrolments.clone(),
                stores.accounts.clone(),
                numbers.clone(),
                audit.clone(),
                clock.clone(),
            )),
            accounts,
            audit,
            numbers,
            stalls: Arc::new(StallService::new(reference.clone())),
            deadlines: Arc::new(DeadlineService::new(
                stores.records.clone(),
                sync.clone(),
                reference.clone(),
                clock.clone(),
                stores.leases.clone(),
            )),
            figures: Arc::new(FiguresService::new(stores.records.clone(), reference.clone(), clock.clone())),
            sync,
            photos,
            reference,
            clock,
            stores,
            font: Arc::new(crate::config::PdfFont::from_env()),
            trusted_proxies: Arc::default(),
        })
    }

    pub fn audit(&self) -> &Arc<AuditService> {
        &self.audit
    }

    /// Notice-number blocks.
    pub fn numbers(&self) -> &Arc<NumberService> {
        &self.numbers
    }

    /// The admin console's browser sessions.
    pub fn console_sessions(&self) -> &Arc<ConsoleSessions> {
        &self.console_sessions
    }

    /// The admin console's use cases.
    pub fn evidence(&self) -> &Arc<crate::service::EvidenceService> {
        &self.evidence
    }

    pub fn console(&self) -> &Arc<ConsoleService> {
        &self.console
    }

    /// Moderation of what the public sees (hidden records, redacted photos).
    pub fn moderation(&self) -> &Arc<crate::service::moderation::ModerationService> {
        &self.moderation
    }

    /// Open311 GeoReport v2.
    pub fn open311(&self) -> &Arc<Open311Service> {
        &self.open311
    }

    /// Exports of records (CSV, xlsx, GeoJSON).
    pub fn export(&self) -> &Arc<ExportService> {
        &self.export
    }

    /// Enrolment codes (扫码登录).
    pub fn enrolment(&self) -> &Arc<crate::service::EnrolmentService> {
        &self.enrolment
    }

    pub fn accounts(&self) -> &Arc<AccountsService> {
        &self.accounts
    }

    pub fn sync(&self) -> &Arc<SyncService> {
        &self.sync
    }

    pub fn photos(&self) -> &Arc<PhotosService> {
        &self.photos
    }

    pub fn reference(&self) -> &Arc<ReferenceService> {
        &self.reference
    }

    pub fn deadlines(&self) -> &Arc<DeadlineService> {
        &self.deadlines
    }

    pub fn figures(&self) -> &Arc<FiguresService> {
        &self.figures
    }

    /// The server's clocks (the demo seeding moves the wall clock through its history).
    pub fn clock(&self) -> &Arc<ServerClock> {
        &self.clock
    }

    /// The CJK font of the console's PDFs (by default [`crate::config::default_font_path`]).
    pub fn font(&self) -> &Arc<crate::config::PdfFont> {
        &self.font
    }

    /// This state with closed notices' parties reaching devices for `days` after the
    /// closure ([`crate::domain::retention`]).
    pub fn with_party_retention_days(self, days: u32) -> Self {
        self.sync.set_party_retention_days(days);
        self
    }

    /// This state with another PDF font.
    pub fn with_font(mut self, font: crate::config::PdfFont) -> Self {
        self.font = Arc::new(font);
        self
    }

    /// This state believing the client addresses these reverse proxies forward (none by
    /// default: the socket's peer is the client).
    pub fn with_trusted_proxies(mut self, proxies: crate::http::forwarded::TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// The stores, for seeding and shutting down.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// A state on a fresh SQLite store and local photo files under `dir`, with cheap
    /// password hashing: for tests only.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn sqlite_for_tests(dir: &std::path::Path) -> AppState {
        let store = crate::storage::sqlite::SqliteStorage::open(dir).expect("open store");
        let files = PhotoFiles::local(dir, gridwork_core::protocol::DEFAULT_MAX_PHOTO_BYTES).expect("photo files");
        let passwords = Arc::new(Passwords::insecure_fast_for_tests());
        AppState::build(Stores::of(Arc::new(store)), files, passwords, Arc::new(WallClock::system())).await.expect("state")
    }
}

impl FromRef<AppState> for Arc<AccountsService> {
    fn from_ref(s: &AppState) -> Self {
        s.accounts.clone()
    }
}

impl FromRef<AppState> for Arc<crate::service::EnrolmentService> {
    fn from_ref(s: &AppState) -> Self {
        s.enrolment.clone()
    }
}

impl FromRef<AppState> for Arc<SyncService> {
    fn from_ref(s: &AppState) -> Self {
        s.sync.clone()
    }
}

impl FromRef<AppState> for Arc<PhotosService> {
    fn from_ref(s: &AppState) -> Self {
        s.photos.clone()
    }
}

impl FromRef<AppState> for Arc<StallService> {
    fn from_ref(s: &AppState) -> Self {
        s.stalls.clone()
    }
}

impl FromRef<AppState> for Arc<NumberService> {
    fn from_ref(s: &AppState) -> Self {
        s.numbers.clone()
    }
}

impl FromRef<AppState> for Arc<FiguresService> {
    fn from_ref(s: &AppState) -> Self {
        s.figures.clone()
    }
}

impl FromRef<AppState> for Arc<ReferenceService> {
    fn from_ref(s: &AppState) -> Self {
        s.reference.clone()
    }
}

impl FromRef<AppState> for Arc<crate::service::moderation::ModerationService> {
    fn from_ref(s: &AppState) -> Self {
        s.moderation.clone()
    }
}

impl FromRef<AppState> for Arc<Open311Service> {
    fn from_ref(s: &AppState) -> Self {
        s.open311.clone()
    }
}

impl FromRef<AppState> for Arc<ExportService> {
    fn from_ref(s: &AppState) -> Self {
        s.export.clone()
    }
}

impl FromRef<AppState> for Arc<crate::http::forwarded::TrustedProxies> {
    fn from_ref(s: &AppState) -> Self {
        s.trusted_proxies.clone()
    }
}
