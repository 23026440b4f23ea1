// The quickstep console: plain JavaScript, no build step. Every page calls the Step Functions
// API itself (POST / with X-Amz-Target); the server adds only the drawing
// (/console/graph.svg) and the lines of validation diagnostics (/console/positions).
"use strict";

const app = document.getElementById("app");
// The page's timer (the live refresh of a running execution), cleared on navigation.
let timer = null;
// Bumped on every navigation, so that an answer for a page left behind is dropped.
let generation = 0;

// ---- API ----

/** An error the API answered: its `__type` (without the namespace) and message. */
class ApiError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
  toString() {
    return this.type + ": " + this.message;
  }
}

/** Calls the Step Functions operation `operation` with `body`; resolves to its answer. */
async function api(operation, body) {
  const response = await fetch("/", {
    method: "POST",
    headers: {
      "X-Amz-Target": "AWSStepFunctions." + operation,
      "Content-Type": "application/x-amz-json-1.0",
    },
    body: JSON.stringify(body || {}),
  });
  const text = await response.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch (e) {
    throw new ApiError("InternalError", text);
  }
  if (!response.ok) {
    const type = String(json.__type || "Error").split("#").pop();
    throw new ApiError(type, json.message || json.Message || text);
  }
  return json;
}

// ---- DOM helpers ----

/** Escapes `text` for HTML. */
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Builds an element from an HTML string. */
function html(markup) {
  const template = document.createElement("template");
  template.innerHTML = markup.trim();
  return template.content.firstElementChild;
}

function alertBox(error) {
  const message = error instanceof ApiError ? error.toString() : String(error && error.message ? error.message : error);
  return `<div class="alert error" role="alert">${esc(message)}</div>`;
}

