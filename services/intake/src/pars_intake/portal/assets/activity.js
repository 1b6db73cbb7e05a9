// The portal's activity editor: sends the form as PATCH /v1/activities/{id} (the whole list of
// registrations), then goes back to Activity Detail; a refusal (e.g. removing a board that has
// learner records) is shown as the API words it. Data goes into the page with textContent only.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("activity-edit");
  if (!form) return;
  const status = document.getElementById("edit-status"), errors = document.getElementById("edit-errors");
  const show = (lines) => {
    errors.replaceChildren();
    const list = document.createElement("ul");
    for (const line of lines) { const li = document.createElement("li"); li.textContent = line; list.append(li); }
    if (lines.length) errors.append(list);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const registrations = [];
    for (const box of form.querySelectorAll("fieldset.registration")) {
      if (!box.querySelector("[data-registered]").checked) continue;
      registrations.push({
        board: box.dataset.board,
        credit_types: Array.from(box.querySelectorAll("[data-credit-type]:checked"), (c) => c.value),
        max_points: box.querySelector("[data-max-points]").value.trim(),
      });
    }
    const body = {title: value("title"), activity_type: value("activity_type"),
                  provider_activity_id: value("provider_activity_id") || null, start_date: value("start_date"),
                  end_date: value("end_date"), reporting_year: Number(value("reporting_year")),
                  ama_credits: value("ama_credits"), registrations};
    status.textContent = "Saving…"; errors.replaceChildren();
    let response, data = {};
    try {
      response = await fetch(`/v1/activities/${form.dataset.activity}`, {
        method: "PATCH", credentials: "same-origin", body: JSON.stringify(body),
        headers: {"X-PARS-Portal": "1", "Accept": "application/json", "Content-Type": "application/json"}});
      data = await response.json();
    } catch (err) {
      status.textContent = ""; show(["The service could not be reached. Check your connection and try again."]);
      return;
    }
    if (response.ok) {
      status.textContent = "Activity saved.";
      location.assign(`/portal/activities/${form.dataset.activity}?saved=${data.version}`);
      return;
    }
    status.textContent = "";
    show([data.detail || "The activity was not saved."].concat(
      (data.problems || []).map((p) => `${p.field}: ${p.problem}`)));
  });
});
