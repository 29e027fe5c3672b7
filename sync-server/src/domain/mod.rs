//! The server's rules, with no HTTP types and no SQL: who a caller is and what they may
//! see ([`access`]), the reference data as the rules read it ([`reference`]), the server's
//! clocks ([`clock`]), the audit trail's hash chain ([`audit`]) and the one error type of the rules ([`error`]). Services apply these
//! rules over the storage traits; every front door (device API, console, Open311) renders
//! [`DomainError`] its own way.

pub mod access;
pub mod audit;
pub mod clock;
pub mod error;
pub mod figures;
pub mod query;
pub mod reference;
pub mod retention;

pub use error::DomainError;
