// The transact dashboard: three pages (workflows, one workflow, queues) over the JSON API.
// Plain JavaScript, no dependencies: it works offline.
"use strict";

const STATUSES = ["PENDING", "ENQUEUED", "DELAYED", "SUCCESS", "ERROR", "CANCELLED",
  "MAX_RECOVERY_ATTEMPTS_EXCEEDED"];
const REFRESH_MS = 2000;
const state = { filters: {}, offset: 0, limit: 50, timer: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function time(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace("T", " ").replace("Z", "") : "";
}

function statusBadge(status) {
  return el("span", { class: "status", style: `color: var(--${status})`, "data-status": status },
    status);
}

function shown(value) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "none");
  if ("text" in value) return el("pre", {}, value.text);
  if ("raw" in value) return el("pre", { title: "cannot be decoded here: the stored text" },
    value.raw);
  return el("pre", { class: "error" }, `${value.type}: ${value.message}`);
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function render(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

function schedule(refresh) {
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, REFRESH_MS);
}

// --- the workflows page -----------------------------------------------------------------

function listingParams() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state.filters)) if (value) params.append(key, value);
  params.set("offset", state.offset);
  params.set("limit", state.limit);
  return params;
}

function filtersForm() {
  const field = (name, label, type = "text") => el("label", {}, label,
    el("input", { name, type, value: state.filters[name] || "", id: `filter-${name}` }));
  const form = el("form", { class: "filters", id: "filters", onsubmit: (event) => {
    event.preventDefault();
    for (const [key, value] of new FormData(form).entries()) state.filters[key] = value;
    state.offset = 0;
    showWorkflows();
  } },
  field("name", "Workflow name"), field("queue", "Queue"), field("prefix", "ID prefix"),
  field("user", "User"), field("version", "App version"),
  field("start", "Created after", "datetime-local"), field("end", "Created before", "datetime-local"),
  el("button", { type: "submit" }, "Filter"));
  return form;
}

