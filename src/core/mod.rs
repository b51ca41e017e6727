//! The engine's data model: collections and their fields, records, settings, ids, and the
//! operations that change collections. No HTTP, no JS, no templates here.

pub mod auth_options;
pub mod collection;
pub mod collections;
pub mod datetime;
pub mod field;
pub mod files;
pub mod ids;
pub mod index;
pub mod metrics;
pub mod record;
pub mod records;
pub mod settings;
pub mod system;
pub mod validate;
pub mod view;
pub mod windows;
