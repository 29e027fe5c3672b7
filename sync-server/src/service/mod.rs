//! The use cases, one module per group. Each service holds only the stores it needs and
//! answers with [`crate::domain::DomainError`]; the HTTP layer (and later the console and
//! Open311) calls them and renders their answers.

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod deadlines;
pub mod figures;
pub mod photos;
pub mod reference;
pub mod sync;

pub use accounts::AccountsService;
pub use audit::AuditService;
pub use deadlines::DeadlineService;
pub use figures::FiguresService;
pub use photos::PhotosService;
pub use reference::ReferenceService;
pub use sync::SyncService;
