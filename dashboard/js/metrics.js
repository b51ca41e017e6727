// OTP at a glance: the per-collection counters of `GET /api/metrics` (Prometheus text
// format, docs/otp.md), shown on an auth collection's page.

import { api } from "./api.js";
import { h, mount } from "./dom.js";

/** The counters shown, in flow order: metric name → label. */
const COUNTERS = [
  ["satchel_otp_requested_total", "Requested", "Codes requested for known emails"],
  ["satchel_otp_mailed_total", "Mailed", "Mails handed to SMTP or the outbox"],
  ["satchel_otp_mail_failed_total", "Mail failed", "Mails that failed to send"],
  ["satchel_otp_verified_total", "Verified", "Successful sign-ins with a code"],
  ["satchel_otp_wrong_code_total", "Wrong code", "Wrong, unknown or expired codes"],
  ["satchel_otp_attempts_limited_total", "Attempts limited", "Refused by the 5 per 180 s attempt limit"],
  ["satchel_otp_rate_limited_total", "Rate limited", "Refused by the rate limiter"],
];

/**
 * Parses Prometheus' text exposition format into `{metric: {collection: value}}` (other
 * labels are ignored; samples without a `collection` label are keyed "").
 */
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const m = trimmed.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const [, name, , labels = "", value] = m;
    let collection = "";
    const label = labels.match(/(?:^|,)\s*collection="((?:[^"\\]|\\.)*)"/);
    if (label) collection = label[1].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    (out[name] ||= {})[collection] = Number(value);
  }
  return out;
}

/** A panel that loads and shows the OTP counters of `collection` (a name). */
export function otpPanel(collection) {
  const body = h("div", { class: "metrics-body" }, h("p", { class: "muted" }, "Loading counters…"));
  const panel = h(
    "section",
    { class: "panel metrics", "aria-labelledby": "otp-metrics-title" },
    h(
      "div",
      { class: "panel-head" },
      h("h2", { id: "otp-metrics-title" }, "OTP at a glance"),
      h("button", { type: "button", class: "btn small", onclick: () => load() }, "Refresh"),
    ),
    body,
  );
  const load = async () => {
    try {
      const metrics = parseMetrics(await api("/api/metrics", { text: true }));
      mount(
        body,
        h(
          "dl",
          { class: "counters" },
          COUNTERS.map(([name, label, help]) =>
            h("div", { class: "counter", title: help, dataset: { metric: name } }, h("dt", {}, label), h("dd", {}, String(metrics[name]?.[collection] ?? 0))),
          ),
        ),
        h("p", { class: "muted small" }, "Since the server started. Also at /api/metrics for Prometheus."),
      );
    } catch (err) {
      mount(body, h("p", { class: "muted" }, `Counters unavailable: ${err.message}`));
    }
  };
  load();
  return panel;
}
