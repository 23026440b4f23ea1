#!/usr/bin/env python3
"""Builds tests/data/test_state/*.json from LocalStack's TestState snapshot tests: AWS's
recorded answers, with the definitions, inputs and mocks each test sent.

Usage: scripts/test_state_cases.py LOCALSTACK_CHECKOUT
(a checkout of github.com/localstack/localstack; its tests/aws/services/stepfunctions folder is read).
"""
import json, re, os, sys
if len(sys.argv) != 2:
    sys.exit(__doc__)
LS = os.path.join(sys.argv[1], "tests/aws/services/stepfunctions")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests/data/test_state")
TPL = "tests/aws/services/stepfunctions/templates/test_state/statemachines/"
OUTTPL = "tests/aws/services/stepfunctions/templates/outputdecl/statemachines/"

def json5(path):
    text = open(path).read()
    text = re.sub(r'^\s*//.*$', '', text, flags=re.M)
    text = re.sub(r',(\s*[}\]])', r'\1', text)
    return json.loads(text)

def tpl(name):
    return json5(f"{LS}/templates/test_state/statemachines/{name}.json5")

snaps = {}
def snapshot(file, test):
    if file not in snaps:
        snaps[file] = json.load(open(f"{LS}/v2/test_state/{file}.snapshot.json"))
    for k, v in snaps[file].items():
        if k.endswith("::" + test):
            return v["recorded-content"], k
    raise SystemExit(f"no snapshot {file} {test}")

def strip(resp):
    resp = dict(resp)
    resp.pop("ResponseMetadata", None)
    if "exception_typename" in resp:
        return {"error": resp["exception_typename"], "message": resp["exception_value"].split("operation: ", 1)[1]}
    if "Error" in resp:
        return {"error": resp["Error"]["Code"], "message": resp["Error"]["Message"]}
    return resp

written = 0
def case(name, file, test, key, template_file, request, template=None):
    global written
    content, full = snapshot(file, test)
    expected = strip(content[key])
    req = {"definition": template if template is not None else tpl(template_file)}
    req.update(request)
    doc = {
        "name": name,
        "source": f"localstack {TPL}{template_file}.json5; snapshot tests/aws/services/stepfunctions/v2/test_state/{file}.snapshot.json#{full} (key '{key}')",
        "request": req,
        "expected": expected,
    }
    with open(f"{OUT}/{name}.json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    written += 1

HELLO = json.dumps({"Value": "HelloWorld"})
NESTED = json.dumps({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}})
CHOICE = json.dumps({"type": "Private", "value": 22})
ROLE = "arn:aws:iam::111111111111:role/test-role"
base = [("BASE_PASS_STATE", "base_pass_state", HELLO), ("BASE_RESULT_PASS_STATE", "base_result_pass_state", HELLO),
        ("IO_PASS_STATE", "io_pass_state", NESTED), ("IO_RESULT_PASS_STATE", "io_result_pass_state", NESTED),
        ("BASE_FAIL_STATE", "base_fail_state", HELLO), ("BASE_SUCCEED_STATE", "base_succeed_state", HELLO),
        ("BASE_CHOICE_STATE", "base_choice_state", CHOICE)]
