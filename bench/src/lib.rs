//! Benchmarks for Postern; see the README.

/// The `--flag value` command line of a benchmark binary, and its usage line.
pub struct Arguments {
    program: &'static str,
    usage: &'static str,
}

impl Arguments {
    /// `usage` lists the flags, e.g. `[--secs S] [--repeats N]`.
    pub const fn new(program: &'static str, usage: &'static str) -> Self {
        Arguments { program, usage }
    }

    /// Ends the program with the problem and the usage line (exit status 2).
    pub fn fail(&self, problem: &str) -> ! {
        eprintln!(
            "{}: {problem}\nusage: {} {}",
            self.program, self.program, self.usage
        );
        std::process::exit(2)
    }

    /// The `--flag value` pairs given; a flag without a value fails.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut arguments = std::env::args().skip(1);
        let mut pairs = Vec::new();
        while let Some(flag) = arguments.next() {
            let value = arguments
                .next()
                .unwrap_or_else(|| self.fail(&format!("{flag} needs a value")));
            pairs.push((flag, value));
        }
        pairs
    }

    /// `value` parsed, or failure naming `flag`.
    pub fn parse<T: std::str::FromStr>(&self, flag: &str, value: &str) -> T {
        value
            .parse()
            .unwrap_or_else(|_| self.fail(&format!("bad value for {flag}: {value}")))
    }
}
