//! The table pipelines: pure `LazyFrame -> LazyFrame` functions, one file per output table.

pub mod assessments;
pub mod exams;
pub mod option_counts;
pub mod options;
pub mod question_counts;
pub mod questions;