for level in ["INFO", "DEBUG", "TRACE"]:
    for ident, t, inp in base:
        case(f"{t}-{level.lower()}", "test_test_state_scenarios", f"test_base_inspection_level_{level.lower()}[{ident}]",
             "test_case_response", t, {"roleArn": ROLE, "input": inp, "inspectionLevel": level})
    errs = {"test_catch_mock_exception_response": ("mock-exception", {"error": "MockException", "cause": "Mock the cause of the error."}),
            "catch_task_failed_response": ("task-failed", {"error": "States.TaskFailed", "cause": "The task failed."})}
    for key, (suffix, eo) in errs.items():
        case(f"task_catch_{suffix}-{level.lower()}", "test_test_state_scenarios", f"test_state_task_catch_error[{level}]", key,
             "base_task_state_catch", {"roleArn": ROLE, "input": HELLO, "inspectionLevel": level, "mock": {"errorOutput": eo}})
    # stateName in a whole state machine
    for ident, t in [("BASE_PASS_STATE_MACHINE", "base_pass_state_machine"), ("BASE_FAIL_STATE_MACHINE", "base_fail_state_machine")]:
        case(f"{t}-{level.lower()}", "test_test_state_machine_scenarios", f"test_base_state_name[{level}-{ident}]", "test_case_response", t,
             {"stateName": "State0", "input": HELLO, "inspectionLevel": level})
    for s in ["State0", "State1"]:
        case(f"multi_state_machine_{s}-{level.lower()}", "test_test_state_machine_scenarios", f"test_base_state_name_multi_state[{level}-{s}]",
             "test_case_response", "base_multi_state_machine", {"stateName": s, "input": HELLO, "inspectionLevel": level})
    par_in = json.dumps({"parallelInput": {"data": "input_value"}})
    mock = {"result": json.dumps([{"branch1": "result"}, {"branch2": "result"}])}
    case(f"base_parallel_state_mock-{level.lower()}", "test_test_state_mock_scenarios", f"test_base_parallel_state_mock_success[{level}]",
         "test_case_response", "base_parallel_state", {"input": json.dumps({"key": "value"}), "inspectionLevel": level, "mock": mock})
    case(f"io_parallel_state_mock-{level.lower()}", "test_test_state_mock_scenarios", f"test_io_parallel_state_mock_success[{level}]",
         "test_case_response", "io_parallel_state", {"input": par_in, "inspectionLevel": level, "mock": mock})
    case(f"io_jsonata_parallel_state_mock-{level.lower()}", "test_test_state_mock_scenarios", f"test_io_jsonata_parallel_state_mock_success[{level}]",
         "test_case_response", "io_jsonata_parallel_state", {"input": par_in, "inspectionLevel": level, "mock": mock})

for level in ["DEBUG", "TRACE"]:
    inp = json.dumps({"Values": ["first", "second", "third"]})
    eo = {"error": "MockException", "cause": "Mock the cause of the error."}
    case(f"task_retry_count_4-{level.lower()}", "test_state_configuration", f"test_state_configuration_retrier_retry_count[{level}]",
         "below_tolerated_retry_count_with_backoff", "base_task_state_retry",
         {"roleArn": ROLE, "input": inp, "inspectionLevel": level, "stateConfiguration": {"retrierRetryCount": 4}, "mock": {"errorOutput": eo}})
    case(f"task_retry_count_5-{level.lower()}", "test_state_configuration", f"test_state_configuration_retrier_retry_count[{level}]",
         "exceeds_tolerated_retry_count", "base_task_state_retry",
         {"roleArn": ROLE, "input": inp, "inspectionLevel": level, "stateConfiguration": {"retrierRetryCount": 5}, "mock": {"errorOutput": eo}})

# Validation errors.
for ident, t in [("PassState", "base_pass_state"), ("FailState", "base_fail_state"), ("SucceedState", "base_succeed_state")]:
    case(f"mock_not_accepted-{t}", "test_state_mock_validation", f"test_state_type_does_not_accept_mock[mock_result-{ident}]",
         "validation_exception", t, {"input": HELLO, "inspectionLevel": "TRACE", "mock": {"result": "{}"}})
for sn, ident in [("dne", "dne"), ('"invalid"', "invalid")]:
    case(f"state_name_not_found-{ident}", "test_test_state_machine_scenarios", f"test_base_state_name_validation_failures[{ident}]",
         "exception", "base_pass_state_machine", {"stateName": sn, "input": HELLO, "inspectionLevel": "INFO"})
case("no_role_arn_for_task", "test_test_state_scenarios", "test_base_lambda_service_task_state_no_role_arn_validation",
     "validation_exception", "base_lambda_service_task_state",
     {"input": json.dumps({"FunctionName": "fn", "Payload": None}), "inspectionLevel": "TRACE"})
case("mock_result_not_json", "test_test_state_mock_scenarios", "test_base_lambda_service_task_mock_is_not_json_string",
     "validation-exception", "base_lambda_service_task_state",
     {"input": json.dumps({"FunctionName": "fn", "Payload": None}), "inspectionLevel": "INFO", "mock": {"result": "not JSON string", "fieldValidationMode": "NONE"}})
