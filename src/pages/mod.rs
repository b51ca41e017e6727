//! The pages face (PocketPages-compatible EJS pages in `pb_pages`, DESIGN.md "Pages"). So far
//! it holds the EJS compiler, which turns a template into one JS function for the QuickJS
//! workers; routing, rendering and the auth helpers come with the pages issue.

pub mod ejs;
