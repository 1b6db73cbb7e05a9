// The provider portal's small scripts: Save (Add Learners Manually), Delete, Upload with progress.
// Data goes into the page with textContent only; the JSON API is called with the session cookie
// and the X-PARS-Portal header (the API's guard against cross-site requests).
"use strict";

const $ = (id) => document.getElementById(id);

async function api(method, url, body) {
  const headers = {"X-PARS-Portal": "1", "Accept": "application/json"};
  if (body && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {method, headers, credentials: "same-origin",
                                 body: body instanceof FormData ? body : body && JSON.stringify(body)});
  } catch (err) {
    return {status: 0, data: {detail: "The service could not be reached. Check your connection and try again."}};
  }
  if (response.status === 401) {
    location.assign("/portal/sign-in?next=" + encodeURIComponent(location.pathname + location.search));
  }
  let data = {};
  try { data = await response.json(); } catch (err) { data = {detail: "Unexpected answer (" + response.status + ")."}; }
  return {status: response.status, data};
}

function problemText(data) {
  const lines = [data.detail || "The request failed."];
  for (const p of data.problems || []) lines.push(`${p.field}: ${p.problem}`);
  return lines;
}

function showLines(element, lines, heading) {
  element.replaceChildren();
  if (!lines.length) return;
  if (heading) { const h = document.createElement("p"); h.textContent = heading; element.append(h); }
  const list = document.createElement("ul");
  for (const line of lines) { const li = document.createElement("li"); li.textContent = line; list.append(li); }
  element.append(list);
}

// Re-reads this page from the server and replaces the given sections with their new version
// (server-rendered, autoescaped HTML; DOMParser runs no scripts).
async function refreshSections(ids) {
  const response = await fetch(location.href, {credentials: "same-origin"});
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ids) {
    const now = $(id), next = fresh.getElementById(id);
    if (now && next) now.replaceWith(document.adoptNode(next));
  }
}

// --- Activity Detail: Add Learners Manually ---------------------------------------------------
// A learner row (or one of its other boards' parts) saved with this status: the part is kept,
// read-only, with its status; a row is marked saved (and removed once nothing of it waits).
function markSaved(row, part, board, status) {
  if (part) {
    part.dataset.saved = "1";
    part.querySelectorAll("input, select").forEach((input) => { input.disabled = true; });
    part.querySelector(".other-saved").textContent = `Saved for ${board}: ${status}.`;
  } else {
    row.dataset.saved = "1";
  }
}

