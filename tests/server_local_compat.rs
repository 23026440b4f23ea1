//! `quickstep serve` as a drop-in for Step Functions Local: its environment variables
//! (`AWS_ACCOUNT_ID`, `AWS_DEFAULT_REGION`, `WAIT_TIME_SCALE`, `SFN_MOCK_CONFIG`) and its mocked
//! test cases chosen as `stateMachineArn#TestCase`, driven through the AWS SDK.

#[path = "common/server.rs"]
mod server;

use std::time::Instant;

use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use server::{closed, create, runtime, scratch, Server};

/// A day's Wait, then a Lambda function the mock configuration answers.
const DEFINITION: &str = r#"{"StartAt": "Hold", "States": {
    "Hold": {"Type": "Wait", "Seconds": 86400, "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
        "ResultSelector": {"paid.$": "$.Payload.paid"},
        "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
        "End": true}}}"#;

const MOCKS: &str = r#"{
  "StateMachines": {"billing": {"TestCases": {
      "HappyPath": {"Charge": "Paid"},
      "Throttled": {"Charge": "ThrottledThenPaid"}}}},
  "MockedResponses": {
    "Paid": {"0": {"Return": {"StatusCode": 200, "Payload": {"paid": true}}}},
    "ThrottledThenPaid": {
      "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
      "2": {"Return": {"StatusCode": 200, "Payload": {"paid": "late"}}}}}
}"#;

#[test]
fn step_functions_local_variables_and_test_cases_work_unchanged() {
    let db = scratch("server-local-compat");
    let mocks = db.with_file_name("MockConfigFile.json");
    std::fs::write(&mocks, MOCKS).unwrap();
    let server = Server::start_with_env(
        &db,
        &[],
        &[
            ("AWS_ACCOUNT_ID", "111122223333"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("WAIT_TIME_SCALE", "0"),
            ("SFN_MOCK_CONFIG", mocks.to_str().unwrap()),
        ],
    );
    let client = server.client();
    runtime().block_on(async {
        let machine = create(&client, "billing", DEFINITION, StateMachineType::Standard).await;
        assert_eq!(machine, "arn:aws:states:eu-west-1:111122223333:stateMachine:billing");
        let started = Instant::now();
        for (case, paid) in [("HappyPath", "true"), ("Throttled", "\"late\"")] {
            let execution = client
                .start_execution()
                .state_machine_arn(format!("{machine}#{case}"))
                .input("{}")
                .send()
                .await
                .unwrap();
            // The suffix is not part of the execution's ARN.
            assert!(
                execution
                    .execution_arn
                    .starts_with("arn:aws:states:eu-west-1:111122223333:execution:billing:"),
                "{}",
                execution.execution_arn
            );
            let described = closed(&client, &execution.execution_arn).await;
            assert_eq!(described.status, ExecutionStatus::Succeeded, "{case}: {described:?}");
            assert_eq!(described.output(), Some(format!(r#"{{"paid":{paid}}}"#).as_str()));
        }
        // The day's Wait took no time (WAIT_TIME_SCALE=0).
        assert!(started.elapsed().as_secs() < 20);
        // An unknown test case is refused, and nothing runs.
        let unknown = client
            .start_execution()
            .state_machine_arn(format!("{machine}#Nope"))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(unknown.meta().code().is_some(), "{unknown:?}");
    });
}

#[test]
fn wait_time_scale_halves_waits() {
    let server = Server::start(&scratch("server-wait-scale"), &["--wait-time-scale", "0.5"]);
    let client = server.client();
    runtime().block_on(async {
        let machine = create(
            &client,
            "pause",
            r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": true}}}"#,
            StateMachineType::Standard,
        )
        .await;
        let execution = client
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap();
        let described = closed(&client, &execution.execution_arn).await;
        let took = described.stop_date.unwrap().as_secs_f64() - described.start_date.as_secs_f64();
        assert!((0.9..1.9).contains(&took), "a 2 s Wait at scale 0.5 took {took} s");
    });
}
