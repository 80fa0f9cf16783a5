//! What the council reports: the MASH performance report and the Annex A lists.
pub mod annex_a;
pub mod report;