function setupAddLearners(section) {
  const rows = $("learner-rows"), template = $("learner-row-template");
  const status = $("save-status"), errors = $("save-errors"), save = $("save-learners");

  function renumber() {
    rows.querySelectorAll(".learner-row").forEach((row, i) => {
      row.querySelector("[data-number]").textContent = String(i + 1);
      row.querySelector(".remove").textContent = `Remove learner ${i + 1}`;
    });
  }
  function addRow() {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector(".remove").addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove(); renumber();
      (next ? next.querySelector("input") : $("add-row")).focus();
    });
    const toggle = row.querySelector(".other-boards-toggle");
    if (toggle) toggle.addEventListener("click", () => openOtherBoards(row, toggle));
    rows.append(row); renumber();
    row.querySelector("input").focus();
  }
  // "+ Other boards": the activity's other boards, each with its own learner id, id type and credit
  // types; the row's name, date of birth and date completed go with each, its credits prefilled.
  function openOtherBoards(row, toggle) {
    let panel = row.querySelector(".other-boards");
    if (!panel) {
      panel = $("other-boards-template").content.firstElementChild.cloneNode(true);
      panel.hidden = true; toggle.after(panel);
    }
    const open = panel.hidden;
    panel.hidden = !open; toggle.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const credits = row.querySelector("[data-field=credits]").value.trim();
    panel.querySelectorAll("[data-other-field=credits]").forEach((input) => { if (!input.value) input.value = credits; });
    panel.querySelector("[data-report-to]").focus();
  }
  function otherBoardsOf(row) {
    const base = learnerOf(row);
    return [...row.querySelectorAll("[data-other-board]")]
      .filter((part) => !part.dataset.saved && !part.dataset.pending && part.querySelector("[data-report-to]").checked)
      .map((part) => {
        const learner = {...base};
        part.querySelectorAll("[data-other-field]").forEach((input) => { learner[input.dataset.otherField] = input.value.trim(); });
        if (!learner.credits) learner.credits = base.credits;
        learner.credit_types = [...part.querySelectorAll("[data-other-credit-type]:checked")].map((box) => box.value);
        return {board: part.dataset.otherBoard, row, part, learner};
      });
  }
  function learnerOf(row) {
    const learner = {};
    row.querySelectorAll("[data-field]").forEach((input) => { learner[input.dataset.field] = input.value.trim(); });
    learner.credit_types = [...row.querySelectorAll("[data-credit-type]:checked")].map((box) => box.value);
    return learner;
  }
  // Save: the selected board's rows in one call, then one call per other board chosen on a row
  // ("+ Other boards"). A row goes once every board it was sent to has it; a row with errors stays,
  // the boards that already took it marked saved (Save again sends only the rest).
  async function saveRows() {
    const formRows = [...rows.querySelectorAll(".learner-row")];
    status.textContent = ""; errors.replaceChildren();
    if (!formRows.length) { showLines(errors, ["Add at least one learner row before saving."]); return; }
    const batches = new Map([[section.dataset.board, formRows.filter((row) => !row.dataset.saved && !row.dataset.pending)
      .map((row) => ({board: section.dataset.board, row, part: null, learner: learnerOf(row)}))]]);
    for (const row of formRows) {
      for (const entry of otherBoardsOf(row)) {
        if (!batches.has(entry.board)) batches.set(entry.board, []);
        batches.get(entry.board).push(entry);
      }
    }
    save.disabled = true; status.textContent = "Saving and validating with the board…";
    const rowLines = new Map(), messages = [], parts = [], waiting = [];
    let anySaved = false;
    for (const [board, entries] of batches) {
      if (!entries.length) continue;
      const main = board === section.dataset.board;
      const {data} = await api("POST",
        `/v1/activities/${encodeURIComponent(section.dataset.activity)}/learners?wait=10`,
        {board, learners: entries.map((e) => e.learner)});
      if (!Array.isArray(data.rows)) {
        const lines = problemText(data).map((line) => main ? line : `${board}: ${line}`);
        messages.push(...lines);
        for (const e of entries) rowLines.set(e.row, (rowLines.get(e.row) || []).concat(main ? [] : lines));
        continue;
      }
      let saved = 0, pending = 0;
      data.rows.forEach((outcome, i) => {
        const {row, part, learner} = entries[i];
        const id = (main ? learner.learner_id : (learner.learner_id ? `${board} ${learner.learner_id}` : board))
          || `Learner ${formRows.indexOf(row) + 1}`;
        if (outcome.errors && outcome.errors.length && !outcome.status) {
          const lines = errorLines(id, outcome.errors);
          rowLines.set(row, (rowLines.get(row) || []).concat(lines));
          messages.push(...lines);
        } else if (outcome.status === "Pending") {
          // Not decided within the wait: the row stays, and its outcome is shown here once known.
          pending += 1;
          (part || row).dataset.pending = "1";
          if (part) part.querySelector(".other-saved").textContent = `Sent to ${board}: being validated…`;
          waiting.push({row, part, board, id, submission: data.submission_id, number: outcome.row});
        } else {
          saved += 1;
          markSaved(row, part, board, outcome.status);
        }
      });
      anySaved = anySaved || saved + pending > 0;
      const suffix = main ? "" : ` for ${board}`;
      if (saved) parts.push(`${saved} learner record(s) saved${suffix}.`);
      if (pending) parts.push(`${pending} still being validated${suffix}: each row shows its outcome when it is known.`);
    }
    save.disabled = false;
    for (const row of formRows) {
      const list = row.querySelector(".row-errors"), lines = rowLines.get(row) || [];
      if (lines.length) {
        showLines(list, lines, row.dataset.saved ? `Saved for ${section.dataset.board}; not saved:` : "");
        list.hidden = false; row.classList.add("has-errors");
      } else if (row.dataset.pending || row.querySelector("[data-pending]")) {
        showLines(list, ["Being validated: the outcome will show here."]); list.hidden = false;
      } else if (row.dataset.saved || !batches.get(section.dataset.board).some((e) => e.row === row)) {
        row.remove();
      }
    }
    renumber();
    status.textContent = parts.join(" ");
    showLines(errors, messages, messages.length ? "Errors:" : "");
    if (anySaved) await refreshSections(["records"]);
    const firstError = rows.querySelector(".has-errors input:not(:disabled)");
    if (firstError) firstError.focus();
    if (waiting.length) followPending(waiting);
  }
  function errorLines(id, list) {
    return list.flatMap((e) => [`${id} - ${e.code}: ${e.message}`].concat(
      e.resolution ? [`How to resolve ${e.code}: ${e.resolution}`] : []));
  }
  // Rows the wait did not see decided (seed 001 97: "If any errors occurred ... an error message
  // will appear"): their submission is read until each has its outcome, then shown on its row.
  async function followPending(waiting) {
    for (let attempt = 0; waiting.some((w) => !w.done) && attempt < 300; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      for (const submission of new Set(waiting.filter((w) => !w.done).map((w) => w.submission))) {
        const {status: code, data} = await api("GET", `/v1/submissions/${encodeURIComponent(submission)}`);
        if (code !== 200 || !Array.isArray(data.rows)) continue;
        for (const entry of waiting.filter((w) => !w.done && w.submission === submission)) {
          const outcome = data.rows.find((r) => r.row === entry.number);
          if (outcome && outcome.status !== "Pending") { entry.done = true; decided(entry, outcome); }
        }
      }
    }
  }
  async function decided({row, part, board, id}, outcome) {
    delete (part || row).dataset.pending;
    const list = row.querySelector(".row-errors");
    if (outcome.errors && outcome.errors.length && !outcome.status) {
      if (part) part.querySelector(".other-saved").textContent = "";
      showLines(list, errorLines(id, outcome.errors), "Not saved:");
      list.hidden = false; row.classList.add("has-errors");
      status.textContent = `${id}: not saved, see its errors.`;
      return;
    }
    markSaved(row, part, board, outcome.status);
    status.textContent = `${id}: saved (${outcome.status}).`;
    if (row.dataset.saved && !row.querySelector("[data-pending]") && !row.classList.contains("has-errors")) {
      row.remove(); renumber();
    } else if (!row.dataset.pending && !row.querySelector("[data-pending]") && !row.classList.contains("has-errors")) {
      list.replaceChildren(); list.hidden = true;
    }
    await refreshSections(["records"]);
  }
  $("add-row").addEventListener("click", addRow);
  save.addEventListener("click", saveRows);
  if (location.hash === "#add-learners") addRow();
}

