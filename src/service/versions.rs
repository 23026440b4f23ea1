//! Versions and aliases of state machines: PublishStateMachineVersion,
//! ListStateMachineVersions, DeleteStateMachineVersion, the alias operations, and how a
//! qualified ARN (`...:stateMachine:NAME:N` for a version, `...:stateMachine:NAME:ALIAS` for
//! an alias) is resolved to the revision an execution runs.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use crate::clock::{Clock, SystemClock};

use super::api::{internal, Service};
use super::journal::{AliasRecord, ExecutionRecord, MachineRecord, VersionRecord, Write};
use super::protocol::{page_key, page_token, timestamp, valid_alias_name, ApiError, Arn, Members, ALIAS_NAME_PATTERN};

/// The most versions a state machine can have.
const MAX_VERSIONS: usize = 1000;
/// The most aliases a state machine can have.
const MAX_ALIASES: usize = 100;

/// What a state machine ARN names besides the machine itself.
#[derive(Clone, Debug)]
pub(super) enum Target {
    /// The machine (its current revision).
    Machine,
    /// One of its versions.
    Version(VersionRecord),
    /// One of its aliases.
    Alias(AliasRecord),
}

/// What StartExecution runs: a machine revision, and the version and alias the execution is
/// associated with.
#[derive(Clone, Debug)]
pub(super) struct Runnable {
    /// The revision to run.
    pub(super) machine: Arc<MachineRecord>,
    /// The version, when started by a version or alias ARN.
    pub(super) version_arn: Option<String>,
    /// The alias, when started through one.
    pub(super) alias_arn: Option<String>,
}

/// `StateMachineDoesNotExist` for `arn`.
pub(super) fn machine_missing(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

/// Adds `stateMachineVersionArn` and `stateMachineAliasArn` of an execution started by a
/// version or an alias.
pub(super) fn qualifiers(record: &ExecutionRecord, members: &mut Map<String, Json>) {
    if let Some(version) = &record.version_arn {
        members.insert("stateMachineVersionArn".into(), json!(version));
    }
    if let Some(alias) = &record.alias_arn {
        members.insert("stateMachineAliasArn".into(), json!(alias));
    }
}

/// `ResourceNotFound` for an alias that does not exist.
fn alias_missing() -> ApiError {
    ApiError::new("ResourceNotFound", "Request references a resource that does not exist.")
}

/// A `routingConfiguration` as read from a request: (version ARN, weight) pairs.
fn read_routing(m: &mut Members<'_>, required: bool) -> Result<Option<Vec<(String, u32)>>, ApiError> {
    let Some(items) = m.list("routingConfiguration", required, 1, 2)? else {
        return Ok(None);
    };
    let mut routing = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Json::Object(route) = item else {
            return Err(ApiError::serialization(
                "A routing configuration item must be a structure.",
            ));
        };
        let path = |member: &str| format!("routingConfiguration.{}.member.{member}", i + 1);
        let arn = m.nested_string(
            &path("stateMachineVersionArn"),
            route.get("stateMachineVersionArn"),
            true,
            1,
            256,
        )?;
        let weight = m.nested_integer(&path("weight"), route.get("weight"), true, 0, 100)?;
        routing.push((arn.unwrap_or("").to_string(), weight.unwrap_or(0).clamp(0, 100) as u32));
    }
    Ok(Some(routing))
}

/// The routing as the API shows it.
fn routing_json(routing: &[(String, u32)]) -> Json {
    Json::Array(
        routing
            .iter()
            .map(|(arn, weight)| json!({"stateMachineVersionArn": arn, "weight": weight}))
            .collect(),
    )
}

