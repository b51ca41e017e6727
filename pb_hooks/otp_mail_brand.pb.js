/// <reference path="../pb_data/types.d.ts" />

// Brands the OTP mail subject with the app name, e.g. "Acme · Your sign-in code".
onMailerRecordOTPSend((e) => {
  const appName = $app.settings().meta.appName || "Satchel";
  e.message.subject = appName + " · Your sign-in code";
  return e.next();
});