// --- Record details: Delete ---------------------------------------------------------------------
function setupDelete(button) {
  button.addEventListener("click", async () => {
    if (!window.confirm("Delete this learner record? It will be removed from the board's records.")) return;
    const status = $("delete-status"), errors = $("delete-errors");
    button.disabled = true; status.textContent = "Deleting…"; errors.replaceChildren();
    const {data} = await api("DELETE", `/v1/learner-records/${encodeURIComponent(button.dataset.record)}?wait=10`);
    status.textContent = "";
    const outcome = Array.isArray(data.rows) ? data.rows[0] : null;
    if (!outcome) { showLines(errors, problemText(data)); button.disabled = false; return; }
    if (outcome.errors && outcome.errors.length) {
      showLines(errors, outcome.errors.flatMap((e) => [`${e.code}: ${e.message}`].concat(
        e.resolution ? [`How to resolve: ${e.resolution}`] : [])), "The record was not deleted:");
      button.disabled = false; return;
    }
    status.textContent = outcome.status === "Deleted" ? "The record was deleted." : "The delete is being processed.";
    await refreshSections(["record-facts"]);
  });
}

// --- Record details: the learner's records on the activity, Delete selected ----------------------
function setupDeleteSelected(button) {
  button.addEventListener("click", async () => {
    const status = $("delete-selected-status"), errors = $("delete-selected-errors");
    const chosen = [...document.querySelectorAll("[data-select-record]:checked")];
    errors.replaceChildren(); errors.hidden = true; status.hidden = false;
    if (!chosen.length) { status.textContent = "Select the records to delete first."; return; }
    if (!window.confirm(`Delete ${chosen.length} learner record(s)? They will be removed from the boards' records.`)) return;
    button.disabled = true; status.textContent = "Deleting…";
    const lines = [];
    let deleted = 0, pending = 0;
    for (const box of chosen) {  // the existing delete, one record at a time
      const label = box.closest("tr").querySelector("td:nth-child(2)").textContent + " " +
        box.closest("tr").querySelector("td:nth-child(3)").textContent;
      const {data} = await api("DELETE", `/v1/learner-records/${encodeURIComponent(box.value)}?wait=10`);
      const outcome = Array.isArray(data.rows) ? data.rows[0] : null;
      if (!outcome) { lines.push(...problemText(data).map((line) => `${label}: ${line}`)); continue; }
      if (outcome.errors && outcome.errors.length) {
        lines.push(...outcome.errors.flatMap((e) => [`${label} - ${e.code}: ${e.message}`].concat(
          e.resolution ? [`How to resolve ${e.code}: ${e.resolution}`] : [])));
      } else if (outcome.status === "Deleted") deleted += 1; else pending += 1;
    }
    button.disabled = false;
    await refreshSections(["record-facts", "learner-records"]);
    const fresh = $("delete-selected-status"), freshErrors = $("delete-selected-errors");
    fresh.hidden = false;
    fresh.textContent = `${deleted} record(s) deleted.` + (pending ? ` ${pending} being processed.` : "");
    if (lines.length) { freshErrors.hidden = false; showLines(freshErrors, lines, "Not deleted:"); }
    const again = $("delete-selected"), single = $("delete-record");
    if (again) setupDeleteSelected(again);
    if (single) setupDelete(single);
  });
}

