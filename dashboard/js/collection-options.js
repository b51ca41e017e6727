// The "Options" tab of an auth collection (pocketbase-surface.md §4.1–4.2, docs/otp.md):
// password auth, one-time passwords (with Satchel's extra options), MFA, the login alert,
// token durations and the mail templates, each template with a "send test email" button.

import { api, session } from "./api.js";
import { h, mount, notify, uid } from "./dom.js";
import { checkbox, field, listInput, numberInput, textArea, textInput } from "./forms.js";

const TOKENS = [
  ["authToken", "Auth token", "How long a sign-in lasts."],
  ["verificationToken", "Email verification token"],
  ["passwordResetToken", "Password reset token"],
  ["emailChangeToken", "Email change token"],
  ["fileToken", "Protected file token"],
];

/** Renders the auth options of `model` into `box`. `saved`: whether the collection exists. */
export function optionsTab(box, model, saved) {
  const recipient = h("input", { type: "email", id: uid(), value: session.email, autocomplete: "email" });
  const tester = (template) => testButton(model, template, recipient, saved);
  mount(
    box,
    section(
      "Password authentication",
      field({ label: "Enable password sign-in", control: checkbox(model, "passwordAuth.enabled"), path: "passwordAuth.enabled" }),
      field({
        label: "Identity fields",
        control: listInput(model, "passwordAuth.identityFields"),
        path: "passwordAuth.identityFields",
        help: "Comma-separated fields a user may sign in with (each needs a UNIQUE index), e.g. email, username.",
      }),
    ),
    section(
      "One-time password (OTP)",
      h("p", { class: "help" }, "Sign-in with a code sent by email (request-otp / auth-with-otp)."),
      field({ label: "Enable OTP sign-in", control: checkbox(model, "otp.enabled"), path: "otp.enabled" }),
      h(
        "div",
        { class: "grid" },
        field({ label: "Code length", control: numberInput(model, "otp.length", { min: 4, step: 1 }), path: "otp.length", help: "Digits in a code (at least 4)." }),
        field({ label: "Code lifetime (seconds)", control: numberInput(model, "otp.duration", { min: 10, step: 1 }), path: "otp.duration", help: "10 to 86400." }),
      ),
      h("h4", {}, "Satchel options"),
      field({ label: "Only the latest code works", control: checkbox(model, "otp.singleActive"), path: "otp.singleActive", help: "A new request invalidates the earlier codes of that account." }),
      field({
        label: "Security phrase",
        control: checkbox(model, "otp.securityPhrase"),
        path: "otp.securityPhrase",
        help: "request-otp also answers three random words that the email repeats ({PHRASE}), so users can spot a phishing mail.",
      }),
      field({
        label: "Create accounts on first code",
        control: checkbox(model, "otp.autoCreate"),
        path: "otp.autoCreate",
        help: "An unknown email gets an unverified account, if the create rule lets a guest create it.",
      }),
      template(model, "otp.emailTemplate", "OTP email", "{APP_NAME}, {APP_URL}, {OTP}, {OTP_ID}, {PHRASE}, {RECORD:field}", tester("otp")),
    ),
    section(
      "Multi-factor authentication (MFA)",
      field({ label: "Require a second method", control: checkbox(model, "mfa.enabled"), path: "mfa.enabled", help: "Needs two enabled sign-in methods (e.g. password and OTP)." }),
      field({ label: "Session lifetime (seconds)", control: numberInput(model, "mfa.duration", { min: 10, step: 1 }), path: "mfa.duration" }),
      field({ label: "Rule (who needs MFA)", control: textInput(model, "mfa.rule", { class: "code", spellcheck: "false" }), path: "mfa.rule", help: "A filter; empty = everyone." }),
    ),
    section(
      "Login alert",
      field({ label: "Email users about sign-ins from a new location", control: checkbox(model, "authAlert.enabled"), path: "authAlert.enabled" }),
      template(model, "authAlert.emailTemplate", "Login alert email", "{APP_NAME}, {APP_URL}, {ALERT_INFO}, {RECORD:field}", tester("login-alert")),
    ),
    section(
      "Token durations (seconds)",
      h(
        "div",
        { class: "grid" },
        TOKENS.map(([key, label, help]) => field({ label, control: numberInput(model, `${key}.duration`, { min: 10, step: 1 }), path: `${key}.duration`, help })),
      ),
    ),
    section(
      "Mail templates",
      field({ label: "Send test emails to", control: recipient, help: "The test buttons send the saved template with sample values." }),
      template(model, "verificationTemplate", "Verification email", "{APP_NAME}, {APP_URL}, {TOKEN}, {RECORD:field}", tester("verification")),
      template(model, "resetPasswordTemplate", "Password reset email", "{APP_NAME}, {APP_URL}, {TOKEN}, {RECORD:field}", tester("password-reset")),
      template(model, "confirmEmailChangeTemplate", "Email change email", "{APP_NAME}, {APP_URL}, {TOKEN}, {RECORD:field}", tester("email-change")),
    ),
    h("p", { class: "help" }, "OAuth2 providers are not configurable in the dashboard yet; set them through the collections API."),
  );
}

function section(title, ...children) {
  return h("fieldset", { class: "section" }, h("legend", {}, title), children);
}

/** Subject and body of a mail template at `path`, with its test button. */
function template(model, path, title, placeholders, button) {
  return h(
    "details",
    { class: "template" },
    h("summary", {}, title),
    field({ label: "Subject", control: textInput(model, `${path}.subject`), path: `${path}.subject` }),
    field({ label: "Body (HTML)", control: textArea(model, `${path}.body`, { rows: 8, class: "code", spellcheck: "false" }), path: `${path}.body`, help: `Placeholders: ${placeholders}.` }),
    button,
  );
}

/** A button sending `template` of this collection to the recipient input. */
function testButton(model, template, recipient, saved) {
  const status = h("span", { class: "muted small", role: "status" });
  const button = h("button", { type: "button", class: "btn small", disabled: !saved, dataset: { template } }, "Send test email");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Sending…";
    try {
      await api("/api/settings/test/email", { method: "POST", body: { email: recipient.value, template, collection: model.id } });
      status.textContent = `Sent to ${recipient.value}.`;
      notify(`Test email sent to ${recipient.value}.`);
    } catch (err) {
      const detail = Object.values(err.data || {}).map((e) => e.message).join(" ");
      status.textContent = `${err.message} ${detail}`.trim();
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "inline" }, button, status, saved ? null : h("span", { class: "muted small" }, "Save the collection first."));
}