bp = tpl("localstack_blogpost_scenario_state_machine")
bp["States"]["Ask for Approval"]["Arguments"]["ApiEndpoint"] = "example.execute-api.<region>.amazonaws.com"
for key, state, inp, mock in [
    ("small_purchase_approval_required_response", "Approval Required", {"cost": 9}, None),
    ("large_purchase_approval_required_response", "Approval Required", {"cost": 10}, None),
    ("large_purchase_ask_for_approval_response", "Ask for Approval", {"cost": 10}, {"result": '{"approval": true }'}),
    ("check_approval_granted_response", "Check Approval", {"approval": True, "approval_code": "2387462", "approved_by": "Mary"}, None),
    ("check_approval_denied_response", "Check Approval", {"approval": False}, None)]:
    req = {"stateName": state, "input": json.dumps(inp), "inspectionLevel": "TRACE"}
    if mock: req["mock"] = mock
    case("blogpost-" + key.replace("_response", ""), "test_test_state_scenarios", "test_localstack_blogpost_scenario", key,
         "localstack_blogpost_scenario_state_machine", req, template=bp)
for level in ["INFO", "DEBUG", "TRACE"]:
    t = tpl("base_map_state"); t["MaxConcurrency"] = "{% $variable := 1 %}"
    case(f"base_map_state_mock_max_concurrency-{level.lower()}", "test_test_state_scenarios", f"test_base_map_state_inspect[MAX_CONCURRENCY-{level}]",
         "test_case_response", "base_map_state", {"roleArn": ROLE, "input": json.dumps({"Values": [1, 2, 3]}), "inspectionLevel": level, "mock": {"result": "[1, 1, 1]"}}, template=t)

# The context object (test_state_context_object.py).
def ctx_tpl(name):
    return json5(f"{LS}/templates/context_object/statemachines/{name}.json5")
CTX = {"Execution": {"Id": "arn:aws:states:::execution:MyStateMachine:execution-name-12345",
        "Input": {"input-value": 0, "message": "test data", "values": ["charizard", "pikachu", "bulbasaur"]},
        "Name": "execution-name-12345", "RoleArn": "arn:aws:iam:::role/StepFunctionsRole", "StartTime": "2025-01-15T10:30:00.000Z"},
       "State": {"EnteredTime": "2025-01-15T10:30:01.500Z", "Name": "MyTaskState", "RetryCount": 0},
       "StateMachine": {"Id": "arn:aws:states:::stateMachine:MyStateMachine", "Name": "MyStateMachine"}}
CTXDIR = "tests/aws/services/stepfunctions/templates/context_object/statemachines/"
def ctx_case(name, test, key, tname, literal, request):
    state = json.loads(json.dumps(ctx_tpl(tname)["States"]["TestState"]).replace("%CONTEXT_OBJECT_LITERAL_PLACEHOLDER%", literal))
    case(name, "test_state_context_object", test, key, tname, request, template=state)
    path = f"{OUT}/{name}.json"
    doc = json.load(open(path))
    doc["source"] = doc["source"].replace(TPL, CTXDIR)
    json.dump(doc, open(path, "w"), indent=2)
