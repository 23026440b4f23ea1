//! Map runs through `aws-sdk-sfn` against `quickstep serve`: a Distributed Map's run listed,
//! described while it runs and once it has ended, and updated while it runs (refused after).

#[path = "common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, MapRunStatus, StateMachineType};
use server::{closed, create, runtime, scratch, Server, ACCOUNT};

/// A Distributed Map over `$.items`: an item with `bad` fails (one failure tolerated), the
/// others wait for a worker of the activity `hold`.
fn definition(activity: &str) -> String {
    format!(
        r#"{{"StartAt": "Fan", "States": {{"Fan": {{"Type": "Map", "Label": "Fanning", "ItemsPath": "$.items",
          "MaxConcurrency": 2, "ToleratedFailureCount": 1,
          "ItemProcessor": {{"ProcessorConfig": {{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}, "StartAt": "Check",
            "States": {{"Check": {{"Type": "Choice", "Choices": [{{"Variable": "$.bad", "IsPresent": true, "Next": "Bad"}}], "Default": "Hold"}},
                       "Bad": {{"Type": "Fail", "Error": "Item.Bad", "Cause": "bad item"}},
                       "Hold": {{"Type": "Task", "Resource": "{activity}", "End": true}}}}}},
          "End": true}}}}}}"#
    )
}

#[test]
fn map_runs_are_listed_described_and_updated() {
    let server = Server::start(&scratch("map-runs"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let activity = client.create_activity().name("hold").send().await.unwrap().activity_arn;
        let machine = create(&client, "fan", &definition(&activity), StateMachineType::Standard).await;
        let execution = client
            .start_execution()
            .state_machine_arn(&machine)
            .input(r#"{"items": [{"n": 1}, {"bad": true}, {"n": 3}]}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;

        // Both good items wait for a worker; the bad one has failed (tolerated).
        let deadline = Instant::now() + Duration::from_secs(30);
        let (map_run, described) = loop {
            let runs = client
                .list_map_runs()
                .execution_arn(&execution)
                .send()
                .await
                .unwrap()
                .map_runs;
            if let Some(run) = runs.first() {
                let described = client
                    .describe_map_run()
                    .map_run_arn(&run.map_run_arn)
                    .send()
                    .await
                    .unwrap();
                let counts = described.item_counts.as_ref().unwrap();
                if counts.running == 2 && counts.failed == 1 {
                    assert_eq!(runs.len(), 1);
                    assert_eq!(run.execution_arn, execution);
                    assert_eq!(run.state_machine_arn, format!("{machine}/Fanning"));
                    assert!(run.stop_date.is_none());
                    break (run.map_run_arn.clone(), described);
                }
            }
            assert!(Instant::now() < deadline, "the map run did not get going");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            map_run.starts_with(&format!("arn:aws:states:us-east-1:{ACCOUNT}:mapRun:fan/Fanning:")),
            "{map_run}"
        );
        assert_eq!(described.status, MapRunStatus::Running);
        assert_eq!(described.execution_arn, execution);
        assert_eq!(described.max_concurrency, 2);
        assert_eq!(described.tolerated_failure_count, 1);
        assert_eq!(described.tolerated_failure_percentage, 0.0);
        assert!(described.stop_date.is_none());
        assert_eq!(described.item_counts.as_ref().unwrap().total, 3);

        // Updated while it runs.
        client
            .update_map_run()
            .map_run_arn(&map_run)
            .max_concurrency(5)
            .tolerated_failure_percentage(50.0)
            .send()
            .await
            .unwrap();
        let updated = client.describe_map_run().map_run_arn(&map_run).send().await.unwrap();
        assert_eq!(updated.max_concurrency, 5);
        assert_eq!(updated.tolerated_failure_percentage, 50.0);
        assert_eq!(updated.tolerated_failure_count, 1);

        // The workers answer: the run and the execution succeed.
        for _ in 0..2 {
            let task = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
            let token = task.task_token.expect("a task for each good item");
            client
                .send_task_success()
                .task_token(token)
                .output(r#""done""#)
                .send()
                .await
                .unwrap();
        }
        let ended = closed(&client, &execution).await;
        assert_eq!(ended.status, ExecutionStatus::Succeeded, "{:?}", ended.cause);
        assert_eq!(
            ended.output.as_deref(),
            Some(r#"["done",{"Error":"Item.Bad","Cause":"bad item"},"done"]"#)
        );
        let described = client.describe_map_run().map_run_arn(&map_run).send().await.unwrap();
        assert_eq!(described.status, MapRunStatus::Succeeded);
        assert!(described.stop_date.is_some());
        let counts = described.item_counts.unwrap();
        assert_eq!(
            (counts.succeeded, counts.failed, counts.running, counts.total),
            (2, 1, 0, 3)
        );
        let runs = client
            .list_map_runs()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap()
            .map_runs;
        assert!(runs[0].stop_date.is_some());

        // The history has the run's events, with its ARN.
        let events = client
            .get_execution_history()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap()
            .events;
        let started = events
            .iter()
            .find(|e| e.r#type == HistoryEventType::MapRunStarted)
            .unwrap();
        assert_eq!(
            started
                .map_run_started_event_details
                .as_ref()
                .unwrap()
                .map_run_arn
                .as_deref(),
            Some(map_run.as_str())
        );
        assert!(events.iter().any(|e| e.r#type == HistoryEventType::MapRunSucceeded));

        // Ended: no more updates.
        let refused = client
            .update_map_run()
            .map_run_arn(&map_run)
            .max_concurrency(1)
            .send()
            .await
            .unwrap_err();
        let refused = refused.into_service_error();
        assert!(refused.is_validation_exception(), "{refused:?}");
        assert!(
            refused.to_string().contains("CANNOT_UPDATE_COMPLETED_MAP_RUN"),
            "{refused}"
        );

        // Unknown runs and executions.
        let unknown =
            format!("arn:aws:states:us-east-1:{ACCOUNT}:mapRun:fan/Fanning:00000000-0000-4000-8000-000000000000");
        let missing = client
            .describe_map_run()
            .map_run_arn(&unknown)
            .send()
            .await
            .unwrap_err();
        assert!(missing.into_service_error().is_resource_not_found());
        let missing = client
            .list_map_runs()
            .execution_arn(format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:fan:nope"))
            .send()
            .await
            .unwrap_err();
        assert!(missing.into_service_error().is_execution_does_not_exist());
        let bad = client
            .describe_map_run()
            .map_run_arn("not-an-arn")
            .send()
            .await
            .unwrap_err();
        assert!(bad.into_service_error().is_invalid_arn());
    });
}
