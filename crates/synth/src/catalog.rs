//! The exam catalog of the reference dataset, as published (`shared/reference/dataset-facts.md`).
//!
//! Counts are raw attempts (duplicates included) in the 3,280-attempt export. Ranks 1–30 and
//! 84–103 carry their published full names; ranks 31–59 were published cut at 20 characters and
//! are completed here by hand; ranks 60–83 were never published (24 exams of 5–12 attempts summing
//! to 198), so their names and counts are ours. Mean scores are published for about 40 exams;
//! the rest get a seeded value in 0.45..0.80.

/// One exam of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct ExamSpec {
    pub name: &'static str,
    /// Attempts in the 3,280-attempt reference (duplicates included).
    pub attempts: u32,
    /// Published mean of correct/total, when known.
    pub mean_score: Option<f64>,
    /// Share of attempts under a second base_exam_id, for the 4 names that have two.
    pub second_id_share: f64,
}

const fn exam(name: &'static str, attempts: u32, mean_score: Option<f64>) -> ExamSpec {
    ExamSpec {
        name,
        attempts,
        mean_score,
        second_id_share: 0.0,
    }
}

const fn two_ids(
    name: &'static str,
    attempts: u32,
    mean_score: Option<f64>,
    second_id_share: f64,
) -> ExamSpec {
    ExamSpec {
        name,
        attempts,
        mean_score,
        second_id_share,
    }
}

/// The name and id of the test exam whose 5 records must be quarantined.
pub const TEST_EXAM_NAME: &str = "Example Exam For Development and Testing oh yeahsdf";
pub const TEST_EXAM_ID: &str = "example-id";
/// Test records in the reference export.
pub const TEST_RECORDS: u32 = 5;
/// Attempts in the reference export, test records included.
pub const REFERENCE_ATTEMPTS: u32 = 3280;

/// Published `counts.total` distribution over the 3,275 non-test attempts: (questions, attempts).
pub const QUESTIONS_PER_ATTEMPT: [(u32, u32); 10] = [
    (1, 56),
    (2, 21),
    (3, 239),
    (4, 1646),
    (5, 940),
    (6, 122),
    (7, 177),
    (8, 59),
    (10, 14),
    (20, 1),
];

/// Published repeated user_exam_ids: (exam, number of ids, copies of each id).
pub const DUPLICATE_GROUPS: [(&str, u32, u32); 9] = [
    ("Beginning C# Programming", 6, 3),
    ("Intermediate C# Programming", 2, 3),
    ("Learning C# Best Practices", 3, 3),
    ("Learning C# Design Patterns", 2, 3),
    ("Learning Git", 2, 3),
    ("Learning DNS", 1, 3),
    ("Introduction to Big Data", 1, 3),
    (
        "An Introduction to d3.js: From Scattered to Scatterplot",
        1,
        3,
    ),
    ("Intermediate Python Programming", 2, 2),
];

/// Published UTC hour-of-day distribution of started_at (all 3,280 attempts).
pub const START_HOUR_WEIGHTS: [u32; 24] = [
    69, 71, 57, 64, 80, 87, 151, 139, 134, 126, 132, 162, 136, 217, 224, 211, 188, 192, 134, 145,
    142, 204, 125, 90,
];

