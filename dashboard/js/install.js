// The first-run installer (`#/pbinstall/<token>`, the link `serve` prints while no
// superuser exists): one form that creates the first superuser through
// `POST /api/installer` and signs in as it.

import { api, signIn } from "./api.js";
import { h, mount } from "./dom.js";
import { busy, errorBox, field, showErrors } from "./forms.js";
import { go } from "./router.js";

/** The `exp` claim of a JWT (seconds), without checking it: the server does that. */
function expiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp || 0;
  } catch {
    return 0;
  }
}

export async function installView(main, { token }) {
  const expired = expiry(token) * 1000 < Date.now();
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const confirm = h("input", { type: "password", name: "passwordConfirm", autocomplete: "new-password", required: true });
  const form = h(
    "form",
    { class: "panel narrow", novalidate: true },
    h("h1", {}, "Create your first superuser"),
    h("p", { class: "lead" }, "Superusers manage collections, records and settings. This link works once: after this account exists, sign in with it."),
    expired
      ? h("p", { class: "notice warn", role: "alert" }, "This installer link has expired. Restart the server for a new one, or run `satchel superuser upsert EMAIL PASS`.")
      : null,
    errorBox(),
    field({ label: "Email", control: email, path: "email" }),
    field({ label: "Password", control: password, path: "password", help: "At least 8 characters." }),
    field({ label: "Password again", control: confirm, path: "passwordConfirm" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "Create superuser and sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, async () => {
      try {
        const auth = await api("/api/installer", {
          method: "POST",
          body: { token, email: email.value, password: password.value, passwordConfirm: confirm.value },
        });
        signIn(auth);
        go("/collections");
      } catch (err) {
        showErrors(form, err);
        if (err.status === 403) {
          form.querySelector(".form-errors")?.append(h("p", {}, h("a", { href: "#/login" }, "Go to sign-in")));
        }
      }
    });
  });
  mount(main, form);
}