// --- Batch Upload ---------------------------------------------------------------------------------
function setupUpload(form) {
  const file = $("upload-file"), button = $("upload-button"), errors = $("upload-errors");
  const message = $("upload-message"), bar = $("upload-bar");
  form.querySelectorAll("input[name=format]").forEach((radio) => radio.addEventListener("change", () => {
    file.accept = radio.value === "xml" ? ".xml" : ".txt,.tsv,.tab";
  }));

  // The seed's processing message (001 306-311), with the rows done so far.
  function processingMessage(name, done, total) {
    const history = document.createElement("a");
    history.href = "#history"; history.textContent = "View Upload History";
    const lines = [
      [`Your file (${name}) is processing. This may take up to 10 minutes. ${done} of ${total} record(s) done.`],
      ["You may leave this page while it's processing. We'll send you an email when the process is complete. " +
       "You can also check the status of your upload in ", history, "."],
      ["While your file is processing, you can not upload a new file. Only one file may be uploaded at a time. " +
       "Check back here once your file is done processing to upload a new file."]];
    message.replaceChildren(...lines.map((parts) => { const p = document.createElement("span");
      p.className = "line"; p.append(...parts); return p; }));
  }
  // On completion the seed's pop-up: the participants added or deleted (S0 82), and the choice to
  // view the submission or to upload additional files (001 312).
  function completedMessage(data) {
    const text = `Your file (${data.file_name}) has finished processing: ${data.added} participant(s) added, ` +
      `${data.deleted} deleted; ${data.processed} record(s) processed, ${data.not_processed} not processed.` +
      (data.not_processed ? " Download the errors from the Upload History below." : "");
    message.textContent = text;
    const dialog = $("upload-done");
    if (!dialog || typeof dialog.showModal !== "function") return;
    $("upload-done-text").textContent = text;
    $("upload-done-view").href = `/portal/uploads/${encodeURIComponent(data.upload_id)}/learners`;
    dialog.showModal();
  }

  async function follow(uploadId, fileName) {
    button.disabled = true; bar.hidden = false;
    for (;;) {
      const {status, data} = await api("GET", `/v1/uploads/${encodeURIComponent(uploadId)}`);
      if (status !== 200) { showLines(errors, problemText(data)); break; }
      bar.value = data.progress;
      if (data.status === "completed") { completedMessage(data); break; }
      const row = document.querySelector(`[data-processing-upload="${CSS.escape(uploadId)}"]`);
      if (row) row.textContent = `Processing: ${Math.round(data.progress * 100)}% done`;
      processingMessage(fileName || data.file_name, Math.round(data.progress * data.records), data.records);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    button.disabled = false; bar.hidden = true;
    await refreshSections(["history"]);
  }
  const more = $("upload-more");
  if (more) more.addEventListener("click", () => { $("upload-done").close(); file.focus(); });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren(); message.textContent = "";
    if (!file.files.length) { showLines(errors, ["Choose a file to upload."]); file.focus(); return; }
    const body = new FormData();
    body.append("file", file.files[0]);
    body.append("format", form.querySelector("input[name=format]:checked").value);
    const submissionType = form.querySelector("input[name=submission_type]:checked");
    if (submissionType) body.append("submission_type", submissionType.value);
    if ($("allow-duplicate").checked) body.append("allow_duplicate", "true");
    button.disabled = true; message.textContent = "Uploading…";
    const {status, data} = await api("POST", "/v1/uploads", body);
    if (status !== 202) {
      button.disabled = false; message.textContent = "";
      const lines = problemText(data);
      if (status === 409 && /already uploaded/.test(data.detail || "")) {
        lines.push("To send its records again, tick \"Send this file even if it was uploaded in the last 30 days\".");
      }
      showLines(errors, lines); return;
    }
    message.textContent = data.message;
    await refreshSections(["history"]);
    await follow(data.upload_id, data.file_name);
  });
  const processing = document.querySelector("[data-processing-upload]");
  if (processing) follow(processing.dataset.processingUpload, "");
}

document.addEventListener("DOMContentLoaded", () => {
  const section = $("add-learners");
  if (section) setupAddLearners(section);
  const del = $("delete-record");
  if (del) setupDelete(del);
  const selected = $("delete-selected");
  if (selected) setupDeleteSelected(selected);
  const upload = $("upload-form");
  if (upload) setupUpload(upload);
});
