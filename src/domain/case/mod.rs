//! A child's case as the MASH works it: contacts about the child, the child's record,
//! consent, information requests to partners and their disclosures, missing episodes.
pub mod children;
pub mod consent;
pub mod contacts;
pub mod missing;
pub mod requests;
