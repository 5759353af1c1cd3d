import { api, el, field, hasPath, pageReady, showErrors, toast } from "./api.js";

const form = document.getElementById("library-form");
const watching = new Set();

function scanText(scan) {
  if (!scan) return "Not scanned since the server started.";
  const c = scan.counts;
  const base = `${c.processed} of ${c.total} files (${c.added} added, ${c.updated} updated, ${c.failed} failed, ${c.missing} missing)`;
  if (scan.status === "running") return `Scanning: ${scan.percent}%, ${base}`;
  if (scan.status === "failed") return `Scan failed: ${scan.error || "see the log"}`;
  if (scan.status === "cancelled") return `Scan cancelled: ${base}`;
  return `Scan ${scan.status}: ${base}`;
}

function card(library) {
  const bar = el("progress", { max: 100, value: library.scan ? library.scan.percent : 0, id: `scan-bar-${library.id}`, "aria-label": `Scan progress of ${library.name}` });
  bar.hidden = !library.scan;
  const text = el("p", { id: `scan-text-${library.id}`, role: "status", "aria-live": "polite" }, scanText(library.scan));
  const scan = el("button", { type: "button", "aria-label": `Scan ${library.name}` }, "Scan");
  scan.addEventListener("click", async () => {
    try { await api(`/api/libraries/${library.id}/scan`, { method: "POST" }); follow(library.id); }
    catch (error) { toast(error.message); }
  });
  const cancel = el("button", { type: "button", id: `scan-cancel-${library.id}`, "aria-label": `Cancel the scan of ${library.name}` }, "Cancel scan");
  cancel.hidden = !(library.scan && library.scan.status === "running");
  cancel.addEventListener("click", async () => {
    try { await api(`/api/libraries/${library.id}/scan/cancel`, { method: "POST" }); }
    catch (error) { toast(error.message); }
  });
  const remove = el("button", { type: "button", class: "danger", "aria-label": `Delete library ${library.name}` }, "Delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete library ${library.name} and its items?`)) return;
    try { await api(`/api/libraries/${library.id}`, { method: "DELETE" }); load(); } catch (error) { toast(error.message); }
  });
  return el("li", { id: `library-${library.id}` },
    el("h3", {}, el("a", { href: `/libraries/${library.id}` }, library.name)),
    el("p", { class: "hint" }, `${library.kind} · ${library.paths.join(", ")}`),
    bar, text, scan, cancel, library.managed_by_config ? el("small", {}, "Declared in the config file.") : remove);
}