for literal, ident in [("$$", "ALL"), ("$$.Execution.Input", "EXECUTION_INPUT"), ("$$.Execution.Input.values", "EXECUTION_INPUT_VALUES")]:
    ctx_case(f"context_task_result_selector-{ident.lower()}", f"test_state_task_context_object[{ident}]", "test_case_response",
             "context_object_result_selector", literal,
             {"input": json.dumps({"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}}), "inspectionLevel": "TRACE",
              "context": json.dumps(CTX), "mock": {"result": json.dumps({"pokemon": ["charizard", "pikachu", "bulbasaur"]})}})
    ctx_case(f"context_map_items_path-{ident.lower()}", f"test_state_map_context_object[{ident}]", "test_case_response",
             "context_object_items_path", literal,
             {"input": json.dumps(["fire", "electricity", "grass"]), "inspectionLevel": "TRACE",
              "context": json.dumps(CTX), "mock": {"result": json.dumps(["CHARIZARD", "PIKACHU", "BULBASAUR"])}})
for ctx, ident in [({"Execution": {"Id": 1}}, "INVALID_EXECUTION_ID_TYPE"), ({"Map": {}}, "INVALID_MAP"),
                   ({"Execution": {"pokemon": "squirtle"}}, "INVALID_EXECUTION_FIELD"), ({"Pokedex": {}}, "INVALID_FIELD")]:
    case(f"context_refused-{ident.lower()}", "test_state_context_object", f"test_state_context_object_validation_failures[{ident}]", "exception",
         "base_sfn_start_execution", {"input": json.dumps({"stateMachineArn": "arn", "targetInput": None, "name": "exec_name"}),
          "inspectionLevel": "TRACE", "context": json.dumps(ctx), "mock": {"result": json.dumps({"ExecutionArn": "exec_arn", "StartDate": "2025-01-15T10:30:00.000000"})}})
ctx_case("context_refused-token_task_not_sync", "test_state_context_object_invalid_states[TOKEN_TASK_NOT_SYNC]", "exception",
         "context_object_result_selector", "$$",
         {"input": json.dumps(["fire", "electricity", "grass"]), "inspectionLevel": "TRACE",
          "context": json.dumps(dict(CTX, Task={"Token": "abcd123"})), "mock": {"result": json.dumps({"pokemon": ["CHARIZARD", "PIKACHU", "BULBASAUR"]})}})
for ctx, ident in [({"Execution": {}, "State": {}, "StateMachine": {}}, "EMPTY_OBJECTS"), ({}, "EMPTY")]:
    ctx_case(f"context_edge-{ident.lower()}", f"test_state_context_object_edge_cases[{ident}]", "test_case_response",
             "context_object_result_selector", "$$",
             {"input": json.dumps({"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}}), "inspectionLevel": "TRACE",
              "context": json.dumps(ctx), "mock": {"result": json.dumps({"pokemon": "pikachu"})}})
t = tpl("io_sqs_service_task_wait"); t["Parameters"]["QueueUrl"] = "https://sqs.<region>.amazonaws.com/111111111111/test-queue"
case("context_wait_for_task_token", "test_state_context_object", "test_state_wait_task_context_object", "test_case_response",
     "io_sqs_service_task_wait", {"inspectionLevel": "TRACE", "context": json.dumps(dict(CTX, Task={"Token": "abcd123"})),
     "mock": {"result": json.dumps({"pokemon": ["charizard", "pikachu", "bulbasaur"]})}}, template=t)

# Map state configuration (test_state_configuration.py).
DEFAULT_INPUT = json.dumps({"Values": ["first", "second", "third"]})
MOCK_ERR = {"errorOutput": {"error": "MockException", "cause": "Mock the error cause."}}
for level in ["INFO", "DEBUG", "TRACE"]:
    for ident, t in [("BASE_MAP_STATE", "base_map_state"), ("BASE_MAP_STATE_CATCH", "base_map_state_catch"),
                     ("BASE_MAP_STATE_RETRY", "base_map_state_retry"), ("MAP_TASK_STATE", "map_task_state")]:
        for key, count, result in [("below_tolerated_failure", 0, [1, 1, 1]), ("exceeds_tolerated_failure", 2, [0, 0, 1])]:
            case(f"{t}_failure_count_{count}-{level.lower()}", "test_state_configuration", f"test_map_state_failure_count[{level}-{ident}]", key, t,
                 {"roleArn": ROLE, "input": DEFAULT_INPUT, "inspectionLevel": level, "stateConfiguration": {"mapIterationFailureCount": count},
                  "mock": {"result": json.dumps(result)}})
    for key, count in [("below_tolerated_failure", 0), ("exceeds_tolerated_failure", 2)]:
        case(f"base_map_state_mock_error_failure_count_{count}-{level.lower()}", "test_state_configuration",
             f"test_state_configuration_map_iteration_failure_count_with_state_error[{level}]", key, "base_map_state",
             {"roleArn": ROLE, "input": DEFAULT_INPUT, "inspectionLevel": level,
              "stateConfiguration": {"mapIterationFailureCount": count, "errorCausedByState": "TestState"}, "mock": MOCK_ERR})
        case(f"base_map_state_machine_mock_error_failure_count_{count}-{level.lower()}", "test_state_configuration",
             f"test_state_machine_with_state_error[{level}]", key, "base_map_state_machine",
             {"stateName": "State0", "roleArn": ROLE, "input": DEFAULT_INPUT, "inspectionLevel": level,
              "stateConfiguration": {"mapIterationFailureCount": count, "errorCausedByState": "HandleItem"}, "mock": MOCK_ERR})
    case(f"base_map_state_error_caused_by_state-{level.lower()}", "test_state_configuration", f"test_map_state_error_caused_by_state[{level}]",
         "test_case_response", "base_map_state",
         {"roleArn": ROLE, "input": json.dumps({"Values": [1, 1, 1]}), "inspectionLevel": level,
          "stateConfiguration": {"errorCausedByState": "TestState"},
          "mock": {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}})
for level in ["INFO", "DEBUG", "TRACE"]:
    case(f"base_map_state_machine_inner_state-{level.lower()}", "test_test_state_machine_scenarios", f"test_base_state_name[{level}-BASE_MAP_STATE_MACHINE]",
         "test_case_response", "base_map_state_machine", {"stateName": "HandleItem", "input": HELLO, "inspectionLevel": level})


# Mocked service integrations (test_test_state_mock_scenarios.py). Where the test made up a
# value that the snapshot shows as a placeholder, the placeholder itself is sent.
case("lambda_service_task_mock", "test_test_state_mock_scenarios", "test_base_lambda_service_task_mock_success", "test_case_response",
     "base_lambda_service_task_state", {"input": json.dumps({"FunctionName": "<lambda_function_name>", "Payload": None}), "inspectionLevel": "INFO",
     "mock": {"result": json.dumps({"Payload": "function output", "SdkHttpMetadata": {"HttpStatusCode": 200}})}})
for ident, t in [("base", "base_dynamodb_service_task_state"), ("io", "io_dynamodb_service_task_state"),
                 ("io_output_path", "io_output_path_dynamodb_service_task_state")]:
    case(f"{t}_mock", "test_test_state_mock_scenarios", f"test_io_dynamodb_service_task_mock_success[{ident}]", "test_case_response", t,
         {"input": json.dumps({"TableName": "<table_name>", "Item": {"data": {"S": "HelloWorld"}, "id": {"S": "id1"}}}), "inspectionLevel": "INFO",
          "mock": {"result": json.dumps({"SdkHttpMetadata": {"HttpStatusCode": 200}})}})
case("events_put_events_mock", "test_test_state_mock_scenarios", "test_put_events_mock_success", "test_case_response", "base_events_put_events",
     {"input": json.dumps({"Entries": [{"Detail": "detail", "DetailType": "detail_type", "Source": "source"}]}), "inspectionLevel": "INFO",
      "mock": {"result": json.dumps({"Entries": [{"EventId": "<uuid:1>"}]})}})
case("sqs_send_message_mock", "test_test_state_mock_scenarios", "test_send_sqs_message_success", "test_case_response", "base_sqs_send_message",
     {"input": json.dumps({"QueueUrl": "queue_url", "MessageBody": "message_body"}), "inspectionLevel": "INFO",
      "mock": {"result": json.dumps({"MD5OfMessageBody": "<md5_of_message_body>", "MessageId": "<uuid:1>"})}})
arn = "arn:aws:states:us-east-1:111111111111:stateMachine:TargetStateMachine"
case("sfn_start_execution_mock", "test_test_state_mock_scenarios", "test_sfn_start_execution_success", "test_case_response", "base_sfn_start_execution",
     {"input": json.dumps({"stateMachineArn": arn, "targetInput": None, "name": "TestStartTarget"}), "inspectionLevel": "INFO",
      "mock": {"result": json.dumps({"ExecutionArn": "arn:aws:states:us-east-1:111111111111:execution:TargetStateMachine:TestStartTarget",
                                     "StartDate": "start-date"})}})
# Variables (test_test_state_scenarios.py::test_state_with_variables).
OUTDIR = "tests/aws/services/stepfunctions/templates/outputdecl/statemachines/"
for ident, t, variables in [("base_expressions", "base_expr", {"var_input_value": "test_value", "var_constant_1": 10}),
                            ("empty_variables", "base_literals", {})]:
    name = f"variables-{ident}"
    case(name, "test_test_state_scenarios", f"test_state_with_variables[{ident}]", "test_case_response", t,
         {"stateName": "State0", "input": json.dumps({"input_values": [1, 2, 3]}), "variables": json.dumps(variables),
          "inspectionLevel": "TRACE"}, template=json5(f"{LS}/templates/outputdecl/statemachines/{t}.json5"))
    doc = json.load(open(f"{OUT}/{name}.json"))
    doc["source"] = doc["source"].replace(TPL, OUTDIR)
    json.dump(doc, open(f"{OUT}/{name}.json", "w"), indent=2)
print(written, "cases written to", os.path.normpath(OUT))