/// The 102 customer exams (the test exam is separate).
pub const EXAMS: &[ExamSpec] = &[
    exam("Learning Git", 394, Some(0.68)),
    two_ids("Introduction to Python", 162, Some(0.57), 40.0 / 162.0),
    exam("Introduction to Java 8", 158, Some(0.88)),
    exam("Intermediate Python Programming", 158, Some(0.51)),
    exam("Learning to Program with R", 128, Some(0.54)),
    exam("Introduction to Machine Learning", 119, Some(0.69)),
    exam(
        "Software Architecture Fundamentals Understanding the Basics",
        109,
        Some(0.48),
    ),
    exam("Beginning C# Programming", 95, Some(0.555)),
    exam("Learning Eclipse", 85, Some(0.71)),
    exam("Learning Apache Maven", 80, Some(0.61)),
    exam("Beginning Programming with JavaScript", 79, Some(0.77)),
    exam("Mastering Git", 77, Some(0.59)),
    exam("Introduction to Big Data", 75, Some(0.62)),
    exam("Advanced Machine Learning", 67, Some(0.72)),
    exam("Learning Linux System Administration", 59, Some(0.555)),
    exam(
        "JavaScript: The Good Parts Master Class with Douglas Crockford",
        58,
        Some(0.655),
    ),
    exam("Learning SQL", 57, Some(0.74)),
    exam("Practical Java Programming", 53, Some(0.594)),
    exam("HTML5 The Basics", 52, None),
    exam("Python Epiphanies", 51, None),
    exam(
        "Software Architecture Fundamentals Beyond The Basics",
        48,
        Some(0.48),
    ),
    exam("Intermediate C# Programming", 43, Some(0.57)),
    exam("Introduction to Data Science with R", 43, None),
    exam("Learning DNS", 40, Some(0.65)),
    exam("Learning C# Best Practices", 35, Some(0.46)),
    exam("Expert Data Wrangling with R", 35, Some(0.664)),
    exam("Mastering Advanced Git", 34, Some(0.36)),
    exam(
        "An Introduction to d3.js: From Scattered to Scatterplot",
        33,
        Some(0.591),
    ),
    exam("Data Visualization in R with ggplot2", 31, Some(0.49)),
    exam("Python Data Structures", 29, Some(0.543)),
    exam("Cloud Native Architecture Fundamentals", 29, None),
    exam("Introduction to TypeScript", 28, None),
    exam("Git Fundamentals for Web Developers", 28, None),
    exam("Introduction to Shell Programming", 27, Some(0.537)),
    exam("Learning Linux Security", 27, Some(0.62)),
    exam("Learning Java EE 7", 25, Some(0.48)),
    exam("Mastering Python Networking", 25, Some(0.74)),
    exam("Using R for Big Data with Spark", 24, None),
    exam("Learning C# Design Patterns", 23, Some(0.717)),
    exam(
        "Reproducible Research and Reports with R Markdown",
        21,
        Some(0.619),
    ),
    exam("TCP/IP", 21, None),
    exam("JavaScript Templating", 21, Some(0.679)),
    exam(
        "Refactor a Monolithic Architecture into Microservices",
        17,
        None,
    ),
    exam("Cloud Computing With AWS", 17, Some(0.43)),
    exam("Learning iPython Notebook", 17, Some(0.50)),
    exam("Learning Apache Hadoop", 16, None),
    exam("Networking for People Who Hate Networking", 15, None),
    exam("I'm a Software Architect, Now What?", 15, None),
    exam("Design Patterns in Python", 15, Some(0.47)),
    exam("Relational Theory for Computer Professionals", 15, None),
    exam("Working with Algorithms in Python", 14, None),
    two_ids("Great Bash", 14, None, 0.35),
    exam("Introduction to Architecting Amazon Web Services", 14, None),
    exam("Offline Web", 13, Some(0.44)),
    exam("Introduction to Modern Client-Side Programming", 13, None),
    exam("Learning Data Structures and Algorithms", 13, None),
    exam("Introduction to Apache Kafka", 13, None),
    exam("Learning Apache Cassandra", 12, None),
    exam("Amazon Web Services - Simple Storage Service", 12, None),
    // Ranks 60–83: never published; 24 exams, 5–12 attempts each, 198 in all.
    exam("A Practical Introduction to React.js", 12, None),
    two_ids(
        "Architectural Considerations for Hadoop Applications",
        12,
        None,
        0.3,
    ),
    exam("Normal Forms and All That Jazz Master Class", 12, None),
    exam("The Principles of Microservices", 11, None),
    two_ids("Being a Better Introvert", 11, Some(0.50), 0.4),
    exam("Web & Native Working Together", 10, Some(0.42)),
    exam("Nullology", 10, Some(0.38)),
    exam("Learning Apache Spark", 9, None),
    exam("Introduction to Kubernetes", 9, None),
    exam("Learning PostgreSQL", 9, None),
    exam("Functional Programming in JavaScript", 8, None),
    exam("Practical Statistics for Data Science", 8, None),
    exam("Understanding Regular Expressions", 8, None),
    exam("Getting Started with Go", 8, None),
    exam("Learning Scala", 8, None),
    exam("Secure Coding Fundamentals", 7, None),
    exam("Effective Code Review", 7, None),
    exam("Deep Learning Fundamentals", 6, None),
    exam("HTTP/2 in Practice", 6, None),
    exam("Agile Software Estimation", 6, None),
    exam("Building Microservices with Spring", 6, None),
    exam("Modeling for Software Architects", 5, None),
    exam("Docker for Developers", 5, None),
    exam("Learning Python Web Development", 5, None),
    // Ranks 84–103 (HZ, ascending), the test exam excluded.
    exam("An Introduction to Set Theory", 5, None),
    exam(
        "Using Storytelling to Effectively Communicate Data",
        4,
        None,
    ),
    exam("View Updating", 4, Some(0.25)),
    exam("Building Web Services with Java", 3, Some(0.42)),
    exam("Getting Ready for Angular 2", 3, None),
    exam("Service Based Architectures", 3, None),
    exam("Using Web Components", 3, None),
    exam("Mastering Web Views", 3, Some(0.42)),
    exam("Learning Spring Programming", 2, None),
    exam("What's New in JavaScript", 2, None),
    exam("Hibernate and JPA Fundamentals", 2, Some(0.50)),
    exam("Understanding the Grails 3 Domain Model", 2, None),
    exam("Arduino Prototyping Techniques", 2, Some(0.33)),
    exam("Client-Side Data Storage for Web Developers", 2, Some(0.20)),
    exam("The Closed World Assumption", 2, None),
    exam("Operating Red Hat Enterprise Linux Servers", 1, None),
    exam("Nulls, Three-valued Logic and Missing Information", 1, None),
    exam("Native Web Apps for Android", 1, Some(0.25)),
    exam("Learning to Visualize Data with D3.js", 1, None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_published_totals() {
        let customer: u32 = EXAMS.iter().map(|e| e.attempts).sum();
        assert_eq!(customer + TEST_RECORDS, REFERENCE_ATTEMPTS);
        assert_eq!(
            EXAMS.len() + 1,
            103,
            "103 exam names including the test exam"
        );
        let ids: usize = EXAMS
            .iter()
            .map(|e| if e.second_id_share > 0.0 { 2 } else { 1 })
            .sum();
        assert_eq!(ids + 1, 107, "107 base_exam_ids including example-id");
        let questions: u32 = QUESTIONS_PER_ATTEMPT.iter().map(|(_, n)| n).sum();
        assert_eq!(questions, REFERENCE_ATTEMPTS - TEST_RECORDS);
        assert_eq!(START_HOUR_WEIGHTS.iter().sum::<u32>(), REFERENCE_ATTEMPTS);
        let copies: u32 = DUPLICATE_GROUPS
            .iter()
            .map(|(_, ids, copies)| ids * (copies - 1))
            .sum();
        assert_eq!(copies, 38);
        let mut names: Vec<_> = EXAMS.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EXAMS.len(), "exam names are unique");
        for (name, _, _) in DUPLICATE_GROUPS {
            assert!(EXAMS.iter().any(|e| e.name == name), "{name}");
        }
    }
}
