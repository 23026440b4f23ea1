"""Kill -9 / restart stress test of `quickstep serve` (needs boto3): starts N Standard executions
with Waits, an activity and a callback, kills the server with SIGKILL at random moments and
restarts it, then checks that every acknowledged execution succeeded exactly once with a
contiguous history.

    python3 scripts/kill-restart.py target/release/quickstep /tmp/stress.db 8200 1000
"""
import boto3, botocore.config, json, os, random, signal, subprocess, sys, threading, time

BIN, DB, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
N = int(sys.argv[4]) if len(sys.argv) > 4 else 300
url = f"http://127.0.0.1:{PORT}"
cfg = botocore.config.Config(inject_host_prefix=False, read_timeout=5, connect_timeout=1, retries={"max_attempts": 0})
def client():
    return boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="t", aws_secret_access_key="t", config=cfg)
server = None
def start():
    global server
    server = subprocess.Popen([BIN, "serve", "--port", str(PORT), "--db", DB, "--activity-poll-seconds", "1"],
                              stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            client().list_activities(); return
        except Exception:
            time.sleep(0.05)
def kill():
    server.send_signal(signal.SIGKILL); server.wait()

start()
c = client()
act = c.create_activity(name="stress")["activityArn"]
d = {"StartAt": "W", "States": {
    "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "A"},
    "A": {"Type": "Task", "Resource": act, "Next": "C"},
    "C": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
          "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token", "i.$": "$.i"}}, "End": True}}}
sm = c.create_state_machine(name="stress", definition=json.dumps(d), roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
acked = {}
stop = False
def retry(f):
    while True:
        try:
            return f()
        except (c.exceptions.ExecutionAlreadyExists, c.exceptions.TaskTimedOut, c.exceptions.InvalidToken):
            raise
        except Exception:
            time.sleep(0.05)
def starter():
    cl = client()
    for i in range(N):
        inp = json.dumps({"i": i, "wait": random.choice([0, 1, 2])})
        try:
            r = retry(lambda: cl.start_execution(stateMachineArn=sm, name=f"e{i}", input=inp))
            acked[i] = r["executionArn"]
        except cl.exceptions.ExecutionAlreadyExists:
            acked[i] = f"{sm.replace(':stateMachine:', ':execution:')}:e{i}"
def worker():
    cl = client()
    while not stop:
        try:
            t = cl.get_activity_task(activityArn=act, workerName="w")
            if t.get("taskToken"):
                try:
                    retry(lambda: cl.send_task_success(taskToken=t["taskToken"], output=t["input"]))
                except (cl.exceptions.TaskTimedOut, cl.exceptions.InvalidToken):
                    pass
        except Exception:
            time.sleep(0.05)
def callbacks():
    cl = client()
    done = set()
    while not stop:
        for i, arn in list(acked.items()):
            if i in done: continue
            try:
                ev = cl.get_execution_history(executionArn=arn, maxResults=1000, reverseOrder=True)["events"]
                sched = [e for e in ev if e["type"] == "TaskScheduled"]
                if any(e["type"] == "ExecutionSucceeded" for e in ev):
                    done.add(i); continue
                if sched:
                    tok = json.loads(sched[0]["taskScheduledEventDetails"]["parameters"])["MessageBody"]["t"]
                    try:
                        cl.send_task_success(taskToken=tok, output='{"cb": true}')
                    except (cl.exceptions.TaskTimedOut, cl.exceptions.InvalidToken):
                        pass
            except Exception:
                time.sleep(0.05)
        time.sleep(0.1)
threads = [threading.Thread(target=f) for f in (starter, worker, worker, callbacks)]
for t in threads: t.start()
kills = 0
t0 = time.time()
while threads[0].is_alive() or time.time() - t0 < 8:
    time.sleep(random.uniform(0.3, 1.5))
    kill(); kills += 1
    time.sleep(random.uniform(0, 0.5))
    start()
deadline = time.time() + 60
c = client()
while time.time() < deadline:
    statuses = {}
    for i, arn in acked.items():
        try:
            statuses[i] = c.describe_execution(executionArn=arn)["status"]
        except Exception as e:
            statuses[i] = repr(e)
    if all(s == "SUCCEEDED" for s in statuses.values()) and len(statuses) == N:
        break
    time.sleep(1)
stop = True
bad = {i: s for i, s in statuses.items() if s != "SUCCEEDED"}
problems = 0
for i, arn in acked.items():
    evs = [e for p in c.get_paginator("get_execution_history").paginate(executionArn=arn) for e in p["events"]]
    ids = [e["id"] for e in evs]
    types = [e["type"] for e in evs]
    if ids != list(range(1, len(ids) + 1)) or types.count("ExecutionSucceeded") != 1 or types.count("ActivityScheduled") != 1 or types.count("TaskScheduled") != 1:
        problems += 1
        if problems < 4: print("history problem", arn, types)
print(f"executions {len(acked)}/{N}, kills {kills}, not succeeded {len(bad)} {list(bad.items())[:5]}, history problems {problems}")
for t in threads: t.join(timeout=5)
kill()
