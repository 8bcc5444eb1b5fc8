//! What every benchmark smoke test checks of a finished run: it succeeded, and its last line is
//! `key=value` pairs of numbers.

// Each test binary compiles this module and reads only some of what it offers.
#![allow(dead_code)]

use std::process::Output;

/// A finished benchmark run: its standard output and its last line's figures, in order.
pub struct Summary {
    pub stdout: String,
    pub last: String,
    pub fields: Vec<(String, f64)>,
}

impl Summary {
    /// Fails the test unless the run succeeded and its last line is `key=number …`.
    pub fn of(bench: &str, output: &Output) -> Summary {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{bench} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        let last = stdout.lines().last().unwrap_or_default().to_owned();
        let fields = last
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("key=value");
                (k.to_owned(), v.parse::<f64>().expect("numeric value"))
            })
            .collect();
        Summary {
            stdout,
            last,
            fields,
        }
    }

    /// The keys of the last line, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.fields.iter().map(|(k, _)| k.as_str()).collect()
    }
}