impl Service {
    /// What a state machine ARN names: the machine (with its current record) and, for a
    /// qualified ARN, the version or alias. `StateMachineDoesNotExist` (quoting `arn`) when
    /// there is no such machine or version; `ResourceNotFound` for an unknown alias.
    pub(super) fn target(&self, arn: &str) -> Result<(Arc<MachineRecord>, Target), ApiError> {
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        match parsed.parts.as_slice() {
            [_] => Ok((self.machine(arn)?, Target::Machine)),
            [_, qualifier] => {
                let machine_arn = &arn[..arn.len() - qualifier.len() - 1];
                let machine = self.machine(machine_arn).map_err(|e| {
                    if e.code == "StateMachineDoesNotExist" {
                        machine_missing(arn)
                    } else {
                        e
                    }
                })?;
                if !qualifier.is_empty() && qualifier.bytes().all(|b| b.is_ascii_digit()) {
                    let number: i64 = qualifier.parse().map_err(|_| machine_missing(arn))?;
                    let version = self
                        .journal
                        .version(machine_arn, number)
                        .map_err(internal)?
                        .ok_or_else(|| machine_missing(arn))?;
                    Ok((machine, Target::Version(version)))
                } else {
                    let alias = self
                        .journal
                        .alias(arn)
                        .map_err(internal)?
                        .ok_or_else(|| machine_missing(arn))?;
                    Ok((machine, Target::Alias(alias)))
                }
            }
            _ => Err(machine_missing(arn)),
        }
    }

    /// The machine record of a version's revision.
    pub(super) fn revision_of(&self, version: &VersionRecord) -> Result<Arc<MachineRecord>, ApiError> {
        self.journal
            .revision(&version.machine_arn, version.revision)
            .map_err(internal)?
            .map(Arc::new)
            .ok_or_else(|| ApiError::internal(format!("the revision of {} is missing", version.arn())))
    }

    /// What StartExecution on `arn` runs: the machine revision, and the version and alias ARNs
    /// the execution is associated with. An alias picks one of its versions at random by
    /// weight.
    pub(super) fn runnable(&self, arn: &str) -> Result<Runnable, ApiError> {
        match self.target(arn)? {
            (machine, Target::Machine) => Ok(Runnable {
                machine,
                version_arn: None,
                alias_arn: None,
            }),
            (_, Target::Version(version)) => Ok(Runnable {
                machine: self.revision_of(&version)?,
                version_arn: Some(version.arn()),
                alias_arn: None,
            }),
            (_, Target::Alias(alias)) => {
                let roll = (crate::entropy::random_u64() % 100) as u32;
                let mut total = 0;
                let chosen = alias
                    .routing
                    .iter()
                    .find(|(_, weight)| {
                        total += weight;
                        roll < total
                    })
                    .or(alias.routing.last())
                    .map(|(version, _)| version.clone())
                    .ok_or_else(|| ApiError::internal("the alias routes to no version"))?;
                let (_, target) = self.target(&chosen)?;
                let Target::Version(version) = target else {
                    return Err(ApiError::internal("the alias routes to something other than a version"));
                };
                Ok(Runnable {
                    machine: self.revision_of(&version)?,
                    version_arn: Some(chosen),
                    alias_arn: Some(alias.arn),
                })
            }
        }
    }

    /// Publishes the current revision of the machine `arn` (or returns its version, when it
    /// has one), checking `revision_id` against the current revision's.
    pub(super) async fn publish(
        &self,
        arn: &str,
        revision_id: Option<&str>,
        description: Option<&str>,
    ) -> Result<VersionRecord, ApiError> {
        let _admin = self.admin.lock().await;
        let record = self.machine(arn)?;
        if let Some(given) = revision_id {
            let current = record.revision_id.as_deref().unwrap_or("INITIAL");
            if given != current {
                return Err(ApiError::new(
                    "ConflictException",
                    format!(
                        "Failed to publish the State Machine version for revision {given}. The current State Machine revision is {current}."
                    ),
                ));
            }
        }
        self.publish_locked(&record, description).await
    }

