//! The in-memory directory: domains, accounts, aliases and catch-alls, and how a recipient
//! resolves to accounts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::address::{domain_of, normalise_address, normalise_domain};
use super::error::DirectoryError;

/// The version of `directory.json` this code reads and writes.
pub const FORMAT: u64 = 1;
/// How many alias hops a recipient may go through before reaching accounts; targets further
/// away are ignored, as are cycles.
pub const ALIAS_DEPTH_MAX: usize = 8;
/// Targets of one alias or catch-all.
pub const ALIAS_TARGETS_MAX: usize = 1000;

/// One mailbox owner who can log in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Normalised (see `normalise_address`).
    pub address: String,
    /// `{SCHEME}hash`, as `auth::password::check_stored` accepts.
    pub password: String,
    /// RFC 5803 `SCRAM-SHA-256$<iterations>:<salt>$<stored key>:<server key>`; absent for
    /// imported hashes, from which the keys cannot be derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scram_sha256: Option<String>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("address", &self.address)
            .field("password", &"<redacted>")
            .field(
                "scram_sha256",
                &self.scram_sha256.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Where mail for one recipient goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Deliver to these accounts: each once, sorted.
    Local(Vec<String>),
    /// The domain is ours but nobody receives mail at this address.
    UnknownUser,
    /// The domain is not ours (or the address is not valid).
    NotLocal,
}

/// The left side of an alias: an address, or `@domain` for a domain's catch-all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasSource {
    Address(String),
    CatchAll(String),
}

impl AliasSource {
    pub fn parse(input: &str) -> Result<AliasSource, DirectoryError> {
        match input.strip_prefix('@') {
            Some(domain) => normalise_domain(domain)
                .map(AliasSource::CatchAll)
                .map_err(|source| DirectoryError::Domain {
                    input: input.to_owned(),
                    source,
                }),
            None => parse_address(input).map(AliasSource::Address),
        }
    }

    fn domain(&self) -> &str {
        match self {
            AliasSource::Address(address) => domain_of(address),
            AliasSource::CatchAll(domain) => domain,
        }
    }
}

impl fmt::Display for AliasSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliasSource::Address(address) => f.write_str(address),
            AliasSource::CatchAll(domain) => write!(f, "@{domain}"),
        }
    }
}

/// One effect of a modification, for the administrator to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    DomainAdded(String),
    DomainRemoved(String),
    AccountAdded(String),
    AccountRemoved(String),
    PasswordChanged(String),
    TargetAdded { alias: String, target: String },
    TargetRemoved { alias: String, target: String },
    AliasRemoved { alias: String, emptied: bool },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::DomainAdded(domain) => write!(f, "added domain {domain}"),
            Change::DomainRemoved(domain) => write!(f, "deleted domain {domain}"),
            Change::AccountAdded(address) => write!(f, "added user {address}"),
            Change::AccountRemoved(address) => write!(f, "deleted user {address}"),
            Change::PasswordChanged(address) => write!(f, "changed the password of {address}"),
            Change::TargetAdded { alias, target } => {
                write!(f, "alias {alias}: added target {target}")
            }
            Change::TargetRemoved { alias, target } => {
                write!(f, "alias {alias}: removed target {target}")
            }
            Change::AliasRemoved {
                alias,
                emptied: true,
            } => write!(f, "deleted alias {alias} (no targets left)"),
            Change::AliasRemoved {
                alias,
                emptied: false,
            } => write!(f, "deleted alias {alias}"),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub replaced: usize,
}

/// Everything `directory.json` holds. Maps are ordered so that the file and every listing are
/// sorted. Invariants kept by the methods below: every key is normalised; every account, alias
/// and catch-all is in a local domain; no address is both an account and an alias; alias
/// targets are sorted, unique and non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    format: u64,
    #[serde(default)]
    domains: BTreeSet<String>,
    #[serde(default)]
    accounts: BTreeMap<String, Account>,
    #[serde(default)]
    aliases: BTreeMap<String, Vec<String>>,
    /// Domain → targets.
    #[serde(default)]
    catch_alls: BTreeMap<String, Vec<String>>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            format: FORMAT,
            domains: BTreeSet::new(),
            accounts: BTreeMap::new(),
            aliases: BTreeMap::new(),
            catch_alls: BTreeMap::new(),
        }
    }
}

