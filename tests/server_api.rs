//! The operations of the Step Functions API beyond executions, driven through `aws-sdk-sfn`
//! against `quickstep serve`: versions and aliases (and executions started through them),
//! tags, the logging, tracing and encryption configurations, ValidateStateMachineDefinition,
//! paging tokens, and all of it surviving a restart. Errors are checked against AWS's codes
//! and messages (as recorded in LocalStack's AWS snapshots where they exist).

#[path = "common/server.rs"]
mod server;

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::{
    CloudWatchLogsLogGroup, EncryptionConfiguration, EncryptionType, LogDestination, LogLevel, LoggingConfiguration,
    RoutingConfigurationListItem, StateMachineType, Tag, TracingConfiguration,
    ValidateStateMachineDefinitionResultCode, ValidateStateMachineDefinitionSeverity,
};
use aws_sdk_sfn::Client;
use server::{closed, create, raw, runtime, scratch, Server, ACCOUNT, ROLE};

/// The code and message of a failed call.
fn failure<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> (String, String) {
    let error = result.expect_err("the call fails");
    (
        error.code().unwrap_or_default().to_string(),
        error.message().unwrap_or_default().to_string(),
    )
}

fn route(version: &str, weight: i32) -> RoutingConfigurationListItem {
    RoutingConfigurationListItem::builder()
        .state_machine_version_arn(version)
        .weight(weight)
        .build()
        .unwrap()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// A machine whose output says which definition ran.
fn says(word: &str) -> String {
    format!(r#"{{"StartAt": "Say", "States": {{"Say": {{"Type": "Pass", "Result": "{word}", "End": true}}}}}}"#)
}

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{name}")
}

/// The output of an execution started on `arn` (through a version or alias), with its
/// description.
async fn run(client: &Client, arn: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let started = client.start_execution().state_machine_arn(arn).send().await.unwrap();
    closed(client, &started.execution_arn).await
}

#[test]
fn versions_are_published_listed_described_and_deleted() {
    let server = Server::start(&scratch("api-versions"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let arn = machine_arn("versioned");
        // versionDescription needs publish.
        let (code, message) = failure(
            client
                .create_state_machine()
                .name("versioned")
                .definition(says("one"))
                .role_arn(ROLE)
                .version_description("first")
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("ValidationException", "Version description can only be set when publish is true")
        );
        let created = client
            .create_state_machine()
            .name("versioned")
            .definition(says("one"))
            .role_arn(ROLE)
            .publish(true)
            .version_description("first")
            .send()
            .await
            .unwrap();
        let v1 = format!("{arn}:1");
        assert_eq!(created.state_machine_version_arn(), Some(v1.as_str()));
        let described = client.describe_state_machine().state_machine_arn(&v1).send().await.unwrap();
        assert_eq!(described.state_machine_arn, v1);
        assert_eq!(described.description(), Some("first"));
        assert_eq!(described.definition, says("one"));
        // The machine itself has no description.
        let described = client.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!((described.state_machine_arn.as_str(), described.description()), (arn.as_str(), None));

        // Publishing an unchanged revision gives its version again.
        let again = client.publish_state_machine_version().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(again.state_machine_version_arn, v1);

        // An update that publishes makes version 2 and a revision.
        let updated = client
            .update_state_machine()
            .state_machine_arn(&arn)
            .definition(says("two"))
            .publish(true)
            .send()
            .await
            .unwrap();
        let v2 = format!("{arn}:2");
        assert_eq!(updated.state_machine_version_arn(), Some(v2.as_str()));
        let revision = updated.revision_id().expect("a revision id").to_string();
        // A version cannot be updated.
        let (code, message) = failure(
            client
                .update_state_machine()
                .state_machine_arn(&v2)
                .definition(says("three"))
                .send()
                .await,
        );
        assert_eq!(code, "StateMachineDoesNotExist");
        assert_eq!(message, format!("State Machine Does Not Exist: '{v2}'"));
        // A stale revision id is a conflict; the current one publishes (idempotently).
        let (code, message) = failure(
            client
                .publish_state_machine_version()
                .state_machine_arn(&arn)
                .revision_id("INITIAL")
                .send()
                .await,
        );
        assert_eq!(code, "ConflictException");
        assert_eq!(
            message,
            format!("Failed to publish the State Machine version for revision INITIAL. The current State Machine revision is {revision}.")
        );
        let same = client
            .publish_state_machine_version()
            .state_machine_arn(&arn)
            .revision_id(&revision)
            .send()
            .await
            .unwrap();
        assert_eq!(same.state_machine_version_arn, v2);

        // Newest first, a page at a time.
        let page = client
            .list_state_machine_versions()
            .state_machine_arn(&arn)
            .max_results(1)
            .send()
            .await
            .unwrap();
        assert_eq!(page.state_machine_versions[0].state_machine_version_arn, v2);
        let token = page.next_token.expect("a second page");
        let page = client
            .list_state_machine_versions()
            .state_machine_arn(&arn)
            .max_results(1)
            .next_token(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.state_machine_versions[0].state_machine_version_arn, v1);
        assert_eq!(page.next_token, None);
        // The token belongs to that listing.
        let (code, message) = failure(client.list_state_machines().next_token(&token).send().await);
        assert_eq!((code.as_str(), message.as_str()), ("InvalidToken", "Invalid Token: 'Invalid token'"));

        // Each version runs its own definition; executions name the plain machine.
        let one = run(&client, &v1).await;
        assert_eq!(one.output(), Some(r#""one""#));
        assert_eq!(one.state_machine_version_arn(), Some(v1.as_str()));
        assert_eq!(one.state_machine_alias_arn(), None);
        assert!(one.execution_arn.starts_with(&format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:versioned:")));
        assert_eq!(one.state_machine_arn, arn);
        let two = run(&client, &v2).await;
        assert_eq!(two.output(), Some(r#""two""#));
        let latest = run(&client, &arn).await;
        assert_eq!((latest.output(), latest.state_machine_version_arn()), (Some(r#""two""#), None));
        // Listing by version: that version's executions only.
        let listed = client.list_executions().state_machine_arn(&v1).send().await.unwrap();
        assert_eq!(listed.executions.len(), 1);
        assert_eq!(listed.executions[0].state_machine_version_arn(), Some(v1.as_str()));
        let all = client.list_executions().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(all.executions.len(), 3);
        // The execution's definition is its version's.
        let for_execution = client
            .describe_state_machine_for_execution()
            .execution_arn(&one.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!((for_execution.definition, for_execution.state_machine_arn), (says("one"), arn.clone()));

        // Deleted versions are gone, deleting again is fine, and numbers are never reused.
        client.delete_state_machine_version().state_machine_version_arn(&v2).send().await.unwrap();
        client.delete_state_machine_version().state_machine_version_arn(&v2).send().await.unwrap();
        let (code, message) = failure(client.start_execution().state_machine_arn(&v2).send().await);
        assert_eq!((code.as_str(), message), ("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{v2}'")));
        let v3 = client.publish_state_machine_version().state_machine_arn(&arn).send().await.unwrap();
        assert_eq!(v3.state_machine_version_arn, format!("{arn}:3"));

        // Unknown and malformed machines.
        let (code, message) = failure(
            client
                .publish_state_machine_version()
                .state_machine_arn("invalid_arn")
                .send()
                .await,
        );
        assert_eq!((code.as_str(), message.as_str()), ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: invalid_arn'"));
        let missing = machine_arn("missing");
        let (code, message) = failure(client.publish_state_machine_version().state_machine_arn(&missing).send().await);
        assert_eq!((code, message), ("StateMachineDoesNotExist".into(), format!("State Machine Does Not Exist: '{missing}'")));
        let (code, message) = failure(
            client
                .list_state_machine_versions()
                .state_machine_arn(&arn)
                .max_results(1001)
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "ValidationException",
                "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
            )
        );

        // Deleting the machine deletes its versions.
        client.delete_state_machine().state_machine_arn(&arn).send().await.unwrap();
        let (code, _) = failure(client.describe_state_machine().state_machine_arn(format!("{arn}:1")).send().await);
        assert_eq!(code, "StateMachineDoesNotExist");
    });
}

#[test]
fn aliases_route_executions_by_weight() {
    let server = Server::start(&scratch("api-aliases"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let arn = machine_arn("routed");
        client
            .create_state_machine()
            .name("routed")
            .definition(says("one"))
            .role_arn(ROLE)
            .publish(true)
            .send()
            .await
            .unwrap();
        client
            .update_state_machine()
            .state_machine_arn(&arn)
            .definition(says("two"))
            .publish(true)
            .send()
            .await
            .unwrap();
        let (v1, v2) = (format!("{arn}:1"), format!("{arn}:2"));
        let alias = format!("{arn}:live");

        // Routing rules, with AWS's messages.
        for (routing, expected) in [
            (
                vec![route(&v1, 70), route(&v2, 29)],
                "Sum of routing configuration weights must equal 100. Received: [70, 29]".to_string(),
            ),
            (
                vec![route(&v1, 50), route(&v1, 50)],
                format!("Routing configuration must contain distinct state machine version ARNs. Received: [{v1}, {v1}]"),
            ),
            (
                vec![route(&arn, 100)],
                format!("Routing configuration must contain state machine version ARNs. Received: [{arn}]"),
            ),
            (
                vec![route(&v1, 101)],
                "1 validation error detected: Value '101' at 'routingConfiguration.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100".to_string(),
            ),
        ] {
            let (code, message) = failure(
                client
                    .create_state_machine_alias()
                    .name("live")
                    .set_routing_configuration(Some(routing))
                    .send()
                    .await,
            );
            assert_eq!((code.as_str(), message), ("ValidationException", expected));
        }
        for bad in ["123", "INVALID ALIAS", "ALIAS@"] {
            let (code, message) = failure(
                client
                    .create_state_machine_alias()
                    .name(bad)
                    .routing_configuration(route(&v1, 100))
                    .send()
                    .await,
            );
            assert_eq!(code, "ValidationException");
            assert_eq!(
                message,
                format!(
                    "1 validation error detected: Value '{bad}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"
                )
            );
        }

        let created = client
            .create_state_machine_alias()
            .name("live")
            .description("production")
            .routing_configuration(route(&v1, 100))
            .send()
            .await
            .unwrap();
        assert_eq!(created.state_machine_alias_arn, alias);
        // The same request again is the same alias; a different one is a conflict.
        let again = client
            .create_state_machine_alias()
            .name("live")
            .description("production")
            .routing_configuration(route(&v1, 100))
            .send()
            .await
            .unwrap();
        assert_eq!(again.creation_date, created.creation_date);
        let (code, message) = failure(
            client
                .create_state_machine_alias()
                .name("live")
                .routing_configuration(route(&v2, 100))
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "ConflictException",
                "Failed to create alias because an alias with the same name and a different routing configuration already exists."
            )
        );

        let described = client.describe_state_machine_alias().state_machine_alias_arn(&alias).send().await.unwrap();
        assert_eq!(described.name(), Some("live"));
        assert_eq!(described.description(), Some("production"));
        assert_eq!(described.routing_configuration(), [route(&v1, 100)]);

        // Through the alias: version 1, and both ARNs on the execution.
        let first = run(&client, &alias).await;
        assert_eq!(first.output(), Some(r#""one""#));
        assert_eq!(first.state_machine_alias_arn(), Some(alias.as_str()));
        assert_eq!(first.state_machine_version_arn(), Some(v1.as_str()));

        // Half and half: 40 executions go to both versions.
        client
            .update_state_machine_alias()
            .state_machine_alias_arn(&alias)
            .routing_configuration(route(&v1, 50))
            .routing_configuration(route(&v2, 50))
            .send()
            .await
            .unwrap();
        let mut outputs = std::collections::BTreeSet::new();
        for _ in 0..40 {
            outputs.insert(run(&client, &alias).await.output.unwrap());
        }
        assert_eq!(outputs.into_iter().collect::<Vec<_>>(), [r#""one""#, r#""two""#]);
        let through_alias = client.list_executions().state_machine_arn(&alias).max_results(1000).send().await.unwrap();
        assert_eq!(through_alias.executions.len(), 41);
        assert!(through_alias.executions.iter().all(|e| e.state_machine_alias_arn() == Some(alias.as_str())));

        // A version an alias routes to stays.
        let (code, message) = failure(client.delete_state_machine_version().state_machine_version_arn(&v1).send().await);
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "ConflictException",
                "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [live]"
            )
        );

        // Listing: by machine, by version, a page at a time.
        client
            .create_state_machine_alias()
            .name("canary")
            .routing_configuration(route(&v2, 100))
            .send()
            .await
            .unwrap();
        let page = client.list_state_machine_aliases().state_machine_arn(&arn).max_results(1).send().await.unwrap();
        assert_eq!(page.state_machine_aliases[0].state_machine_alias_arn, format!("{arn}:canary"));
        let token = page.next_token.expect("a second page");
        let page = client
            .list_state_machine_aliases()
            .state_machine_arn(&arn)
            .next_token(token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.state_machine_aliases[0].state_machine_alias_arn, alias);
        let of_v1 = client.list_state_machine_aliases().state_machine_arn(&v1).send().await.unwrap();
        assert_eq!(of_v1.state_machine_aliases.len(), 1);
        let (code, message) = failure(
            client
                .list_state_machine_aliases()
                .state_machine_arn(&arn)
                .next_token("garbage")
                .send()
                .await,
        );
        assert_eq!((code.as_str(), message.as_str()), ("InvalidToken", "Invalid Token: 'Invalid token'"));

        // Unknown aliases.
        let unknown = format!("{arn}:nope");
        let (code, message) = failure(
            client
                .update_state_machine_alias()
                .state_machine_alias_arn(&unknown)
                .description("x")
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("ResourceNotFound", "Request references a resource that does not exist.")
        );
        let (code, _) = failure(client.describe_state_machine_alias().state_machine_alias_arn(&unknown).send().await);
        assert_eq!(code, "ResourceNotFound");
        client.delete_state_machine_alias().state_machine_alias_arn(&unknown).send().await.unwrap();

        // Deleting the alias frees its version.
        client.delete_state_machine_alias().state_machine_alias_arn(&alias).send().await.unwrap();
        let (code, _) = failure(client.describe_state_machine_alias().state_machine_alias_arn(&alias).send().await);
        assert_eq!(code, "ResourceNotFound");
        client.delete_state_machine_version().state_machine_version_arn(&v1).send().await.unwrap();

        // Express machines have versions too, run by StartSyncExecution.
        let express = create(&client, "quick", &says("fast"), StateMachineType::Express).await;
        let version = client.publish_state_machine_version().state_machine_arn(&express).send().await.unwrap();
        let out = client
            .start_sync_execution()
            .state_machine_arn(&version.state_machine_version_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(out.output(), Some(r#""fast""#));
    });
}

#[test]
fn tags_on_machines_and_activities() {
    let server = Server::start(&scratch("api-tags"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let arn = client
            .create_state_machine()
            .name("tagged")
            .definition(says("hi"))
            .role_arn(ROLE)
            .tags(tag("team", "blue"))
            .tags(tag("cost", ""))
            .publish(true)
            .send()
            .await
            .unwrap()
            .state_machine_arn;
        let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert_eq!(listed.tags(), [tag("team", "blue"), tag("cost", "")]);
        // Upserted in place, removed by key (absent keys are fine).
        client
            .tag_resource()
            .resource_arn(&arn)
            .tags(tag("team", "red"))
            .tags(tag("env", "ci"))
            .send()
            .await
            .unwrap();
        client
            .untag_resource()
            .resource_arn(&arn)
            .tag_keys("cost")
            .tag_keys("never-there")
            .send()
            .await
            .unwrap();
        let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert_eq!(listed.tags(), [tag("team", "red"), tag("env", "ci")]);

        // Versions and aliases cannot be tagged.
        let version = format!("{arn}:1");
        let (code, message) = failure(client.tag_resource().resource_arn(&version).tags(tag("a", "b")).send().await);
        assert_eq!((code, message), ("ResourceNotFound".into(), format!("Resource not found: '{version}'")));
        // At most 50 tags.
        let mut request = client.tag_resource().resource_arn(&arn);
        for i in 0..49 {
            request = request.tags(tag(&format!("k{i}"), "v"));
        }
        let (code, _) = failure(request.send().await);
        assert_eq!(code, "TooManyTags");
        let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert_eq!(listed.tags().len(), 2, "a refused TagResource changes nothing");
        // Key and value lengths.
        let (code, message) = failure(
            client
                .tag_resource()
                .resource_arn(&arn)
                .tags(tag(&"k".repeat(129), "v"))
                .send()
                .await,
        );
        assert_eq!(code, "ValidationException");
        assert!(
            message.ends_with("at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"),
            "{message}"
        );

        // Activities.
        let activity = client
            .create_activity()
            .name("worker")
            .tags(tag("owner", "me"))
            .send()
            .await
            .unwrap()
            .activity_arn;
        let listed = client.list_tags_for_resource().resource_arn(&activity).send().await.unwrap();
        assert_eq!(listed.tags(), [tag("owner", "me")]);
        client.untag_resource().resource_arn(&activity).tag_keys("owner").send().await.unwrap();
        let listed = client.list_tags_for_resource().resource_arn(&activity).send().await.unwrap();
        assert!(listed.tags().is_empty());

        // Unknown and malformed resources.
        let missing = machine_arn("missing");
        let (code, message) = failure(client.list_tags_for_resource().resource_arn(&missing).send().await);
        assert_eq!((code, message), ("ResourceNotFound".into(), format!("Resource not found: '{missing}'")));
        let (code, _) = failure(client.list_tags_for_resource().resource_arn("nope").send().await);
        assert_eq!(code, "InvalidArn");
        // Deleting a machine deletes its tags.
        client.delete_state_machine().state_machine_arn(&arn).send().await.unwrap();
        create(&client, "tagged", &says("hi"), StateMachineType::Standard).await;
        let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert!(listed.tags().is_empty());
    });
}

#[test]
fn configurations_are_stored_and_returned() {
    let server = Server::start(&scratch("api-configurations"), &[]);
    let client = server.client();
    runtime().block_on(async {
        // AWS's defaults when absent.
        let plain = create(&client, "plain", &says("hi"), StateMachineType::Standard).await;
        let described = client
            .describe_state_machine()
            .state_machine_arn(&plain)
            .send()
            .await
            .unwrap();
        let logging = described.logging_configuration().unwrap();
        assert_eq!(
            (logging.level(), logging.include_execution_data()),
            (Some(&LogLevel::Off), false)
        );
        assert!(!described.tracing_configuration().unwrap().enabled());
        assert_eq!(
            described.encryption_configuration().unwrap().r#type(),
            &EncryptionType::AwsOwnedKey
        );

        let group = "arn:aws:logs:us-east-1:123456789012:log-group:flows:*";
        let destination = LogDestination::builder()
            .cloud_watch_logs_log_group(CloudWatchLogsLogGroup::builder().log_group_arn(group).build())
            .build();
        let configured = client
            .create_state_machine()
            .name("configured")
            .definition(says("hi"))
            .role_arn(ROLE)
            .logging_configuration(
                LoggingConfiguration::builder()
                    .level(LogLevel::Error)
                    .include_execution_data(true)
                    .destinations(destination.clone())
                    .build(),
            )
            .tracing_configuration(TracingConfiguration::builder().enabled(true).build())
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .r#type(EncryptionType::CustomerManagedKmsKey)
                    .kms_key_id("alias/flows")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .state_machine_arn;
        let described = client
            .describe_state_machine()
            .state_machine_arn(&configured)
            .send()
            .await
            .unwrap();
        let logging = described.logging_configuration().unwrap();
        assert_eq!(logging.level(), Some(&LogLevel::Error));
        assert!(logging.include_execution_data());
        assert_eq!(logging.destinations(), [destination]);
        assert!(described.tracing_configuration().unwrap().enabled());
        let encryption = described.encryption_configuration().unwrap();
        assert_eq!(
            (
                encryption.r#type(),
                encryption.kms_key_id(),
                encryption.kms_data_key_reuse_period_seconds()
            ),
            (&EncryptionType::CustomerManagedKmsKey, Some("alias/flows"), Some(300))
        );

        // An update of the tracing alone is a new revision; the rest stays.
        let updated = client
            .update_state_machine()
            .state_machine_arn(&configured)
            .tracing_configuration(TracingConfiguration::builder().enabled(false).build())
            .send()
            .await
            .unwrap();
        assert!(updated.revision_id().is_some());
        let described = client
            .describe_state_machine()
            .state_machine_arn(&configured)
            .send()
            .await
            .unwrap();
        assert!(!described.tracing_configuration().unwrap().enabled());
        assert_eq!(
            described.logging_configuration().unwrap().level(),
            Some(&LogLevel::Error)
        );

        // Refused configurations.
        let (code, message) = failure(
            client
                .create_state_machine()
                .name("loud")
                .definition(says("hi"))
                .role_arn(ROLE)
                .logging_configuration(LoggingConfiguration::builder().level(LogLevel::All).build())
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "InvalidLoggingConfiguration",
                "Invalid Logging Configuration: Must specify exactly one Log Destination."
            )
        );
        let (code, _) = failure(
            client
                .create_state_machine()
                .name("keyless")
                .definition(says("hi"))
                .role_arn(ROLE)
                .encryption_configuration(
                    EncryptionConfiguration::builder()
                        .r#type(EncryptionType::CustomerManagedKmsKey)
                        .build()
                        .unwrap(),
                )
                .send()
                .await,
        );
        assert_eq!(code, "InvalidEncryptionConfiguration");

        // Activities keep theirs.
        let activity = client
            .create_activity()
            .name("sealed")
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .r#type(EncryptionType::CustomerManagedKmsKey)
                    .kms_key_id("alias/work")
                    .kms_data_key_reuse_period_seconds(60)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .activity_arn;
        let described = client.describe_activity().activity_arn(&activity).send().await.unwrap();
        let encryption = described.encryption_configuration().unwrap();
        assert_eq!(
            (encryption.kms_key_id(), encryption.kms_data_key_reuse_period_seconds()),
            (Some("alias/work"), Some(60))
        );
    });
}

#[test]
fn definitions_are_validated_with_aws_diagnostics() {
    let server = Server::start(&scratch("api-validate"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let ok = client.validate_state_machine_definition().definition(says("hi")).send().await.unwrap();
        assert_eq!(ok.result(), &ValidateStateMachineDefinitionResultCode::Ok);
        assert!(ok.diagnostics().is_empty());
        assert_eq!(ok.truncated(), Some(false));

        // An empty definition is a diagnostic, not a refused request (recorded on AWS); the
        // exact body (no location) is checked over raw HTTP.
        let empty = client.validate_state_machine_definition().definition("").send().await.unwrap();
        assert_eq!(empty.result(), &ValidateStateMachineDefinitionResultCode::Fail);
        let (status, body) = raw(
            server.port,
            Some("AWSStepFunctions.ValidateStateMachineDefinition"),
            r#"{"definition": ""}"#,
        );
        assert_eq!(status, 200);
        assert_eq!(
            body,
            serde_json::json!({"result": "FAIL", "truncated": false, "diagnostics": [
                {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "Definition must be a valid JSON object"}]})
        );

        let not_json = client
            .validate_state_machine_definition()
            .definition("not a definition")
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.result(), &ValidateStateMachineDefinitionResultCode::Fail);
        let d = &not_json.diagnostics()[0];
        assert_eq!(d.code(), "INVALID_JSON_DESCRIPTION");
        assert_eq!(d.location(), Some("[Source: (String)\"not a definition\"; line: 1, column: 4]"));
        assert!(d.message().starts_with("Unrecognized token 'not'"), "{}", d.message());

        let bare = client.validate_state_machine_definition().definition("{}").send().await.unwrap();
        let d = &bare.diagnostics()[0];
        assert_eq!(
            (d.severity(), d.code(), d.message(), d.location()),
            (
                &ValidateStateMachineDefinitionSeverity::Error,
                "SCHEMA_VALIDATION_FAILED",
                "These fields are required: [States, StartAt]",
                Some("/")
            )
        );

        // The type changes the rules.
        let callback = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}}"#;
        let standard = client.validate_state_machine_definition().definition(callback).send().await.unwrap();
        assert_eq!(standard.result(), &ValidateStateMachineDefinitionResultCode::Ok);
        let express = client
            .validate_state_machine_definition()
            .definition(callback)
            .r#type(StateMachineType::Express)
            .send()
            .await
            .unwrap();
        assert_eq!(express.result(), &ValidateStateMachineDefinitionResultCode::Fail);
        assert_eq!(
            express.diagnostics()[0].message(),
            "Express state machine does not support '.waitForTaskToken' service integration "
        );

        // At most maxResults diagnostics, with `truncated` saying so.
        let two_bad = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "X"}, "B": {"Type": "Pass", "Next": "Y"}}}"#;
        let all = client.validate_state_machine_definition().definition(two_bad).send().await.unwrap();
        assert!(all.diagnostics().len() >= 2, "{:?}", all.diagnostics());
        let one = client
            .validate_state_machine_definition()
            .definition(two_bad)
            .max_results(1)
            .send()
            .await
            .unwrap();
        assert_eq!((one.diagnostics().len(), one.truncated()), (1, Some(true)));
        let (code, message) = failure(
            client
                .validate_state_machine_definition()
                .definition(two_bad)
                .max_results(101)
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "ValidationException",
                "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
            )
        );
    });
}

#[test]
fn paging_tokens_belong_to_their_request() {
    let server = Server::start(&scratch("api-tokens"), &[]);
    let client = server.client();
    runtime().block_on(async {
        for name in ["a", "b"] {
            create(&client, name, &says(name), StateMachineType::Standard).await;
            client.create_activity().name(name).send().await.unwrap();
        }
        let machines = client.list_state_machines().max_results(1).send().await.unwrap();
        let token = machines.next_token.expect("a second page");
        let (code, _) = failure(client.list_activities().next_token(&token).send().await);
        assert_eq!(code, "InvalidToken");
        let page = client.list_state_machines().next_token(&token).send().await.unwrap();
        assert_eq!(page.state_machines[0].name, "b");

        let arn = machine_arn("a");
        for _ in 0..2 {
            run(&client, &arn).await;
        }
        let executions = client
            .list_executions()
            .state_machine_arn(&arn)
            .max_results(1)
            .send()
            .await
            .unwrap();
        let token = executions.next_token.expect("a second page");
        // Another filter, another machine: not this token's request.
        let (code, _) = failure(
            client
                .list_executions()
                .state_machine_arn(&arn)
                .status_filter(aws_sdk_sfn::types::ExecutionStatus::Failed)
                .next_token(&token)
                .send()
                .await,
        );
        assert_eq!(code, "InvalidToken");
        let (code, _) = failure(
            client
                .list_executions()
                .state_machine_arn(machine_arn("b"))
                .next_token(&token)
                .send()
                .await,
        );
        assert_eq!(code, "InvalidToken");
        let page = client
            .list_executions()
            .state_machine_arn(&arn)
            .next_token(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.executions.len(), 1);
    });
}

#[test]
fn versions_aliases_and_tags_survive_a_restart() {
    let db = scratch("api-restart");
    let arn = machine_arn("durable");
    let alias = format!("{arn}:live");
    let execution = {
        let server = Server::start(&db, &[]);
        let client = server.client();
        let execution = runtime().block_on(async {
            client
                .create_state_machine()
                .name("durable")
                .definition(says("one"))
                .role_arn(ROLE)
                .publish(true)
                .version_description("first")
                .tags(tag("team", "blue"))
                .send()
                .await
                .unwrap();
            client
                .create_state_machine_alias()
                .name("live")
                .routing_configuration(route(&format!("{arn}:1"), 100))
                .send()
                .await
                .unwrap();
            client
                .update_state_machine()
                .state_machine_arn(&arn)
                .definition(says("two"))
                .send()
                .await
                .unwrap();
            run(&client, &alias).await.execution_arn
        });
        server.kill();
        execution
    };
    let server = Server::start(&db, &[]);
    let client = server.client();
    runtime().block_on(async {
        let versions = client
            .list_state_machine_versions()
            .state_machine_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(versions.state_machine_versions.len(), 1);
        let described = client
            .describe_state_machine()
            .state_machine_arn(format!("{arn}:1"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (described.definition, described.description),
            (says("one"), Some("first".into()))
        );
        let described = client
            .describe_state_machine_alias()
            .state_machine_alias_arn(&alias)
            .send()
            .await
            .unwrap();
        assert_eq!(described.routing_configuration(), [route(&format!("{arn}:1"), 100)]);
        let tags = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert_eq!(tags.tags(), [tag("team", "blue")]);
        let before = client
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap();
        assert_eq!(before.state_machine_alias_arn(), Some(alias.as_str()));
        assert_eq!(before.state_machine_version_arn(), Some(format!("{arn}:1").as_str()));
        // The alias still runs version 1, and the next version is 2.
        assert_eq!(run(&client, &alias).await.output(), Some(r#""one""#));
        let v2 = client
            .publish_state_machine_version()
            .state_machine_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(v2.state_machine_version_arn, format!("{arn}:2"));
    });
}

/// A Task on an activity, then a Pass reporting `$$.Execution.RedriveCount`.
fn redrivable() -> String {
    format!(
        r#"{{"StartAt": "Work", "States": {{
            "Work": {{"Type": "Task", "Resource": "arn:aws:states:us-east-1:{ACCOUNT}:activity:redrive-worker", "TimeoutSeconds": 60, "Next": "Done"}},
            "Done": {{"Type": "Pass", "Parameters": {{"answer.$": "$.answer", "redrives.$": "$$.Execution.RedriveCount"}}, "End": true}}}}}}"#
    )
}

/// The next task of the `redrive-worker` activity (polling until there is one).
async fn take_activity_task(client: &Client) -> String {
    let activity = format!("arn:aws:states:us-east-1:{ACCOUNT}:activity:redrive-worker");
    loop {
        let task = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
        if let Some(token) = task.task_token {
            return token;
        }
    }
}

#[test]
fn failed_and_aborted_executions_are_redriven() {
    let db = scratch("api-redrive");
    let server = Server::start(&db, &[]);
    let client = server.client();
    let (machine, execution) = runtime().block_on(async {
        client.create_activity().name("redrive-worker").send().await.unwrap();
        let machine = create(&client, "redriven", &redrivable(), StateMachineType::Standard).await;
        let started = client
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap();
        let token = take_activity_task(&client).await;
        client
            .send_task_failure()
            .task_token(token)
            .error("Boom")
            .send()
            .await
            .unwrap();
        let failed = closed(&client, &started.execution_arn).await;
        assert_eq!(failed.status, aws_sdk_sfn::types::ExecutionStatus::Failed);
        assert_eq!(failed.error(), Some("Boom"));
        assert_eq!(
            failed.redrive_status(),
            Some(&aws_sdk_sfn::types::ExecutionRedriveStatus::Redrivable)
        );
        assert_eq!(
            (failed.redrive_count(), failed.redrive_status_reason()),
            (Some(0), None)
        );
        let redriven = client
            .redrive_execution()
            .execution_arn(&failed.execution_arn)
            .client_token("first-redrive")
            .send()
            .await
            .unwrap();
        let described = client
            .describe_execution()
            .execution_arn(&failed.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(described.status, aws_sdk_sfn::types::ExecutionStatus::Running);
        assert_eq!(described.redrive_count(), Some(1));
        assert_eq!(described.redrive_date(), Some(&redriven.redrive_date));
        assert_eq!((described.stop_date(), described.error()), (None, None));
        // The same client token answers as it did (a retry); without it, a running execution
        // is not redrivable.
        let again = client
            .redrive_execution()
            .execution_arn(&failed.execution_arn)
            .client_token("first-redrive")
            .send()
            .await
            .unwrap();
        assert_eq!(again.redrive_date, redriven.redrive_date);
        let (code, message) = failure(
            client
                .redrive_execution()
                .execution_arn(&failed.execution_arn)
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("ExecutionNotRedrivable", "Execution is RUNNING and cannot be redriven")
        );
        (machine, failed.execution_arn)
    });
    // The redriven execution survives a restart: its Task waits for a worker again.
    server.kill();
    let server = Server::start(&db, &[]);
    let client = server.client();
    runtime().block_on(async {
        let task = take_activity_task(&client).await;
        client
            .send_task_success()
            .task_token(task)
            .output(r#"{"answer": 42}"#)
            .send()
            .await
            .unwrap();
        let done = closed(&client, &execution).await;
        assert_eq!(done.status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
        assert_eq!(done.output(), Some(r#"{"answer":42,"redrives":1}"#));
        assert_eq!(done.redrive_count(), Some(1));
        assert_eq!(
            done.redrive_status_reason(),
            Some("Execution is SUCCEEDED and cannot be redriven")
        );

        // The history goes on: ExecutionRedriven, then the state that failed, entered again.
        let events = client
            .get_execution_history()
            .execution_arn(&execution)
            .max_results(1000)
            .send()
            .await
            .unwrap()
            .events;
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=events.len() as i64).collect::<Vec<_>>());
        let at = events
            .iter()
            .position(|e| e.r#type == aws_sdk_sfn::types::HistoryEventType::ExecutionRedriven)
            .expect("an ExecutionRedriven event");
        assert_eq!(
            events[at - 1].r#type,
            aws_sdk_sfn::types::HistoryEventType::ExecutionFailed
        );
        assert_eq!(
            events[at]
                .execution_redriven_event_details()
                .and_then(|d| d.redrive_count()),
            Some(1)
        );
        let entered = &events[at + 1];
        assert_eq!(entered.r#type, aws_sdk_sfn::types::HistoryEventType::TaskStateEntered);
        assert_eq!(entered.state_entered_event_details().map(|d| d.name()), Some("Work"));
        assert_eq!(
            events.last().map(|e| e.r#type.clone()),
            Some(aws_sdk_sfn::types::HistoryEventType::ExecutionSucceeded)
        );

        let (code, message) = failure(client.redrive_execution().execution_arn(&execution).send().await);
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "ExecutionNotRedrivable",
                "Execution is SUCCEEDED and cannot be redriven"
            )
        );
        let redriven = client
            .list_executions()
            .state_machine_arn(&machine)
            .redrive_filter(aws_sdk_sfn::types::ExecutionRedriveFilter::Redriven)
            .send()
            .await
            .unwrap();
        assert_eq!(redriven.executions.len(), 1);
        assert_eq!(redriven.executions[0].redrive_count(), Some(1));
        let not_redriven = client
            .list_executions()
            .state_machine_arn(&machine)
            .redrive_filter(aws_sdk_sfn::types::ExecutionRedriveFilter::NotRedriven)
            .send()
            .await
            .unwrap();
        assert!(not_redriven.executions.is_empty());

        // An aborted execution goes on from where it was stopped.
        let waits = create(
            &client,
            "waits",
            r#"{"StartAt": "First", "States": {"First": {"Type": "Pass", "Result": {"n": 1}, "Next": "Pause"},
               "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Last"},
               "Last": {"Type": "Pass", "Parameters": {"n.$": "$.n", "redrives.$": "$$.Execution.RedriveCount",
                                                "redriven.$": "$$.Execution.RedriveTime"}, "End": true}}}"#,
            StateMachineType::Standard,
        )
        .await;
        let started = client.start_execution().state_machine_arn(&waits).send().await.unwrap();
        client
            .stop_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap();
        client
            .redrive_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap();
        let done = closed(&client, &started.execution_arn).await;
        let output: serde_json::Value = serde_json::from_str(done.output().unwrap()).unwrap();
        assert_eq!(
            (&output["n"], &output["redrives"]),
            (&serde_json::json!(1), &serde_json::json!(1))
        );
        // RedriveTime is when the redrive was, as an ISO timestamp.
        let redriven = output["redriven"].as_str().expect("a RedriveTime");
        assert!(redriven.ends_with('Z') && redriven.contains('T'), "{redriven}");

        // A timed-out execution gets its TimeoutSeconds again from the redrive: its Wait,
        // entered again, now lasts no time.
        let slow = create(
            &client,
            "slow",
            r#"{"TimeoutSeconds": 1, "QueryLanguage": "JSONata", "StartAt": "Pause", "States": {
               "Pause": {"Type": "Wait", "Seconds": "{% $states.context.Execution.RedriveCount = 0 ? 30 : 0 %}", "End": true}}}"#,
            StateMachineType::Standard,
        )
        .await;
        let timed_out = run(&client, &slow).await;
        assert_eq!(timed_out.status, aws_sdk_sfn::types::ExecutionStatus::TimedOut);
        client.redrive_execution().execution_arn(&timed_out.execution_arn).send().await.unwrap();
        let done = closed(&client, &timed_out.execution_arn).await;
        assert_eq!(done.status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);

        // Unknown and Express executions.
        let missing = format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:waits:nope");
        let (code, message) = failure(client.redrive_execution().execution_arn(&missing).send().await);
        assert_eq!(
            (code, message),
            (
                "ExecutionDoesNotExist".into(),
                format!("Execution Does Not Exist: '{missing}'")
            )
        );
        let express = format!("arn:aws:states:us-east-1:{ACCOUNT}:express:waits:x:y");
        let (code, _) = failure(client.redrive_execution().execution_arn(&express).send().await);
        assert_eq!(code, "InvalidArn");
    });
}