    /// Publishes `record`'s revision; the caller holds `admin`.
    pub(super) async fn publish_locked(
        &self,
        record: &MachineRecord,
        description: Option<&str>,
    ) -> Result<VersionRecord, ApiError> {
        let existing = self
            .journal
            .versions(&record.arn, None, MAX_VERSIONS)
            .map_err(internal)?;
        if let Some(latest) = existing.first().filter(|v| v.revision == record.revision) {
            return Ok(latest.clone());
        }
        if existing.len() >= MAX_VERSIONS {
            return Err(ApiError::new(
                "ServiceQuotaExceededException",
                format!(
                    "Failed to publish the State Machine version: the state machine has reached the limit of {MAX_VERSIONS} versions."
                ),
            ));
        }
        let mut updated = record.clone();
        updated.latest_version += 1;
        let version = VersionRecord {
            machine_arn: record.arn.clone(),
            version: updated.latest_version,
            revision: record.revision,
            description: description.map(str::to_string),
            creation_ms: SystemClock.now_ms(),
        };
        self.commit(vec![
            Write::PutMachine(Box::new(updated)),
            Write::PutVersion(version.clone()),
        ])
        .await?;
        self.remember(&record.arn, None);
        Ok(version)
    }

    /// `PublishStateMachineVersion`.
    pub(super) async fn publish_state_machine_version(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        let revision_id = m.string("revisionId", false, 0, usize::MAX)?;
        let description = m.string("description", false, 0, 256)?;
        m.finish()?;
        let version = self.publish(arn.unwrap_or(""), revision_id, description).await?;
        Ok(json!({"stateMachineVersionArn": version.arn(), "creationDate": timestamp(version.creation_ms)}))
    }

