//! The table pipelines, one file per output table: pure functions, `LazyFrame -> LazyFrame`, or
//! for `questions` and `options`, the kept attempts' parsed rows to a frame.

pub mod assessments;
pub mod exams;
pub mod option_counts;
pub mod options;
pub mod question_counts;
pub mod questions;
