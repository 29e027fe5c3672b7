//! The use cases, one module per group. Each service holds only the stores it needs and
//! answers with [`crate::domain::DomainError`]; the HTTP layer (and later the console and
//! Open311) calls them and renders their answers.

pub mod accounts;
pub mod audit;
pub mod bulletin;
pub mod cases;
pub mod console;
pub mod console_sessions;
pub mod deadlines;
pub mod enrolment;
pub mod evidence;
pub mod export;
pub mod figures;
pub mod moderation;
pub mod numbers;
pub mod open311;
pub mod photos;
pub mod public_notices;
pub mod reference;
pub mod staging;
pub mod stalls;
pub mod sync;

pub use accounts::AccountsService;
pub use audit::AuditService;
pub use console::ConsoleService;
pub use console_sessions::ConsoleSessions;
pub use deadlines::DeadlineService;
pub use enrolment::EnrolmentService;
pub use evidence::EvidenceService;
pub use figures::FiguresService;
pub use numbers::NumberService;
pub use photos::PhotosService;
pub use reference::ReferenceService;
pub use stalls::StallService;
pub use sync::SyncService;