    /// `ListStateMachineVersions`: newest first.
    pub(super) fn list_state_machine_versions(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        let token = m.string("nextToken", false, 1, 1024)?;
        let limit = m.max_results()?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        let machine = self.machine(arn)?;
        let scope = format!("ListStateMachineVersions {}", machine.arn);
        let before = match token {
            Some(token) => Some(
                page_key(&scope, token)?
                    .parse()
                    .map_err(|_| ApiError::invalid_token())?,
            ),
            None => None,
        };
        let mut page = self
            .journal
            .versions(&machine.arn, before, limit + 1)
            .map_err(internal)?;
        let more = page.len() > limit;
        page.truncate(limit);
        let items: Vec<Json> = page
            .iter()
            .map(|v| json!({"stateMachineVersionArn": v.arn(), "creationDate": timestamp(v.creation_ms)}))
            .collect();
        let mut out = json!({ "stateMachineVersions": items });
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = json!(page_token(&scope, &last.version.to_string()));
        }
        Ok(out)
    }

    /// `DeleteStateMachineVersion`: a version that does not exist is already deleted; one
    /// that an alias routes to stays (`ConflictException`).
    pub(super) async fn delete_state_machine_version(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineVersionArn", true, 1, 2000)?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        let _admin = self.admin.lock().await;
        let version = match self.target(arn) {
            Ok((_, Target::Version(version))) => version,
            Ok(_) => {
                return Err(ApiError::new(
                    "ValidationException",
                    format!("Invalid version ARN: '{arn}'"),
                ))
            }
            Err(e) if e.code == "StateMachineDoesNotExist" => return Ok(json!({})),
            Err(e) => return Err(e),
        };
        let referencing: Vec<String> = self
            .journal
            .aliases(&version.machine_arn)
            .map_err(internal)?
            .into_iter()
            .filter(|alias| alias.routing.iter().any(|(v, _)| v == arn))
            .map(|alias| alias.name)
            .collect();
        if !referencing.is_empty() {
            return Err(ApiError::new(
                "ConflictException",
                format!(
                    "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                    referencing.join(", ")
                ),
            ));
        }
        self.commit(vec![Write::DeleteVersion(version.machine_arn.clone(), version.version)])
            .await?;
        Ok(json!({}))
    }

    /// Checks a routing configuration: 1 or 2 distinct versions of one machine, weights
    /// summing to 100. Returns the machine's ARN.
    fn check_routing(&self, routing: &[(String, u32)]) -> Result<String, ApiError> {
        let listed = || {
            routing
                .iter()
                .map(|(arn, _)| arn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut machine_arn: Option<String> = None;
        for (arn, _) in routing {
            let parsed = Arn::parse(arn)?;
            let is_version = parsed.resource_type == "stateMachine"
                && parsed.parts.len() == 2
                && parsed.parts[1].bytes().all(|b| b.is_ascii_digit());
            if !is_version {
                return Err(ApiError::new(
                    "ValidationException",
                    format!(
                        "Routing configuration must contain state machine version ARNs. Received: [{}]",
                        listed()
                    ),
                ));
            }
            let owner = arn[..arn.len() - parsed.parts[1].len() - 1].to_string();
            match &machine_arn {
                Some(first) if *first != owner => {
                    return Err(ApiError::new(
                        "ValidationException",
                        format!(
                            "Routing configuration must contain state machine version ARNs of the same state machine. Received: [{}]",
                            listed()
                        ),
                    ))
                }
                _ => machine_arn = Some(owner),
            }
        }
        if routing.len() == 2 && routing[0].0 == routing[1].0 {
            return Err(ApiError::new(
                "ValidationException",
                format!(
                    "Routing configuration must contain distinct state machine version ARNs. Received: [{}]",
                    listed()
                ),
            ));
        }
        let sum: u32 = routing.iter().map(|(_, w)| w).sum();
        if sum != 100 {
            let weights: Vec<String> = routing.iter().map(|(_, w)| w.to_string()).collect();
            return Err(ApiError::new(
                "ValidationException",
                format!(
                    "Sum of routing configuration weights must equal 100. Received: [{}]",
                    weights.join(", ")
                ),
            ));
        }
        for (arn, _) in routing {
            match self.target(arn) {
                Ok((_, Target::Version(_))) => {}
                Ok(_) => return Err(ApiError::resource_not_found(arn)),
                Err(e) if e.code == "StateMachineDoesNotExist" => return Err(ApiError::resource_not_found(arn)),
                Err(e) => return Err(e),
            }
        }
        machine_arn.ok_or_else(|| ApiError::internal("an empty routing configuration"))
    }

    /// `CreateStateMachineAlias`.
    pub(super) async fn create_state_machine_alias(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let description = m.string("description", false, 0, 256)?;
        let name = m.string("name", true, 1, 80)?;
        if let Some(name) = name.filter(|n| !n.is_empty() && n.chars().count() <= 80) {
            if !valid_alias_name(name) {
                m.pattern_violation("name", name, ALIAS_NAME_PATTERN);
            }
        }
        let routing = read_routing(&mut m, true)?;
        m.finish()?;
        let (name, routing) = (name.unwrap_or(""), routing.unwrap_or_default());
        let _admin = self.admin.lock().await;
        let machine_arn = self.check_routing(&routing)?;
        let arn = format!("{machine_arn}:{name}");
        if let Some(existing) = self.journal.alias(&arn).map_err(internal)? {
            if existing.routing == routing && existing.description.as_deref() == description {
                return Ok(json!({"stateMachineAliasArn": arn, "creationDate": timestamp(existing.creation_ms)}));
            }
            return Err(ApiError::new(
                "ConflictException",
                "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
            ));
        }
        if self.journal.aliases(&machine_arn).map_err(internal)?.len() >= MAX_ALIASES {
            return Err(ApiError::new(
                "ServiceQuotaExceededException",
                format!("Failed to create alias: the state machine has reached the limit of {MAX_ALIASES} aliases."),
            ));
        }
        let now = SystemClock.now_ms();
        let alias = AliasRecord {
            arn: arn.clone(),
            machine_arn,
            name: name.to_string(),
            description: description.map(str::to_string),
            routing,
            creation_ms: now,
            update_ms: now,
        };
        self.commit(vec![Write::PutAlias(Box::new(alias))]).await?;
        Ok(json!({"stateMachineAliasArn": arn, "creationDate": timestamp(now)}))
    }

    /// The alias an ARN names, or `ResourceNotFound`.
    fn alias(&self, arn: &str) -> Result<AliasRecord, ApiError> {
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        if parsed.parts.len() != 2 {
            return Err(alias_missing());
        }
        self.journal.alias(arn).map_err(internal)?.ok_or_else(alias_missing)
    }

    /// `DescribeStateMachineAlias`.
    pub(super) fn describe_state_machine_alias(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineAliasArn", true, 1, 256)?;
        m.finish()?;
        let alias = self.alias(arn.unwrap_or(""))?;
        let mut out = json!({
            "stateMachineAliasArn": alias.arn,
            "name": alias.name,
            "routingConfiguration": routing_json(&alias.routing),
            "creationDate": timestamp(alias.creation_ms),
            "updateDate": timestamp(alias.update_ms),
        });
        if let Some(description) = &alias.description {
            out["description"] = json!(description);
        }
        Ok(out)
    }

    /// `UpdateStateMachineAlias`.
    pub(super) async fn update_state_machine_alias(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineAliasArn", true, 1, 256)?;
        let description = m.string("description", false, 0, 256)?;
        let routing = read_routing(&mut m, false)?;
        m.finish()?;
        if description.is_none() && routing.is_none() {
            return Err(ApiError::new(
                "ValidationException",
                "Either the description or the RoutingConfiguration must be specified",
            ));
        }
        let _admin = self.admin.lock().await;
        let mut alias = self.alias(arn.unwrap_or(""))?;
        if let Some(routing) = routing {
            let machine_arn = self.check_routing(&routing)?;
            if machine_arn != alias.machine_arn {
                return Err(ApiError::new(
                    "ValidationException",
                    format!(
                        "Routing configuration must contain state machine version ARNs of the alias's state machine. Received: [{}]",
                        routing.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            alias.routing = routing;
        }
        if let Some(description) = description {
            alias.description = Some(description.to_string());
        }
        alias.update_ms = SystemClock.now_ms();
        let update_ms = alias.update_ms;
        self.commit(vec![Write::PutAlias(Box::new(alias))]).await?;
        Ok(json!({ "updateDate": timestamp(update_ms) }))
    }

    /// `DeleteStateMachineAlias`: an alias that does not exist is already deleted.
    pub(super) async fn delete_state_machine_alias(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineAliasArn", true, 1, 256)?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        match self.alias(arn) {
            Ok(_) => {
                let _admin = self.admin.lock().await;
                self.commit(vec![Write::DeleteAlias(arn.to_string())]).await?;
                Ok(json!({}))
            }
            Err(e) if e.code == "ResourceNotFound" => Ok(json!({})),
            Err(e) => Err(e),
        }
    }

    /// `ListStateMachineAliases`: of a machine, or of one of its versions (the aliases
    /// routing to it), in name order.
    pub(super) fn list_state_machine_aliases(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        let token = m.string("nextToken", false, 1, 1024)?;
        let limit = m.max_results()?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        let (machine, version) = match self.target(arn)? {
            (machine, Target::Machine) => (machine, None),
            (machine, Target::Version(version)) => (machine, Some(version.arn())),
            (_, Target::Alias(_)) => return Err(ApiError::resource_not_found(arn)),
        };
        let scope = format!("ListStateMachineAliases {arn}");
        let after = token.map(|t| page_key(&scope, t)).transpose()?;
        let mut page: Vec<AliasRecord> = self
            .journal
            .aliases(&machine.arn)
            .map_err(internal)?
            .into_iter()
            .filter(|a| version.as_ref().is_none_or(|v| a.routing.iter().any(|(r, _)| r == v)))
            .filter(|a| after.as_ref().is_none_or(|after| a.name > *after))
            .take(limit + 1)
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let items: Vec<Json> = page
            .iter()
            .map(|a| json!({"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_ms)}))
            .collect();
        let mut out = json!({ "stateMachineAliases": items });
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = json!(page_token(&scope, &last.name));
        }
        Ok(out)
    }
}
