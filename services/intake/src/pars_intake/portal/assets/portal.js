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
      .filter((part) => !part.dataset.saved && part.querySelector("[data-report-to]").checked)
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
    const batches = new Map([[section.dataset.board, formRows.filter((row) => !row.dataset.saved)
      .map((row) => ({board: section.dataset.board, row, part: null, learner: learnerOf(row)}))]]);
    for (const row of formRows) {
      for (const entry of otherBoardsOf(row)) {
        if (!batches.has(entry.board)) batches.set(entry.board, []);
        batches.get(entry.board).push(entry);
      }
    }
    save.disabled = true; status.textContent = "Saving and validating with the board…";
    const rowLines = new Map(), messages = [], parts = [];
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
        if (outcome.errors && outcome.errors.length && !outcome.status) {
          const id = (main ? learner.learner_id : (learner.learner_id ? `${board} ${learner.learner_id}` : board))
            || `Learner ${formRows.indexOf(row) + 1}`;
          const lines = outcome.errors.flatMap((e) => [`${id} - ${e.code}: ${e.message}`].concat(
            e.resolution ? [`How to resolve ${e.code}: ${e.resolution}`] : []));
          rowLines.set(row, (rowLines.get(row) || []).concat(lines));
          messages.push(...lines);
        } else {
          if (outcome.status === "Pending") pending += 1; else saved += 1;
          if (part) {
            part.dataset.saved = "1";
            part.querySelectorAll("input, select").forEach((input) => { input.disabled = true; });
            part.querySelector(".other-saved").textContent = `Saved for ${board}: ${outcome.status}.`;
          } else {
            row.dataset.saved = "1";
          }
        }
      });
      anySaved = anySaved || saved + pending > 0;
      const suffix = main ? "" : ` for ${board}`;
      if (saved) parts.push(`${saved} learner record(s) saved${suffix}.`);
      if (pending) parts.push(`${pending} still being processed${suffix}: they will appear in the list shortly.`);
    }
    save.disabled = false;
    for (const row of formRows) {
      const list = row.querySelector(".row-errors"), lines = rowLines.get(row) || [];
      if (lines.length) {
        showLines(list, lines, row.dataset.saved ? `Saved for ${section.dataset.board}; not saved:` : "");
        list.hidden = false; row.classList.add("has-errors");
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

  async function follow(uploadId, fileName) {
    button.disabled = true; bar.hidden = false;
    for (;;) {
      const {status, data} = await api("GET", `/v1/uploads/${encodeURIComponent(uploadId)}`);
      if (status !== 200) { showLines(errors, problemText(data)); break; }
      bar.value = data.progress;
      if (data.status === "completed") {
        message.textContent = `Your file (${data.file_name}) has completed: ${data.processed} record(s) processed, ` +
          `${data.not_processed} record(s) not processed.` +
          (data.not_processed ? " Download the errors from the Upload History below." : "");
        break;
      }
      const row = document.querySelector(`[data-processing-upload="${CSS.escape(uploadId)}"]`);
      if (row) row.textContent = `Processing: ${Math.round(data.progress * 100)}% done`;
      message.textContent = `Your file (${fileName || data.file_name}) is processing: ` +
        `${Math.round(data.progress * data.records)} of ${data.records} record(s) done. You may leave this page ` +
        "while it's processing; we'll send you an e-mail when it is complete.";
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    button.disabled = false; bar.hidden = true;
    await refreshSections(["history"]);
  }

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