fn parse_address(input: &str) -> Result<String, DirectoryError> {
    normalise_address(input).map_err(|source| DirectoryError::Address {
        input: input.to_owned(),
        source,
    })
}

fn parse_domain(input: &str) -> Result<String, DirectoryError> {
    normalise_domain(input).map_err(|source| DirectoryError::Domain {
        input: input.to_owned(),
        source,
    })
}

impl Directory {
    // ---- Reading -------------------------------------------------------------------------

    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }

    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.domains.iter().map(String::as_str)
    }

    /// Accounts, sorted by address.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// Aliases and catch-alls, sorted by source as displayed (`@domain` sorts first).
    pub fn aliases(&self) -> Vec<(AliasSource, &[String])> {
        let catch_alls = self
            .catch_alls
            .iter()
            .map(|(domain, targets)| (AliasSource::CatchAll(domain.clone()), targets.as_slice()));
        let aliases = self
            .aliases
            .iter()
            .map(|(address, targets)| (AliasSource::Address(address.clone()), targets.as_slice()));
        let mut all: Vec<_> = catch_alls.chain(aliases).collect();
        all.sort_by_cached_key(|(source, _)| source.to_string());
        all
    }

    /// The account for authentication. `address` is normalised first.
    pub fn account(&self, address: &str) -> Option<&Account> {
        let address = normalise_address(address).ok()?;
        self.accounts.get(&address)
    }

    /// Where mail for `address` goes: the account itself, else the alias's accounts, else the
    /// domain's catch-all. An alias whose targets all lead nowhere (cycles, too deep, deleted)
    /// falls through to the catch-all. An address that is not valid is `NotLocal`: the SMTP
    /// layer rejects bad syntax before asking.
    pub fn resolve(&self, address: &str) -> Resolution {
        let Ok(address) = normalise_address(address) else {
            return Resolution::NotLocal;
        };
        if self.accounts.contains_key(&address) {
            return Resolution::Local(vec![address]);
        }
        if let Some(targets) = self.aliases.get(&address) {
            let accounts = self.expand(Some(&address), targets);
            if !accounts.is_empty() {
                return Resolution::Local(accounts);
            }
        }
        let domain = domain_of(&address);
        if let Some(targets) = self.catch_alls.get(domain) {
            let accounts = self.expand(None, targets);
            if !accounts.is_empty() {
                return Resolution::Local(accounts);
            }
        }
        if self.domains.contains(domain) {
            Resolution::UnknownUser
        } else {
            Resolution::NotLocal
        }
    }

    /// Breadth first, so each address is met at its smallest depth; an address seen before is
    /// not expanded again, which stops cycles and repeated work on diamonds.
    fn expand(&self, source: Option<&str>, targets: &[String]) -> Vec<String> {
        let mut seen: BTreeSet<&str> = source.into_iter().collect();
        let mut accounts: BTreeSet<&str> = BTreeSet::new();
        let mut level: Vec<&str> = targets.iter().map(String::as_str).collect();
        for _depth in 1..=ALIAS_DEPTH_MAX {
            let mut next = Vec::new();
            for target in level {
                if !seen.insert(target) {
                    continue;
                }
                if self.accounts.contains_key(target) {
                    accounts.insert(target);
                } else if let Some(more) = self.aliases.get(target) {
                    next.extend(more.iter().map(String::as_str));
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        accounts.into_iter().map(str::to_owned).collect()
    }

    /// Whether every key is normalised, every account's address is its key and target lists
    /// are sorted and unique; `Err` says which entry is not. Called on load, so a hand edit that would make lookups miss is
    /// reported instead of silently ignored.
    pub(super) fn check_form(&self) -> Result<(), String> {
        for domain in self.domains.iter().chain(self.catch_alls.keys()) {
            if normalise_domain(domain).as_deref() != Ok(domain.as_str()) {
                return Err(format!(
                    "domain {domain:?} is not in normal form (lowercase, valid)"
                ));
            }
        }
        for address in self.accounts.keys().chain(self.aliases.keys()) {
            if normalise_address(address).as_deref() != Ok(address.as_str()) {
                return Err(format!(
                    "address {address:?} is not in normal form (lowercase, valid)"
                ));
            }
        }
        if let Some((key, account)) = self
            .accounts
            .iter()
            .find(|(key, account)| **key != account.address)
        {
            return Err(format!("account {key:?} has address {:?}", account.address));
        }
        let lists = self
            .aliases
            .iter()
            .map(|(a, t)| (a.clone(), t))
            .chain(self.catch_alls.iter().map(|(d, t)| (format!("@{d}"), t)));
        for (alias, targets) in lists {
            if targets.is_empty()
                || !targets.is_sorted()
                || targets.windows(2).any(|pair| pair[0] == pair[1])
            {
                return Err(format!(
                    "the targets of alias {alias:?} are not a sorted, non-empty list without repeats"
                ));
            }
        }
        Ok(())
    }

    // ---- Domains -------------------------------------------------------------------------

    pub fn add_domain(&mut self, domain: &str) -> Result<Change, DirectoryError> {
        let domain = parse_domain(domain)?;
        if self.domains.contains(&domain) {
            return Err(DirectoryError::DomainExists(domain));
        }
        self.domains.insert(domain.clone());
        Ok(Change::DomainAdded(domain))
    }

    /// Refused while accounts, aliases or a catch-all use the domain.
    pub fn remove_domain(&mut self, domain: &str) -> Result<Change, DirectoryError> {
        let domain = parse_domain(domain)?;
        if !self.domains.contains(&domain) {
            return Err(DirectoryError::DomainNotLocal(domain));
        }
        let in_domain = |address: &&String| domain_of(address) == domain;
        let accounts = self.accounts.keys().filter(in_domain).count();
        let aliases = self.aliases.keys().filter(in_domain).count();
        let catch_all = self.catch_alls.contains_key(&domain);
        if accounts > 0 || aliases > 0 || catch_all {
            let mut parts = Vec::new();
            if accounts > 0 {
                parts.push(plural(accounts, "account", "accounts"));
            }
            if aliases > 0 {
                parts.push(plural(aliases, "alias", "aliases"));
            }
            if catch_all {
                parts.push(format!("the catch-all @{domain}"));
            }
            let usage = join_words(&parts);
            let aliases = aliases + usize::from(catch_all);
            return Err(DirectoryError::DomainInUse {
                domain,
                usage,
                accounts,
                aliases,
            });
        }
        self.domains.remove(&domain);
        Ok(Change::DomainRemoved(domain))
    }

    fn require_local(&self, domain: &str) -> Result<(), DirectoryError> {
        if self.domains.contains(domain) {
            Ok(())
        } else {
            Err(DirectoryError::DomainNotLocal(domain.to_owned()))
        }
    }

    // ---- Accounts ------------------------------------------------------------------------

    /// Checks that `address` could be added as an account and returns it normalised. Call it
    /// before asking for a password, so a typo fails fast.
    pub fn check_new_account(&self, address: &str) -> Result<String, DirectoryError> {
        let address = parse_address(address)?;
        self.require_local(domain_of(&address))?;
        if self.accounts.contains_key(&address) {
            return Err(DirectoryError::UserExists(address));
        }
        if self.aliases.contains_key(&address) {
            return Err(DirectoryError::AddressIsAlias(address));
        }
        Ok(address)
    }

    /// `password` and `scram_sha256` are already hashed (see `auth`).
    pub fn add_account(
        &mut self,
        address: &str,
        password: String,
        scram_sha256: Option<String>,
    ) -> Result<Change, DirectoryError> {
        let address = self.check_new_account(address)?;
        let account = Account {
            address: address.clone(),
            password,
            scram_sha256,
        };
        self.accounts.insert(address.clone(), account);
        Ok(Change::AccountAdded(address))
    }

    /// Returns the normalised address of an existing account.
    pub fn check_account(&self, address: &str) -> Result<String, DirectoryError> {
        let address = parse_address(address)?;
        if !self.accounts.contains_key(&address) {
            return Err(DirectoryError::UnknownUser(address));
        }
        Ok(address)
    }

    /// Replaces both the hash and the SCRAM keys: keys left from the old password would let
    /// it keep working over SCRAM.
    pub fn set_password(
        &mut self,
        address: &str,
        password: String,
        scram_sha256: Option<String>,
    ) -> Result<Change, DirectoryError> {
        let address = self.check_account(address)?;
        let account = self.accounts.get_mut(&address).expect("checked above");
        account.password = password;
        account.scram_sha256 = scram_sha256;
        Ok(Change::PasswordChanged(address))
    }

    /// Removes the account and every alias target pointing at it; aliases left without
    /// targets go too (and in turn leave the aliases that pointed at them).
    pub fn remove_account(&mut self, address: &str) -> Result<Vec<Change>, DirectoryError> {
        let address = self.check_account(address)?;
        self.accounts.remove(&address);
        let mut changes = vec![Change::AccountRemoved(address.clone())];
        self.remove_target_everywhere(address, &mut changes);
        Ok(changes)
    }

    /// Adds or replaces many accounts at once, all or nothing: every domain must be local, no
    /// address may be an alias, and existing accounts are an error unless `replace`.
    pub fn import_accounts(
        &mut self,
        accounts: Vec<Account>,
        replace: bool,
    ) -> Result<ImportSummary, DirectoryError> {
        let missing: BTreeSet<&str> = accounts
            .iter()
            .map(|a| domain_of(&a.address))
            .filter(|d| !self.domains.contains(*d))
            .collect();
        if !missing.is_empty() {
            return Err(DirectoryError::DomainsNotLocal(
                missing.into_iter().map(str::to_owned).collect(),
            ));
        }
        if let Some(account) = accounts
            .iter()
            .find(|a| self.aliases.contains_key(&a.address))
        {
            return Err(DirectoryError::AddressIsAlias(account.address.clone()));
        }
        let existing: Vec<String> = accounts
            .iter()
            .filter(|a| self.accounts.contains_key(&a.address))
            .map(|a| a.address.clone())
            .collect();
        if !existing.is_empty() && !replace {
            return Err(DirectoryError::UsersExist(existing));
        }
        let summary = ImportSummary {
            added: accounts.len() - existing.len(),
            replaced: existing.len(),
        };
        for account in accounts {
            assert_eq!(
                normalise_address(&account.address).as_deref(),
                Ok(account.address.as_str())
            );
            self.accounts.insert(account.address.clone(), account);
        }
        Ok(summary)
    }

    // ---- Aliases -------------------------------------------------------------------------

    /// Creates the alias or catch-all, or adds targets to an existing one. Each target must be
    /// an existing account or alias: there is no outbound relay yet.
    pub fn add_alias(
        &mut self,
        source: &str,
        targets: &[String],
    ) -> Result<Vec<Change>, DirectoryError> {
        let source = AliasSource::parse(source)?;
        self.require_local(source.domain())?;
        if let AliasSource::Address(address) = &source {
            if self.accounts.contains_key(address) {
                return Err(DirectoryError::AddressIsAccount(address.clone()));
            }
        }
        let mut new_targets = Vec::with_capacity(targets.len());
        for target in targets {
            let target = parse_address(target)?;
            if matches!(&source, AliasSource::Address(address) if *address == target) {
                return Err(DirectoryError::SelfTarget(target));
            }
            if !self.domains.contains(domain_of(&target)) {
                return Err(DirectoryError::TargetNotLocal(target));
            }
            if !self.accounts.contains_key(&target) && !self.aliases.contains_key(&target) {
                return Err(DirectoryError::UnknownTarget(target));
            }
            new_targets.push(target);
        }
        new_targets.sort();
        new_targets.dedup();
        let alias = source.to_string();
        let list = match source {
            AliasSource::Address(address) => self.aliases.entry(address).or_default(),
            AliasSource::CatchAll(domain) => self.catch_alls.entry(domain).or_default(),
        };
        new_targets.retain(|target| list.binary_search(target).is_err());
        if list.len() + new_targets.len() > ALIAS_TARGETS_MAX {
            return Err(DirectoryError::TooManyTargets {
                alias,
                targets_max: ALIAS_TARGETS_MAX,
            });
        }
        let mut changes = Vec::with_capacity(new_targets.len());
        for target in new_targets {
            let position = list
                .binary_search(&target)
                .expect_err("new targets are not in the list");
            list.insert(position, target.clone());
            changes.push(Change::TargetAdded {
                alias: alias.clone(),
                target,
            });
        }
        Ok(changes)
    }

    /// Removes the given targets (the alias goes when none are left), or with no targets the
    /// whole alias. A removed alias also leaves the aliases that pointed at it.
    pub fn remove_alias(
        &mut self,
        source: &str,
        targets: &[String],
    ) -> Result<Vec<Change>, DirectoryError> {
        let source = AliasSource::parse(source)?;
        let alias = source.to_string();
        let list = match &source {
            AliasSource::Address(address) => self.aliases.get_mut(address),
            AliasSource::CatchAll(domain) => self.catch_alls.get_mut(domain),
        };
        let Some(list) = list else {
            return Err(DirectoryError::UnknownAlias(alias));
        };
        let mut changes = Vec::new();
        for target in targets {
            let target = parse_address(target)?;
            let Ok(position) = list.binary_search(&target) else {
                return Err(DirectoryError::NotATarget { alias, target });
            };
            list.remove(position);
            changes.push(Change::TargetRemoved {
                alias: alias.clone(),
                target,
            });
        }
        if list.is_empty() || targets.is_empty() {
            match &source {
                AliasSource::Address(address) => self.aliases.remove(address),
                AliasSource::CatchAll(domain) => self.catch_alls.remove(domain),
            };
            changes.push(Change::AliasRemoved {
                alias,
                emptied: !targets.is_empty(),
            });
            if let AliasSource::Address(address) = source {
                self.remove_target_everywhere(address, &mut changes);
            }
        }
        Ok(changes)
    }

    /// Removes `gone` from every alias and catch-all; those left empty are removed and their
    /// addresses removed in turn. Terminates: each round removes at least one alias.
    fn remove_target_everywhere(&mut self, gone: String, changes: &mut Vec<Change>) {
        let mut work = vec![gone];
        while let Some(gone) = work.pop() {
            for (address, targets) in self.aliases.iter_mut() {
                if let Ok(position) = targets.binary_search(&gone) {
                    targets.remove(position);
                    changes.push(Change::TargetRemoved {
                        alias: address.clone(),
                        target: gone.clone(),
                    });
                }
            }
            for (domain, targets) in self.catch_alls.iter_mut() {
                if let Ok(position) = targets.binary_search(&gone) {
                    targets.remove(position);
                    changes.push(Change::TargetRemoved {
                        alias: format!("@{domain}"),
                        target: gone.clone(),
                    });
                }
            }
            let emptied: Vec<String> = self
                .aliases
                .iter()
                .filter(|(_, targets)| targets.is_empty())
                .map(|(a, _)| a.clone())
                .collect();
            for address in emptied {
                self.aliases.remove(&address);
                changes.push(Change::AliasRemoved {
                    alias: address.clone(),
                    emptied: true,
                });
                work.push(address);
            }
            let emptied: Vec<String> = self
                .catch_alls
                .iter()
                .filter(|(_, targets)| targets.is_empty())
                .map(|(d, _)| d.clone())
                .collect();
            for domain in emptied {
                self.catch_alls.remove(&domain);
                changes.push(Change::AliasRemoved {
                    alias: format!("@{domain}"),
                    emptied: true,
                });
            }
        }
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let mut directory = Directory::default();
        directory.add_domain("example.test").unwrap();
        directory.add_domain("other.test").unwrap();
        for user in ["alice@example.test", "bob@example.test", "carol@other.test"] {
            directory
                .add_account(user, "{PLAIN}x".into(), None)
                .unwrap();
        }
        directory
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn local(items: &[&str]) -> Resolution {
        Resolution::Local(strings(items))
    }

    #[test]
    fn resolves_accounts_aliases_and_catch_alls() {
        let mut directory = directory();
        directory
            .add_alias(
                "team@example.test",
                &strings(&["bob@example.test", "alice@example.test"]),
            )
            .unwrap();
        directory
            .add_alias(
                "all@example.test",
                &strings(&["team@example.test", "carol@other.test"]),
            )
            .unwrap();
        assert_eq!(
            directory.resolve("Alice@Example.test"),
            local(&["alice@example.test"])
        );
        assert_eq!(
            directory.resolve("team@example.test"),
            local(&["alice@example.test", "bob@example.test"])
        );
        assert_eq!(
            directory.resolve("all@example.test"),
            local(&["alice@example.test", "bob@example.test", "carol@other.test"])
        );
        assert_eq!(
            directory.resolve("nobody@example.test"),
            Resolution::UnknownUser
        );
        assert_eq!(
            directory.resolve("alice@elsewhere.test"),
            Resolution::NotLocal
        );
        assert_eq!(directory.resolve("not an address"), Resolution::NotLocal);
        directory
            .add_alias("@example.test", &strings(&["team@example.test"]))
            .unwrap();
        assert_eq!(
            directory.resolve("nobody@example.test"),
            local(&["alice@example.test", "bob@example.test"])
        );
        assert_eq!(
            directory.resolve("nobody@other.test"),
            Resolution::UnknownUser
        );
    }

    #[test]
    fn cycles_end_and_accounts_come_once() {
        let mut directory = directory();
        directory
            .add_alias("a@example.test", &strings(&["alice@example.test"]))
            .unwrap();
        directory
            .add_alias(
                "b@example.test",
                &strings(&["a@example.test", "bob@example.test"]),
            )
            .unwrap();
        directory
            .add_alias("a@example.test", &strings(&["b@example.test"]))
            .unwrap();
        let both = local(&["alice@example.test", "bob@example.test"]);
        assert_eq!(directory.resolve("a@example.test"), both);
        assert_eq!(directory.resolve("b@example.test"), both);
    }

    #[test]
    fn alias_depth_is_limited() {
        let mut directory = directory();
        // hop0 -> alice; hop(n) -> hop(n-1). Resolving hop(n) takes n + 1 alias hops.
        directory
            .add_alias("hop0@example.test", &strings(&["alice@example.test"]))
            .unwrap();
        for n in 1..ALIAS_DEPTH_MAX {
            let previous = format!("hop{}@example.test", n - 1);
            directory
                .add_alias(&format!("hop{n}@example.test"), &[previous])
                .unwrap();
        }
        let deepest = format!("hop{}@example.test", ALIAS_DEPTH_MAX - 1);
        assert_eq!(directory.resolve(&deepest), local(&["alice@example.test"]));
        let previous = deepest;
        directory
            .add_alias("toodeep@example.test", &[previous])
            .unwrap();
        assert_eq!(
            directory.resolve("toodeep@example.test"),
            Resolution::UnknownUser
        );
    }

    #[test]
    fn alias_rules() {
        let mut directory = directory();
        let err = |r: Result<Vec<Change>, DirectoryError>| r.unwrap_err().to_string();
        assert!(
            err(directory.add_alias("x@nowhere.test", &strings(&["alice@example.test"])))
                .contains("not local")
        );
        assert!(
            err(directory.add_alias("x@example.test", &strings(&["a@remote.test"])))
                .contains("outbound relay")
        );
        assert!(
            err(directory.add_alias("x@example.test", &strings(&["ghost@example.test"])))
                .contains("neither")
        );
        assert!(
            err(directory.add_alias("alice@example.test", &strings(&["bob@example.test"])))
                .contains("is an account")
        );
        assert!(
            err(directory.add_alias("x@example.test", &strings(&["x@example.test"])))
                .contains("itself")
        );
        let changes = directory
            .add_alias(
                "x@example.test",
                &strings(&["bob@example.test", "bob@example.test"]),
            )
            .unwrap();
        assert_eq!(changes.len(), 1);
        assert!(
            directory
                .add_alias("x@example.test", &strings(&["bob@example.test"]))
                .unwrap()
                .is_empty()
        );
        assert!(
            err(directory.remove_alias("x@example.test", &strings(&["alice@example.test"])))
                .contains("no target")
        );
        assert!(err(directory.remove_alias("y@example.test", &[])).contains("no such alias"));
        let err = directory
            .add_account("x@example.test", "{PLAIN}x".into(), None)
            .unwrap_err();
        assert!(matches!(err, DirectoryError::AddressIsAlias(_)));
    }

    #[test]
    fn removing_an_account_cascades_through_aliases() {
        let mut directory = directory();
        directory
            .add_alias("solo@example.test", &strings(&["bob@example.test"]))
            .unwrap();
        directory
            .add_alias("outer@example.test", &strings(&["solo@example.test"]))
            .unwrap();
        directory
            .add_alias(
                "pair@example.test",
                &strings(&["alice@example.test", "bob@example.test"]),
            )
            .unwrap();
        directory
            .add_alias("@example.test", &strings(&["bob@example.test"]))
            .unwrap();
        let changes = directory.remove_account("bob@example.test").unwrap();
        let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "deleted user bob@example.test",
                "alias pair@example.test: removed target bob@example.test",
                "alias solo@example.test: removed target bob@example.test",
                "alias @example.test: removed target bob@example.test",
                "deleted alias solo@example.test (no targets left)",
                "deleted alias @example.test (no targets left)",
                "alias outer@example.test: removed target solo@example.test",
                "deleted alias outer@example.test (no targets left)",
            ]
        );
        let aliases = directory.aliases();
        assert_eq!(aliases.len(), 1);
        assert_eq!(aliases[0].1, ["alice@example.test"]);
        assert!(directory.check_form().is_ok());
    }

    #[test]
    fn domain_in_use_is_not_removed() {
        let mut directory = directory();
        directory
            .add_alias("@other.test", &strings(&["carol@other.test"]))
            .unwrap();
        let err = directory
            .remove_domain("other.test")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 account and the catch-all @other.test"),
            "{err}"
        );
        assert!(
            err.contains("postern user del` and `postern alias del"),
            "{err}"
        );
        directory.remove_alias("@other.test", &[]).unwrap();
        directory.remove_account("carol@other.test").unwrap();
        assert_eq!(
            directory.remove_domain("Other.Test").unwrap(),
            Change::DomainRemoved("other.test".into())
        );
        assert!(!directory.is_local_domain("other.test"));
        assert!(matches!(
            directory.remove_domain("other.test"),
            Err(DirectoryError::DomainNotLocal(_))
        ));
    }

    #[test]
    fn import_is_all_or_nothing() {
        let mut directory = directory();
        let account = |address: &str| Account {
            address: address.into(),
            password: "{PLAIN}y".into(),
            scram_sha256: None,
        };
        let before = directory.clone();
        let err = directory.import_accounts(
            vec![account("new@example.test"), account("x@nowhere.test")],
            false,
        );
        assert!(matches!(err, Err(DirectoryError::DomainsNotLocal(d)) if d == ["nowhere.test"]));
        let err = directory.import_accounts(
            vec![account("new@example.test"), account("alice@example.test")],
            false,
        );
        assert!(matches!(err, Err(DirectoryError::UsersExist(u)) if u == ["alice@example.test"]));
        assert_eq!(directory, before);
        let summary = directory
            .import_accounts(
                vec![account("new@example.test"), account("alice@example.test")],
                true,
            )
            .unwrap();
        assert_eq!(
            summary,
            ImportSummary {
                added: 1,
                replaced: 1
            }
        );
        assert_eq!(
            directory.account("ALICE@example.test").unwrap().password,
            "{PLAIN}y"
        );
    }

    #[test]
    fn account_debug_hides_secrets() {
        let account = Account {
            address: "a@example.test".into(),
            password: "{PLAIN}hunter2".into(),
            scram_sha256: Some("SCRAM-SHA-256$4096:c2FsdA==$a:b".into()),
        };
        let debug = format!("{account:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("c2FsdA"),
            "{debug}"
        );
    }
}
