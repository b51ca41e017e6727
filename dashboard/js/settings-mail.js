// Settings › Mail: the sender, SMTP, and a "send test email" button for each template
// (`POST /api/settings/test/email`), in its own form so its errors stay apart from the
// settings' own.

import { api, session } from "./api.js";
import { h, notify, uid } from "./dom.js";
import { busy, checkbox, clearErrors, errorBox, field, numberInput, selectInput, showErrors, textInput } from "./forms.js";
import { loadCollections } from "./collections.js";

const TEMPLATES = [
  ["verification", "Verification"],
  ["password-reset", "Password reset"],
  ["email-change", "Confirm email change"],
  ["otp", "One-time password (OTP)"],
  ["login-alert", "Login alert"],
];

/** The mail settings inputs; pushes the test-email form onto `extra`. */
export async function mailSection(model, extra) {
  const password = h("input", { type: "password", autocomplete: "new-password", placeholder: "unchanged" });
  password.addEventListener("input", () => {
    if (password.value) model.smtp.password = password.value;
    else delete model.smtp.password;
  });
  extra.push(await testForm());
  return h(
    "div",
    { class: "stack" },
    h(
      "div",
      { class: "grid" },
      field({ label: "Sender name", control: textInput(model, "meta.senderName"), path: "meta.senderName" }),
      field({ label: "Sender address", control: textInput(model, "meta.senderAddress", { type: "email" }), path: "meta.senderAddress" }),
    ),
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "SMTP server"),
      field({ label: "Send mail through SMTP", control: checkbox(model, "smtp.enabled"), path: "smtp.enabled", help: "Off: mails are written to pb_data/outbox/ as .eml files (handy in development)." }),
      h(
        "div",
        { class: "grid" },
        field({ label: "Host", control: textInput(model, "smtp.host", { autocomplete: "off", spellcheck: "false" }), path: "smtp.host" }),
        field({ label: "Port", control: numberInput(model, "smtp.port", { step: 1, min: 1, max: 65535 }), path: "smtp.port" }),
        field({ label: "Username", control: textInput(model, "smtp.username", { autocomplete: "off" }), path: "smtp.username" }),
        field({ label: "Password", control: password, path: "smtp.password", help: "Never shown; leave empty to keep it." }),
        field({ label: "Auth method", control: selectInput(model, "smtp.authMethod", [["", "Default (PLAIN)"], ["PLAIN", "PLAIN"], ["LOGIN", "LOGIN"]]), path: "smtp.authMethod" }),
        field({ label: "HELO name", control: textInput(model, "smtp.localName", { placeholder: "localhost" }), path: "smtp.localName" }),
      ),
      field({ label: "Always use TLS", control: checkbox(model, "smtp.tls"), path: "smtp.tls", help: "On for implicit TLS (usually port 465); off uses STARTTLS when the server offers it." }),
    ),
  );
}

async function testForm() {
  const auth = (await loadCollections()).filter((c) => c.type === "auth");
  const email = h("input", { type: "email", id: uid(), value: session.email, autocomplete: "email" });
  const collection = h("select", { id: uid(), value: "_superusers" }, auth.map((c) => h("option", { value: c.name }, c.name)));
  const status = h("p", { class: "notice", role: "status", hidden: true });
  const form = h("form", { class: "panel", novalidate: true, "aria-labelledby": "test-email-title" });
  const send = (template, label) =>
    busy(form, async () => {
      clearErrors(form);
      status.hidden = true;
      try {
        await api("/api/settings/test/email", { method: "POST", body: { email: email.value, template, collection: collection.value } });
        status.textContent = `${label} test email sent to ${email.value}.`;
        status.hidden = false;
        notify(status.textContent);
      } catch (err) {
        showErrors(form, err);
      }
    });
  form.append(
    h("h2", { id: "test-email-title" }, "Send a test email"),
    h("p", { class: "help" }, "Uses the saved settings: save your SMTP changes first."),
    errorBox(),
    h(
      "div",
      { class: "grid" },
      field({ label: "To", control: email, path: "email" }),
      field({ label: "Templates of collection", control: collection, path: "collection" }),
    ),
    h(
      "ul",
      { class: "templates", dataset: { path: "template" } },
      TEMPLATES.map(([template, label]) =>
        h("li", {}, h("span", {}, label), h("button", { type: "button", class: "btn small", "aria-label": `Send test: ${label}`, dataset: { template }, onclick: () => send(template, label) }, "Send test")),
      ),
    ),
    status,
  );
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}