function date(seconds) {
  if (seconds === undefined || seconds === null) return "-";
  const d = new Date(seconds * 1000);
  return d.toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

/** A duration in milliseconds as AWS's console writes it. */
function duration(ms) {
  if (ms === undefined || ms === null || isNaN(ms)) return "-";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(3).replace(/\.?0+$/, "") + " s";
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  if (m < 60) return `${m} min ${Math.round(rest)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function status(value) {
  const words = { SUCCEEDED: "Succeeded", FAILED: "Failed", RUNNING: "Running", TIMED_OUT: "Timed out", ABORTED: "Aborted", PENDING_REDRIVE: "Pending redrive" };
  return `<span class="status status-${esc(value)}" data-status="${esc(value)}">${esc(words[value] || value)}</span>`;
}

function machineLink(arn) {
  return `#/state-machine/${encodeURIComponent(arn)}`;
}

function executionLink(arn) {
  return `#/execution/${encodeURIComponent(arn)}`;
}

// ---- JSON highlighting ----

/** `text` (JSON, or any text) as highlighted lines: one `<span class="ln">` per line. */
function highlight(text, errorLines) {
  const token = /("(?:[^"\\\n]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b|([{}\[\],:])/g;
  const marked = new Set(errorLines || []);
  return text
    .split("\n")
    .map((line, i) => {
      let out = "";
      let last = 0;
      line.replace(token, (match, str, colon, num, lit, punc, offset) => {
        out += esc(line.slice(last, offset));
        if (str !== undefined) {
          out += colon !== undefined ? `<span class="j-key">${esc(str)}</span><span class="j-punc">${esc(colon)}</span>` : `<span class="j-str">${esc(str)}</span>`;
        } else if (num !== undefined) {
          out += `<span class="j-num">${esc(num)}</span>`;
        } else if (lit !== undefined) {
          out += `<span class="j-lit">${esc(lit)}</span>`;
        } else {
          out += `<span class="j-punc">${esc(punc)}</span>`;
        }
        last = offset + match.length;
        return match;
      });
      out += esc(line.slice(last));
      const cls = marked.has(i + 1) ? "ln error-line" : "ln";
      return `<span class="${cls}" data-line="${i + 1}">${out || " "}</span>`;
    })
    .join("");
}

/** `value` pretty-printed; a string holding JSON is parsed first. */
function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch (e) {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

function codeBlock(value, attrs) {
  return `<pre class="code" ${attrs || ""}>${highlight(pretty(value))}</pre>`;
}

// ---- router ----

function route() {
  generation += 1;
  if (timer) {
    clearTimeout(timer);
    timer = null;
  }
  const hash = location.hash || "#/state-machines";
  const [, page, arg] = hash.match(/^#\/([^/]*)\/?(.*)$/) || [];
  const arn = arg ? decodeURIComponent(arg) : "";
  if (page === "state-machine" && arn) return stateMachinePage(arn);
  if (page === "execution" && arn) return executionPage(arn);
  return stateMachinesPage();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);

// ---- state machines ----

async function stateMachinesPage() {
  const mine = generation;
  document.title = "State machines - quickstep";
  app.innerHTML = `<div class="breadcrumbs">Step Functions &gt; State machines</div>
    <h1>State machines</h1>
    <section class="panel"><header><h2>State machines <span class="muted" id="sm-count"></span></h2></header>
    <div id="sm-error"></div>
    <table id="state-machines"><thead><tr><th>Name</th><th>Type</th><th>Creation date</th><th>Versions</th><th>Aliases</th></tr></thead><tbody></tbody></table>
    <div class="pager"><button id="sm-prev" disabled>Previous</button><span id="sm-page" class="muted">Page 1</span><button id="sm-next" disabled>Next</button></div>
    </section>`;
  const tokens = [undefined];
  let index = 0;
  const load = async () => {
    const body = app.querySelector("#state-machines tbody");
    let page;
    try {
      page = await api("ListStateMachines", { maxResults: 25, nextToken: tokens[index] });
    } catch (e) {
      if (mine === generation) app.querySelector("#sm-error").innerHTML = alertBox(e);
      return;
    }
    if (mine !== generation) return;
    body.innerHTML = page.stateMachines.length
      ? ""
      : `<tr><td colspan="5" class="muted">No state machines</td></tr>`;
    for (const sm of page.stateMachines) {
      const row = html(`<table><tr data-arn="${esc(sm.stateMachineArn)}"><td><a class="sm-name" href="${machineLink(sm.stateMachineArn)}">${esc(sm.name)}</a></td>
        <td class="sm-type">${sm.type === "EXPRESS" ? "Express" : "Standard"}</td><td>${date(sm.creationDate)}</td>
        <td class="sm-versions muted">-</td><td class="sm-aliases muted">-</td></tr></table>`).querySelector("tr");
      body.appendChild(row);
      versionsAndAliases(sm.stateMachineArn).then(([versions, aliases]) => {
        if (mine !== generation) return;
        row.querySelector(".sm-versions").textContent = versions.length ? versions.map((v) => v.stateMachineVersionArn.split(":").pop()).join(", ") : "-";
        row.querySelector(".sm-aliases").textContent = aliases.length ? aliases.map((a) => a.stateMachineAliasArn.split(":").pop()).join(", ") : "-";
      }, () => {});
    }
    if (page.nextToken) tokens[index + 1] = page.nextToken;
    app.querySelector("#sm-prev").disabled = index === 0;
    app.querySelector("#sm-next").disabled = !page.nextToken;
    app.querySelector("#sm-page").textContent = "Page " + (index + 1);
  };
  app.querySelector("#sm-prev").onclick = () => { index -= 1; load(); };
  app.querySelector("#sm-next").onclick = () => { index += 1; load(); };
  await load();
}

/** The first page of a state machine's versions and of its aliases. */
async function versionsAndAliases(arn) {
  const [versions, aliases] = await Promise.all([
    api("ListStateMachineVersions", { stateMachineArn: arn, maxResults: 100 }),
    api("ListStateMachineAliases", { stateMachineArn: arn, maxResults: 100 }),
  ]);
  return [versions.stateMachineVersions || [], aliases.stateMachineAliases || []];
}

// ---- a state machine ----

const DEFAULT_INPUT = '{\n  "Comment": "Insert your JSON here"\n}';

async function stateMachinePage(arn) {
  const mine = generation;
  let sm;
  try {
    sm = await api("DescribeStateMachine", { stateMachineArn: arn });
  } catch (e) {
    app.innerHTML = `<h1>State machine</h1>${alertBox(e)}`;
    return;
  }
  if (mine !== generation) return;
  document.title = sm.name + " - quickstep";
  app.innerHTML = `<div class="breadcrumbs"><a href="#/state-machines">State machines</a> &gt; ${esc(sm.name)}</div>
    <h1 id="sm-title">${esc(sm.name)}</h1>
    <section class="panel"><header><h2>Details</h2>
      <div class="actions"><button id="edit">Edit</button><button id="start" class="primary">Start execution</button></div></header>
      <dl class="details">
        <div><dt>ARN</dt><dd id="sm-arn">${esc(sm.stateMachineArn)}</dd></div>
        <div><dt>Type</dt><dd id="sm-type">${sm.type === "EXPRESS" ? "Express" : "Standard"}</dd></div>
        <div><dt>Status</dt><dd>${sm.status === "ACTIVE" ? "Active" : esc(sm.status || "-")}</dd></div>
        <div><dt>Creation date</dt><dd>${date(sm.creationDate)}</dd></div>
        <div><dt>IAM role ARN</dt><dd>${esc(sm.roleArn || "-")}</dd></div>
        <div><dt>Versions</dt><dd id="sm-versions">-</dd></div>
        <div><dt>Aliases</dt><dd id="sm-aliases">-</dd></div>
      </dl>
    </section>
    <section class="panel" id="start-panel" hidden><header><h2>Start execution</h2></header>
      <div id="start-error"></div>
      <p><label>Name - <span class="muted">optional</span><br><input type="text" id="execution-name" size="60" placeholder="generated when empty"></label></p>
      <p><label>Input - <span class="muted">optional</span><br><textarea class="editor" id="execution-input" spellcheck="false"></textarea></label></p>
      <div class="actions"><button id="start-cancel">Cancel</button><button id="start-submit" class="primary">Start execution</button></div>
    </section>
    <section class="panel" id="edit-panel" hidden><header><h2>Edit definition</h2></header>
      <div id="edit-error"></div>
      <textarea class="editor" id="definition-editor" spellcheck="false"></textarea>
      <div id="edit-lines"></div>
      <div class="actions"><button id="edit-cancel">Cancel</button><button id="edit-save" class="primary">Save</button></div>
    </section>
    <section class="panel"><header><h2>Definition</h2></header>
      <div class="split"><div class="graph" id="graph"></div><pre class="code" id="definition"></pre></div>
    </section>
    <section class="panel"><header><h2>Executions</h2>
      <div class="actions"><label>Status <select id="status-filter">
        <option value="">Any status</option><option value="RUNNING">Running</option><option value="SUCCEEDED">Succeeded</option>
        <option value="FAILED">Failed</option><option value="TIMED_OUT">Timed out</option><option value="ABORTED">Aborted</option>
        <option value="PENDING_REDRIVE">Pending redrive</option></select></label><button id="refresh">Refresh</button></div></header>
      <div id="executions-error"></div>
      <table id="executions"><thead><tr><th>Name</th><th>Status</th><th>Started</th><th>End time</th><th>Duration</th></tr></thead><tbody></tbody></table>
      <div class="pager"><button id="ex-prev" disabled>Previous</button><span id="ex-page" class="muted">Page 1</span><button id="ex-next" disabled>Next</button></div>
    </section>`;
  app.querySelector("#definition").innerHTML = highlight(pretty(sm.definition));
  loadGraph(app.querySelector("#graph"), "stateMachineArn=" + encodeURIComponent(arn));
  versionsAndAliases(arn).then(([versions, aliases]) => {
    if (mine !== generation) return;
    app.querySelector("#sm-versions").innerHTML = versions.length
      ? versions.map((v) => `<a href="${machineLink(v.stateMachineVersionArn)}">${esc(v.stateMachineVersionArn.split(":").pop())}</a>`).join(", ")
      : "-";
    app.querySelector("#sm-aliases").textContent = aliases.length ? aliases.map((a) => a.stateMachineAliasArn.split(":").pop()).join(", ") : "-";
  }, () => {});

  // Start execution.
  const startPanel = app.querySelector("#start-panel");
  app.querySelector("#start").onclick = () => {
    startPanel.hidden = false;
    const input = app.querySelector("#execution-input");
    if (!input.value) input.value = DEFAULT_INPUT;
    input.focus();
  };
  app.querySelector("#start-cancel").onclick = () => { startPanel.hidden = true; };
  app.querySelector("#start-submit").onclick = async () => {
    const name = app.querySelector("#execution-name").value.trim();
    const body = { stateMachineArn: arn, input: app.querySelector("#execution-input").value };
    if (name) body.name = name;
    const errorBox = app.querySelector("#start-error");
    errorBox.innerHTML = "";
    try {
      const started = await api("StartExecution", body);
      location.hash = executionLink(started.executionArn);
    } catch (e) {
      errorBox.innerHTML = alertBox(e);
    }
  };

  // Edit the definition.
  const editPanel = app.querySelector("#edit-panel");
  const editor = app.querySelector("#definition-editor");
  app.querySelector("#edit").onclick = () => {
    editPanel.hidden = false;
    if (!editor.value) editor.value = pretty(sm.definition);
    editor.focus();
  };
  app.querySelector("#edit-cancel").onclick = () => { editPanel.hidden = true; };
  app.querySelector("#edit-save").onclick = async () => {
    const definition = editor.value;
    const errorBox = app.querySelector("#edit-error");
    const lines = app.querySelector("#edit-lines");
    errorBox.innerHTML = "";
    lines.innerHTML = "";
    try {
      const validation = await api("ValidateStateMachineDefinition", { definition, type: sm.type });
      const errors = (validation.diagnostics || []).filter((d) => d.severity === "ERROR");
      if (errors.length) {
        await showDiagnostics(definition, errors, errorBox, lines);
        return;
      }
      await api("UpdateStateMachine", { stateMachineArn: arn, definition });
      route();
    } catch (e) {
      errorBox.innerHTML = alertBox(e);
    }
  };

  // Executions, filtered by status on the server, paged.
  if (sm.type === "EXPRESS") {
    app.querySelector("#executions-error").innerHTML =
      `<div class="alert info">Express executions are not listed: ListExecutions does not support Express state machines.</div>`;
    app.querySelector("#ex-next").disabled = true;
    return;
  }
  let tokens = [undefined];
  let index = 0;
  const filter = app.querySelector("#status-filter");
  const load = async () => {
    const request = { stateMachineArn: arn, maxResults: 50, nextToken: tokens[index] };
    if (filter.value) request.statusFilter = filter.value;
    const box = app.querySelector("#executions-error");
    let page;
    try {
      page = await api("ListExecutions", request);
    } catch (e) {
      if (mine === generation) box.innerHTML = alertBox(e);
      return;
    }
    if (mine !== generation) return;
    box.innerHTML = "";
    const body = app.querySelector("#executions tbody");
    body.innerHTML = page.executions.length
      ? page.executions
          .map((e) => `<tr data-arn="${esc(e.executionArn)}"><td><a href="${executionLink(e.executionArn)}">${esc(e.name)}</a></td>
            <td>${status(e.status)}</td><td>${date(e.startDate)}</td><td>${date(e.stopDate)}</td>
            <td>${e.stopDate ? duration((e.stopDate - e.startDate) * 1000) : "-"}</td></tr>`)
          .join("")
      : `<tr><td colspan="5" class="muted">No executions</td></tr>`;
    if (page.nextToken) tokens[index + 1] = page.nextToken;
    app.querySelector("#ex-prev").disabled = index === 0;
    app.querySelector("#ex-next").disabled = !page.nextToken;
    app.querySelector("#ex-page").textContent = "Page " + (index + 1);
  };
  filter.onchange = () => { tokens = [undefined]; index = 0; load(); };
  app.querySelector("#refresh").onclick = () => load();
  app.querySelector("#ex-prev").onclick = () => { index -= 1; load(); };
  app.querySelector("#ex-next").onclick = () => { index += 1; load(); };
  await load();
}

/** Lists `errors` and marks their lines in a highlighted copy of `definition`. */
async function showDiagnostics(definition, errors, errorBox, linesBox) {
  let positions = [];
  try {
    const response = await fetch("/console/positions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ definition, locations: errors.map((d) => d.location || null) }),
    });
    positions = (await response.json()).positions || [];
  } catch (e) {
    positions = [];
  }
  const lines = [];
  const items = errors.map((d, i) => {
    const at = positions[i];
    if (at) lines.push(at.line);
    const where = at ? `Line ${at.line}, column ${at.column}` : "";
    return `<li class="diagnostic" data-line="${at ? at.line : ""}"><strong>${esc(d.code)}</strong>${where ? ` <span class="where">(${where})</span>` : ""}: ${esc(d.message)}${d.location ? ` <span class="muted">at ${esc(d.location)}</span>` : ""}</li>`;
  });
  errorBox.innerHTML = `<div class="alert error" role="alert">The definition is not valid:<ul>${items.join("")}</ul></div>`;
  linesBox.innerHTML = `<pre class="code" id="editor-preview">${highlight(definition, lines)}</pre>`;
}

/** Fills `box` with the drawing `/console/graph.svg?query`; keeps the old one on failure. */
async function loadGraph(box, query) {
  try {
    const response = await fetch("/console/graph.svg?" + query);
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try { message = JSON.parse(text).message || text; } catch (e) { /* plain text */ }
      box.innerHTML = `<div class="alert error">${esc(message)}</div>`;
      return;
    }
    box.innerHTML = text;
  } catch (e) {
    if (!box.innerHTML) box.innerHTML = alertBox(e);
  }
}

// ---- an execution ----

async function executionPage(arn) {
  const mine = generation;
  app.innerHTML = `<div class="breadcrumbs"><a href="#/state-machines">State machines</a> &gt; <span id="bc-machine"></span> &gt; <span id="bc-execution"></span></div>
    <h1><span id="execution-name"></span> <span id="execution-status"></span></h1>
    <div id="execution-error"></div>
    <section class="panel"><header><h2>Details</h2>
      <div class="actions"><button id="stop" hidden>Stop execution</button><button id="redrive" hidden>Redrive</button></div></header>
      <dl class="details">
        <div><dt>Execution status</dt><dd id="d-status"></dd></div>
        <div><dt>Execution ARN</dt><dd id="d-arn"></dd></div>
        <div><dt>State machine ARN</dt><dd id="d-machine"></dd></div>
        <div><dt>Start time</dt><dd id="d-start"></dd></div>
        <div><dt>End time</dt><dd id="d-stop"></dd></div>
        <div><dt>Duration</dt><dd id="d-duration"></dd></div>
        <div><dt>Redrive count</dt><dd id="d-redrives"></dd></div>
      </dl>
      <div id="d-failure"></div>
    </section>
    <section class="panel"><header><h2>Graph view</h2></header>
      <div class="graph" id="graph"></div>
      <div class="legend"><span style="--c:#037f0c">Succeeded</span><span style="--c:#0972d3">In progress</span><span style="--c:#d91515">Failed</span><span style="--c:#ff9900">Caught error</span><span style="--c:#8c8c94">Cancelled</span><span style="--c:#ffffff">Not started</span></div>
    </section>
    <section class="panel io"><div><h2>Input</h2><div id="input"></div></div><div><h2>Output</h2><div id="output"></div></div></section>
    <section class="panel"><header><h2>Events</h2></header>
      <table id="events"><thead><tr><th>ID</th><th>Type</th><th>Step</th><th>Resource</th><th>Started after</th><th>Duration</th><th>Date and time</th></tr></thead><tbody></tbody></table>
      <div class="pager"><button id="more-events" hidden>Load more</button></div>
    </section>`;
  const events = new EventsTable(app.querySelector("#events tbody"), arn, app.querySelector("#more-events"));
  const graph = app.querySelector("#graph");
  const query = "executionArn=" + encodeURIComponent(arn);
  let described = null;

  const refresh = async () => {
    try {
      described = await api("DescribeExecution", { executionArn: arn });
    } catch (e) {
      if (mine === generation) app.querySelector("#execution-error").innerHTML = alertBox(e);
      return;
    }
    if (mine !== generation) return;
    showExecution(described);
    await Promise.all([loadGraph(graph, query), events.update(described)]);
    if (mine !== generation) return;
    // Live: poll every second while the execution runs.
    if (described.status === "RUNNING") timer = setTimeout(refresh, 1000);
  };

  app.querySelector("#stop").onclick = async () => {
    try {
      await api("StopExecution", { executionArn: arn });
    } catch (e) {
      app.querySelector("#execution-error").innerHTML = alertBox(e);
    }
    if (timer) clearTimeout(timer);
    refresh();
  };
  app.querySelector("#redrive").onclick = async () => {
    try {
      await api("RedriveExecution", { executionArn: arn });
    } catch (e) {
      app.querySelector("#execution-error").innerHTML = alertBox(e);
      return;
    }
    if (timer) clearTimeout(timer);
    refresh();
  };
  await refresh();
}

function showExecution(d) {
  document.title = d.name + " - quickstep";
  const machine = d.stateMachineVersionArn || d.stateMachineAliasArn || d.stateMachineArn;
  app.querySelector("#bc-machine").innerHTML = `<a href="${machineLink(d.stateMachineArn)}">${esc(d.stateMachineArn.split(":").pop())}</a>`;
  app.querySelector("#bc-execution").textContent = d.name;
  app.querySelector("#execution-name").textContent = d.name;
  app.querySelector("#execution-status").innerHTML = status(d.status);
  app.querySelector("#d-status").innerHTML = status(d.status);
  app.querySelector("#d-arn").textContent = d.executionArn;
  app.querySelector("#d-machine").innerHTML = `<a href="${machineLink(machine)}">${esc(machine)}</a>`;
  app.querySelector("#d-start").textContent = date(d.startDate);
  app.querySelector("#d-stop").textContent = date(d.stopDate);
  const end = d.stopDate || Date.now() / 1000;
  app.querySelector("#d-duration").textContent = duration((end - d.startDate) * 1000);
  app.querySelector("#d-redrives").textContent = String(d.redriveCount || 0);
  const failure = [];
  if (d.error !== undefined) failure.push(`<div><dt>Error</dt><dd id="d-error">${esc(d.error)}</dd></div>`);
  if (d.cause !== undefined) failure.push(`<div><dt>Cause</dt><dd id="d-cause">${esc(d.cause)}</dd></div>`);
  app.querySelector("#d-failure").innerHTML = failure.length ? `<div class="alert error"><dl class="details">${failure.join("")}</dl></div>` : "";
  app.querySelector("#input").innerHTML = d.input !== undefined ? codeBlock(d.input, 'id="input-code"') : `<span class="muted">-</span>`;
  app.querySelector("#output").innerHTML = d.output !== undefined ? codeBlock(d.output, 'id="output-code"') : `<span class="muted">-</span>`;
  app.querySelector("#stop").hidden = d.status !== "RUNNING";
  app.querySelector("#redrive").hidden = d.redriveStatus !== "REDRIVABLE";
}

/** The events table: pages of GetExecutionHistory, new events appended while it runs. */
class EventsTable {
  constructor(body, arn, more) {
    this.body = body;
    this.arn = arn;
    this.more = more;
    this.events = [];
    this.lastId = 0;
    this.nextToken = undefined;
    this.steps = new Map();
    this.entered = new Map();
    this.start = null;
    more.onclick = () => this.page();
  }

  /** Loads the next page in order (the first when none is loaded). */
  async page() {
    const answer = await api("GetExecutionHistory", { executionArn: this.arn, maxResults: 100, includeExecutionData: true, nextToken: this.nextToken });
    this.add(answer.events);
    this.nextToken = answer.nextToken;
    this.more.hidden = !this.nextToken;
  }

  /** Brings the table up to date with the execution `described`. */
  async update(described) {
    const seen = [described.status, described.stopDate, described.redriveCount].join(" ");
    const changed = seen !== this.seen;
    this.seen = seen;
    if (this.lastId === 0) return this.page();
    // Pages are still to be read ("Load more"), or nothing happened since the last look.
    if (this.nextToken || (described.status !== "RUNNING" && !changed)) return;
    // The newest events (reverse order) hold what is new: while it runs, and once after any
    // change (its end, a stop, a redrive).
    const answer = await api("GetExecutionHistory", { executionArn: this.arn, maxResults: 100, includeExecutionData: true, reverseOrder: true });
    this.add(answer.events.filter((e) => e.id > this.lastId).reverse());
  }

  add(events) {
    for (const event of events) {
      if (event.id <= this.lastId) continue;
      this.lastId = event.id;
      this.events.push(event);
      this.append(event);
    }
  }

  append(event) {
    const time = typeof event.timestamp === "number" ? event.timestamp * 1000 : Date.parse(event.timestamp);
    if (this.start === null) this.start = time;
    const details = detailsOf(event);
    let step = "";
    if (/StateEntered$|StateExited$/.test(event.type) && details && details.name) step = details.name;
    else if (event.previousEventId) step = this.steps.get(event.previousEventId) || "";
    this.steps.set(event.id, step);
    const resource = details && (details.resourceType ? `${details.resourceType}:${details.resource}` : details.resource);
    const row = html(`<table><tr class="event-row" data-id="${event.id}" data-type="${esc(event.type)}">
      <td>${event.id}</td><td class="event-type">${esc(event.type)}</td><td class="event-step">${esc(step)}</td>
      <td>${esc(resource || "-")}</td><td>${duration(time - this.start)}</td><td class="event-duration">-</td>
      <td>${esc(date(time / 1000))}</td></tr></table>`).querySelector("tr");
    if (/StateEntered$/.test(event.type)) this.entered.set(step, { row, time });
    if (/StateExited$/.test(event.type) && this.entered.has(step)) {
      const entered = this.entered.get(step);
      entered.row.querySelector(".event-duration").textContent = duration(time - entered.time);
      this.entered.delete(step);
    }
    row.onclick = () => {
      const open = row.nextElementSibling && row.nextElementSibling.classList.contains("event-detail") ? row.nextElementSibling : null;
      if (open) {
        open.remove();
        return;
      }
      const shown = {};
      for (const [key, value] of Object.entries(details || {})) {
        shown[key] = (key === "input" || key === "output" || key === "parameters") && typeof value === "string" ? parseOr(value) : value;
      }
      const detail = html(`<table><tr class="event-detail"><td colspan="7">${codeBlock(shown)}</td></tr></table>`).querySelector("tr");
      row.after(detail);
    };
    this.body.appendChild(row);
  }
}

function parseOr(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return text;
  }
}

/** The event's `...EventDetails` member. */
function detailsOf(event) {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith("EventDetails")) return value;
  }
  return null;
}
