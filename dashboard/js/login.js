// Superuser sign-in: password, and a one-time code by email when OTP is enabled on
// `_superusers`. With MFA on, the first method answers 401 `{mfaId}` and the other
// method finishes the sign-in with that id.

import { api, ApiError, signIn } from "./api.js";
import { h, mount } from "./dom.js";
import { busy, errorBox, field, showErrors } from "./forms.js";
import { go } from "./router.js";

const BASE = "/api/collections/_superusers";

export async function loginView(main, _params, query) {
  let methods = { password: { enabled: true }, otp: { enabled: false } };
  try {
    methods = await api(`${BASE}/auth-methods`);
  } catch {
    // The password form is the safe default if the methods can't be read.
  }
  const state = { mfaId: "", otpId: "" };
  const status = h("p", { class: "notice", role: "status", hidden: true });
  const done = (auth) => {
    signIn(auth);
    const next = query.get("next");
    if (next && next.startsWith("/") && !next.startsWith("/login")) location.hash = `#${next}`;
    else go("/collections");
  };
  /** Runs a sign-in call; a 401 `{mfaId}` asks for the second method. */
  const attempt = async (form, call) => {
    try {
      done(await call());
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && err.body?.mfaId) {
        state.mfaId = err.body.mfaId;
        status.textContent = "This account needs a second sign-in method: use the other method below to finish.";
        status.hidden = false;
        status.focus?.();
        return;
      }
      showErrors(form, err);
    }
  };
  const forms = [];
  if (methods.password?.enabled !== false) forms.push(passwordForm(state, attempt, methods));
  if (methods.otp?.enabled) forms.push(otpForm(state, attempt));
  const panel = h(
    "section",
    { class: "panel narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in"),
    h("p", { class: "lead" }, "Superuser sign-in for this Satchel server."),
    status,
    forms.length ? forms.flatMap((f, i) => (i ? [h("p", { class: "or" }, "or"), f] : [f])) : h("p", { class: "notice warn" }, "No sign-in method is enabled for superusers."),
  );
  mount(main, panel);
}

function passwordForm(state, attempt, methods) {
  const identityLabel = (methods.password?.identityFields || ["email"]).join(" or ");
  const identity = h("input", { type: "text", name: "identity", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const form = h(
    "form",
    { class: "stack", "aria-label": "Sign in with password", novalidate: true },
    errorBox(),
    field({ label: identityLabel[0].toUpperCase() + identityLabel.slice(1), control: identity, path: "identity" }),
    field({ label: "Password", control: password, path: "password" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "Sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, () =>
      attempt(form, () =>
        api(`${BASE}/auth-with-password`, {
          method: "POST",
          body: { identity: identity.value, password: password.value, mfaId: state.mfaId || undefined },
        }),
      ),
    );
  });
  return form;
}

function otpForm(state, attempt) {
  const status = h("p", { class: "notice", role: "status", hidden: true });
  const email = h("input", { type: "email", name: "otp-email", autocomplete: "username", required: true });
  const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true });
  const codeField = field({ label: "Code from the email", control: code, path: "password" });
  const verify = h("button", { type: "submit", class: "btn primary" }, "Sign in with code");
  const send = h("button", { type: "button", class: "btn" }, "Email me a code");
  codeField.hidden = true;
  verify.hidden = true;
  const form = h(
    "form",
    { class: "stack", "aria-label": "Sign in with a one-time code", novalidate: true },
    errorBox(),
    field({ label: "Email for a one-time code", control: email, path: "email" }),
    status,
    codeField,
    h("div", { class: "actions" }, send, verify),
  );
  send.addEventListener("click", () =>
    busy(form, async () => {
      try {
        const answer = await api(`${BASE}/request-otp`, { method: "POST", body: { email: email.value } });
        state.otpId = answer.otpId;
        codeField.hidden = false;
        verify.hidden = false;
        send.textContent = "Send another code";
        status.textContent = answer.phrase
          ? `If the address is a superuser's, a code is on its way. The email must say: “${answer.phrase}”.`
          : "If the address is a superuser's, a code is on its way.";
        status.hidden = false;
        code.focus();
      } catch (err) {
        showErrors(form, err);
      }
    }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state.otpId) return send.click();
    busy(form, () =>
      attempt(form, () =>
        api(`${BASE}/auth-with-otp`, {
          method: "POST",
          body: { otpId: state.otpId, password: code.value.trim(), mfaId: state.mfaId || undefined },
        }),
      ),
    );
  });
  return form;
}