async function follow(id) {
  if (watching.has(id)) return;
  watching.add(id);
  try {
    for (;;) {
      const scan = await api(`/api/libraries/${id}/scan`);
      const bar = document.getElementById(`scan-bar-${id}`), text = document.getElementById(`scan-text-${id}`);
      if (bar) { bar.hidden = false; bar.value = scan.percent; }
      if (text) text.textContent = scanText(scan);
      const cancel = document.getElementById(`scan-cancel-${id}`);
      if (cancel) cancel.hidden = scan.status !== "running";
      if (scan.status !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally { watching.delete(id); }
}

async function load() {
  const libraries = await api("/api/libraries");
  document.getElementById("libraries").replaceChildren(...(libraries.length ? libraries.map(card) : [el("li", {}, "No libraries yet.")]));
  for (const library of libraries) if (library.scan && library.scan.status === "running") follow(library.id);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    name: field(form, "name").value,
    kind: field(form, "kind").value,
    paths: field(form, "paths").value.split("\n").map((p) => p.trim()).filter(Boolean),
  };
  try {
    const library = await api("/api/libraries", { method: "POST", body });
    form.reset();
    await api(`/api/libraries/${library.id}/scan`, { method: "POST" });
    await load();
    follow(library.id);
    document.getElementById(`scan-text-${library.id}`)?.focus?.();
  } catch (error) {
    showErrors(form, error);
  }
});

// Checkboxes for a server's libraries; the chosen ones become our libraries (and scan).
function choose(source, remote) {
  if (!remote.length) return [];
  const boxes = remote.map((lib) => {
    const box = el("input", { type: "checkbox", value: lib.id, id: `ms-${source.id}-lib-${lib.id}` });
    return [box, el("label", { for: box.id, class: "check" }, box, ` ${lib.title}${lib.kind ? ` (${lib.kind})` : ""}`)];
  });
  const use = el("button", { type: "button" }, "Use the selected libraries");
  use.addEventListener("click", async () => {
    const libraries = boxes.filter(([box]) => box.checked).map(([box]) => box.value);
    if (!libraries.length) return;
    try { await api(`/api/media-sources/${source.id}/libraries`, { method: "POST", body: { libraries } }); toast("Libraries added"); load(); }
    catch (error) { toast(error.message); }
  });
  return [el("fieldset", {}, el("legend", {}, `Libraries on ${source.name}`), boxes.map(([, label]) => label)), use];
}

async function servers() {
  const box = document.getElementById("servers");
  if (!(await hasPath("/api/media-sources"))) {
    box.replaceChildren(el("p", {}, "This server does not support media servers yet; add local folders above."));
    return;
  }
  const sources = await api("/api/media-sources");
  const list = el("ul", { class: "cards" }, sources.map((s) => {
    const result = el("p", { role: "status", "aria-live": "polite" });
    const picker = el("div");
    const test = el("button", { type: "button", class: "secondary", "aria-label": `Test connection to ${s.name}` }, "Test connection");
    test.addEventListener("click", async () => {
      result.textContent = "Testing…";
      try {
        const info = await api(`/api/media-sources/${s.id}/test`, { method: "POST" });
        result.textContent = `Connected to ${info.name} ${info.version}: ${info.libraries.length} librar${info.libraries.length === 1 ? "y" : "ies"}.`;
        picker.replaceChildren(...choose(s, info.libraries));
      } catch (error) { result.textContent = `Failed: ${error.message}`; }
    });
    return el("li", {}, el("h3", {}, `${s.name} (${s.kind})`), el("p", { class: "hint" }, s.url || ""), test, result, picker);
  }));
  const add = el("form", { novalidate: true },
    el("p", { class: "error form-error", role: "alert", hidden: true }),
    el("div", { class: "row" },
      el("div", { class: "field" }, el("label", { for: "ms-kind" }, "Type"), el("select", { id: "ms-kind", name: "kind" }, ["plex", "jellyfin", "emby"].map((k) => el("option", { value: k }, k)))),
      el("div", { class: "field" }, el("label", { for: "ms-name" }, "Name"), el("input", { id: "ms-name", name: "name", required: true, "aria-describedby": "ms-name-error" }), el("small", { id: "ms-name-error", class: "error" })),
      el("div", { class: "field" }, el("label", { for: "ms-url" }, "URL"), el("input", { id: "ms-url", name: "url", type: "url", required: true, "aria-describedby": "ms-url-error" }), el("small", { id: "ms-url-error", class: "error" })),
      el("div", { class: "field" }, el("label", { for: "ms-token" }, "Token or API key"), el("input", { id: "ms-token", name: "token", type: "password", autocomplete: "off", "aria-describedby": "ms-token-error" }), el("small", { id: "ms-token-error", class: "error" }))),
    el("button", { type: "submit" }, "Add media server"));
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { kind: add.elements.kind.value, name: add.elements.name.value, url: add.elements.url.value, token: add.elements.token.value };
    try { await api("/api/media-sources", { method: "POST", body }); servers(); } catch (error) { showErrors(add, error); }
  });
  box.replaceChildren(list, el("h3", {}, "Add a media server"), add);
}

Promise.all([load(), servers()]).catch((error) => toast(error.message)).finally(pageReady);