async function showWorkflows() {
  let page;
  try {
    page = await api(`api/workflows?${listingParams()}`);
  } catch (error) {
    render(filtersForm(), el("p", { class: "error" }, error.message));
    return;
  }
  const chips = el("div", { class: "chips", id: "counts" },
    el("span", { class: `chip ${state.filters.status ? "" : "on"}`,
      onclick: () => { state.filters.status = ""; state.offset = 0; showWorkflows(); } }, "All"),
    STATUSES.map((status) => el("span", {
      class: `chip ${state.filters.status === status ? "on" : ""}`, "data-status": status,
      onclick: () => { state.filters.status = status; state.offset = 0; showWorkflows(); },
    }, `${status} ${page.counts[status]}`)));
  const rows = page.workflows.map((w) => el("tr", {
    class: "row", "data-workflow-id": w.workflow_id,
    onclick: () => { location.hash = `#/workflow/${encodeURIComponent(w.workflow_id)}`; },
  }, el("td", {}, w.workflow_id), el("td", {}, statusBadge(w.status)), el("td", {}, w.name),
  el("td", {}, w.queue_name || ""), el("td", {}, time(w.created_at)),
  el("td", {}, w.authenticated_user || ""), el("td", {}, w.application_version || "")));
  const last = Math.min(state.offset + state.limit, page.total);
  const pager = el("div", { class: "pager" },
    el("button", { disabled: state.offset === 0 ? "" : null, id: "prev",
      onclick: () => { state.offset = Math.max(0, state.offset - state.limit); showWorkflows(); } },
    "Previous"),
    el("span", { id: "range" }, page.total ? `${state.offset + 1}–${last} of ${page.total}` : "none"),
    el("button", { disabled: last >= page.total ? "" : null, id: "next",
      onclick: () => { state.offset += state.limit; showWorkflows(); } }, "Next"));
  render(filtersForm(), chips,
    el("table", { id: "workflows" },
      el("thead", {}, el("tr", {}, ["ID", "Status", "Name", "Queue", "Created", "User",
        "Version"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
    pager);
  if (routeOf(location.hash).page === "workflows") schedule(showWorkflows);
}

// --- one workflow -----------------------------------------------------------------------

function timeline(w) {
  const starts = w.steps.map((s) => s.started_at).filter(Boolean);
  const ends = w.steps.map((s) => s.completed_at).filter(Boolean);
  const begin = Math.min(w.created_at, ...starts);
  const end = Math.max(begin + 1, w.completed_at || 0, ...ends, ...starts);
  const span = end - begin;
  return el("div", { class: "timeline", id: "timeline" }, w.steps.map((s) => {
    const from = ((s.started_at || begin) - begin) / span * 100;
    const to = ((s.completed_at || end) - begin) / span * 100;
    const kind = s.error ? "error" : s.child_workflow_id ? "child" : "";
    const label = s.child_workflow_id
      ? el("a", { href: `#/workflow/${encodeURIComponent(s.child_workflow_id)}` }, s.function_name)
      : s.function_name;
    const took = s.started_at && s.completed_at ? `${s.completed_at - s.started_at} ms` : "";
    return el("div", { class: "lane", "data-step": s.function_id },
      el("span", {}, `${s.function_id}. `, label),
      el("div", { class: "track" }, el("div", { class: `bar ${kind}`,
        style: `left: ${from}%; width: ${Math.max(to - from, 0.5)}%`,
        title: s.error ? `${s.error.type}: ${s.error.message}` : took })),
      el("span", { class: "muted" }, took));
  }));
}

async function act(workflowId, action, body) {
  try {
    const result = await api(`api/workflows/${encodeURIComponent(workflowId)}/${action}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    if (action === "fork") location.hash = `#/workflow/${encodeURIComponent(result.workflow_id)}`;
    else showWorkflow(workflowId);
  } catch (error) {
    alert(`${action} failed: ${error.message}`);
  }
}

function actions(w) {
  const active = ["PENDING", "ENQUEUED", "DELAYED"].includes(w.status);
  const stepChoice = el("select", { id: "fork-step" },
    [...w.steps.map((s) => s.function_id), (w.steps.at(-1)?.function_id || 0) + 1]
      .map((id) => el("option", { value: id }, `step ${id}`)));
  return el("div", { class: "actions" },
    el("button", { id: "cancel", class: "danger", disabled: active ? null : "",
      onclick: () => confirm(`Cancel workflow ${w.workflow_id}?`) && act(w.workflow_id, "cancel") },
    "Cancel"),
    el("button", { id: "resume", disabled: ["SUCCESS", "ERROR"].includes(w.status) ? "" : null,
      onclick: () => confirm(`Resume workflow ${w.workflow_id}?`) && act(w.workflow_id, "resume") },
    "Resume"),
    el("span", { class: "muted" }, "Fork from"), stepChoice,
    el("button", { id: "fork", onclick: () => confirm(
      `Fork workflow ${w.workflow_id} from step ${stepChoice.value}?`)
      && act(w.workflow_id, "fork", { start_step: Number(stepChoice.value) }) }, "Fork"));
}

async function showWorkflow(workflowId) {
  let w;
  try {
    w = await api(`api/workflows/${encodeURIComponent(workflowId)}`);
  } catch (error) {
    render(el("p", { class: "error" }, error.message));
    return;
  }
  const link = (id) => id
    ? el("a", { href: `#/workflow/${encodeURIComponent(id)}` }, id) : el("span", {}, "");
  const facts = [["ID", w.workflow_id], ["Status", statusBadge(w.status)], ["Name", w.name],
    ["Queue", w.queue_name || ""], ["Executor", w.executor_id || ""],
    ["App version", w.application_version || ""], ["User", w.authenticated_user || ""],
    ["Created", time(w.created_at)], ["Updated", time(w.updated_at)],
    ["Completed", time(w.completed_at)], ["Recovery attempts", w.recovery_attempts],
    ["Parent", link(w.parent_workflow_id)], ["Forked from", link(w.forked_from)]];
  const events = Object.entries(w.events);
  render(
    el("h2", { id: "workflow-title" }, `Workflow ${w.workflow_id}`),
    actions(w),
    el("div", { class: "grid", id: "facts" }, facts.flatMap(([k, v]) => [el("b", {}, k),
      el("span", { "data-fact": k }, v)])),
    el("h2", {}, "Input"), shown(w.input),
    el("h2", {}, w.error ? "Error" : "Output"), w.error ? shown(w.error) : shown(w.output),
    el("h2", {}, `Steps (${w.steps.length})`), timeline(w),
    el("h2", {}, `Events (${events.length})`),
    events.length ? el("table", { id: "events" }, events.map(([key, value]) =>
      el("tr", {}, el("td", {}, key), el("td", {}, shown(value)))))
      : el("p", { class: "muted" }, "none"),
    el("h2", {}, `Children (${w.children.length})`),
    w.children.length ? el("table", { id: "children" }, w.children.map((c) =>
      el("tr", {}, el("td", {}, link(c.workflow_id)), el("td", {}, statusBadge(c.status)),
        el("td", {}, c.name))))
      : el("p", { class: "muted" }, "none"));
  if (routeOf(location.hash).page === "workflow") schedule(() => showWorkflow(workflowId));
}

// --- queues -----------------------------------------------------------------------------

async function showQueues() {
  const queues = await api("api/queues");
  const limit = (value) => value === undefined || value === null ? "" : String(value);
  render(el("table", { id: "queues" },
    el("thead", {}, el("tr", {}, ["Queue", "Concurrency", "Per worker", "Rate limit",
      "Enqueued", "Running"].map((h) => el("th", {}, h)))),
    el("tbody", {}, queues.map((q) => el("tr", { "data-queue": q.name },
      el("td", {}, q.name), el("td", {}, limit(q.concurrency)),
      el("td", {}, limit(q.workerConcurrency)),
      el("td", {}, q.rateLimit ? `${q.rateLimit.limit} / ${q.rateLimit.period} s` : ""),
      el("td", {}, q.enqueued), el("td", {}, q.running))))));
  if (routeOf(location.hash).page === "queues") schedule(showQueues);
}

// --- routing ----------------------------------------------------------------------------

function routeOf(hash) {
  const workflow = hash.match(/^#\/workflow\/(.+)$/);
  if (workflow) return { page: "workflow", id: decodeURIComponent(workflow[1]) };
  if (hash === "#/queues") return { page: "queues" };
  return { page: "workflows" };
}

function route() {
  clearTimeout(state.timer);
  const where = routeOf(location.hash);
  document.getElementById("nav-workflows").classList.toggle("active", where.page !== "queues");
  document.getElementById("nav-queues").classList.toggle("active", where.page === "queues");
  if (where.page === "workflow") showWorkflow(where.id);
  else if (where.page === "queues") showQueues();
  else showWorkflows();
}

window.addEventListener("hashchange", route);
route();
