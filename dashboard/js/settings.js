// Settings (`/api/settings`, pocketbase-surface.md §8), one page per section as in
// PocketBase's dashboard: application, mail (settings-mail.js), rate limits, and trusted
// proxy with superuser IPs. Each page edits a copy of the settings and PATCHes only its
// own keys; the API's field errors (`smtp.host`, `rateLimits.rules.0.label`) land next to
// the inputs.

import { api } from "./api.js";
import { h, mount, notify } from "./dom.js";
import { busy, checkbox, clearErrors, errorBox, field, getPath, listInput, numberInput, selectInput, showErrors, textInput } from "./forms.js";
import { mailSection } from "./settings-mail.js";
import { go, href } from "./router.js";

const SECTIONS = [
  ["application", "Application", applicationSection, ["meta", "batch"]],
  ["mail", "Mail settings", mailSection, ["meta", "smtp"]],
  ["rate-limits", "Rate limits", rateLimitsSection, ["rateLimits"]],
  ["security", "Trusted proxy & IPs", securitySection, ["trustedProxy", "superuserIPs"]],
];

export async function settingsView(main, { section = "application" }) {
  const entry = SECTIONS.find(([id]) => id === section);
  if (!entry) {
    go("/settings");
    return;
  }
  const [id, title, build, keys] = entry;
  const settings = await api("/api/settings");
  const model = structuredClone(settings);
  const nav = h(
    "nav",
    { class: "sidebar", "aria-label": "Settings" },
    h("div", { class: "sidebar-head" }, h("h2", {}, "Settings")),
    h("ul", { class: "collection-list" }, SECTIONS.map(([sid, label]) => h("li", {}, h("a", { href: href(sid === "application" ? "/settings" : `/settings/${sid}`), "aria-current": sid === id ? "page" : undefined }, label)))),
  );
  const form = h("form", { class: "panel settings-form", novalidate: true, "aria-labelledby": "settings-title" });
  const extra = [];
  mount(
    form,
    h("h1", { id: "settings-title" }, title),
    errorBox(),
    await build(model, extra),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "Save changes")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const patch = Object.fromEntries(keys.map((k) => [k, model[k]]));
      try {
        const saved = await api("/api/settings", { method: "PATCH", body: patch });
        Object.assign(model, structuredClone(saved));
        if (model.smtp) delete model.smtp.password;
        notify("Settings saved.");
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
  mount(main, h("div", { class: "with-sidebar" }, nav, h("div", { class: "content" }, form, extra)));
}

function applicationSection(model) {
  return h(
    "div",
    { class: "stack" },
    field({ label: "Application name", control: textInput(model, "meta.appName"), path: "meta.appName", help: "Used in emails ({APP_NAME})." }),
    field({ label: "Application URL", control: textInput(model, "meta.appURL", { type: "url" }), path: "meta.appURL", help: "The public address, used in email links ({APP_URL})." }),
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "Batch API"),
      field({ label: "Enable /api/batch", control: checkbox(model, "batch.enabled"), path: "batch.enabled" }),
      h(
        "div",
        { class: "grid" },
        field({ label: "Max requests per batch", control: numberInput(model, "batch.maxRequests", { step: 1, min: 0 }), path: "batch.maxRequests" }),
        field({ label: "Timeout (seconds)", control: numberInput(model, "batch.timeout", { step: 1, min: 0 }), path: "batch.timeout" }),
        field({ label: "Max body size (bytes)", control: numberInput(model, "batch.maxBodySize", { step: 1, min: 0 }), path: "batch.maxBodySize", help: "0 = default (128 MiB)." }),
      ),
    ),
  );
}

function rateLimitsSection(model) {
  model.rateLimits ||= { rules: [], excludedIPs: [], enabled: false };
  model.rateLimits.rules ||= [];
  const rows = h("ol", { class: "rule-rows", "aria-label": "Rate limit rules" });
  const render = () =>
    mount(
      rows,
      model.rateLimits.rules.map((_, i) => {
        const base = `rateLimits.rules.${i}`;
        const cell = (label, control, key) => field({ label, control, path: `${base}.${key}` });
        return h(
          "li",
          { class: "rule-row", dataset: { path: base } },
          cell("Label", textInput(model, `${base}.label`, { class: "code", spellcheck: "false" }), "label"),
          cell("Max requests", numberInput(model, `${base}.maxRequests`, { step: 1, min: 1 }), "maxRequests"),
          cell("Per seconds", numberInput(model, `${base}.duration`, { step: 1, min: 1 }), "duration"),
          cell("Audience", selectInput(model, `${base}.audience`, [["", "Everyone"], ["@guest", "Guests only"], ["@auth", "Signed-in only"]]), "audience"),
          h(
            "button",
            {
              type: "button",
              class: "btn small danger",
              "aria-label": `Remove rule ${i + 1}`,
              onclick: () => {
                model.rateLimits.rules.splice(i, 1);
                render();
              },
            },
            "Remove",
          ),
          h("p", { class: "error", hidden: true }),
        );
      }),
    );
  render();
  return h(
    "div",
    { class: "stack" },
    field({ label: "Enable rate limiting", control: checkbox(model, "rateLimits.enabled"), path: "rateLimits.enabled", help: "Superusers are never limited." }),
    h("p", { class: "help" }, "Labels: a path (/api/, a trailing slash = prefix), METHOD /path, collection:tag or *:tag (tags: list, view, create, update, delete, auth, requestOTP, authWithOTP…)."),
    rows,
    h(
      "button",
      {
        type: "button",
        class: "btn small",
        onclick: () => {
          model.rateLimits.rules.push({ label: "", audience: "", duration: 10, maxRequests: 100 });
          render();
          rows.querySelector("li:last-child input")?.focus();
        },
      },
      "+ Add rule",
    ),
    field({ label: "Excluded IPs", control: listInput(model, "rateLimits.excludedIPs"), path: "rateLimits.excludedIPs", help: "Comma-separated addresses never limited." }),
  );
}

async function securitySection(model) {
  let seen = null;
  try {
    seen = (await api("/api/health")).data;
  } catch {
    seen = null;
  }
  return h(
    "div",
    { class: "stack" },
    seen?.realIP ? h("p", { class: "notice" }, `The server sees your address as ${seen.realIP}.`, seen.possibleProxyHeader ? ` A proxy header was seen: ${seen.possibleProxyHeader}.` : "") : null,
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "Trusted proxy"),
      field({
        label: "Client IP headers",
        control: listInput(model, "trustedProxy.headers"),
        path: "trustedProxy.headers",
        help: "Comma-separated, e.g. X-Forwarded-For or CF-Connecting-IP. Only set this behind a proxy that overwrites them.",
      }),
      field({ label: "Use the leftmost IP of the header", control: checkbox(model, "trustedProxy.useLeftmostIP"), path: "trustedProxy.useLeftmostIP", help: "Off: the rightmost (the one your proxy added)." }),
    ),
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "Superuser IPs"),
      field({
        label: "Allowed addresses",
        control: listInput(model, "superuserIPs"),
        path: "superuserIPs",
        help: "Comma-separated IPs or CIDR blocks superusers may connect from; empty = anywhere. Include your own address or you will lock yourself out.",
      }),
    ),
    getPath(model, "superuserIPs")?.length ? null : h("p", { class: "muted small" }, "No superuser IP restriction is set."),
  );
}
