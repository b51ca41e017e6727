/// <reference path="../pb_data/types.d.ts" />

// OTP audit: one log line per code request, with the email hashed (never the code), and
// requests for addresses at blocked domains refused before any code is generated.
// Configure the blocked domains with SATCHEL_OTP_BLOCKED_DOMAINS="spam.test,example.invalid".
onRecordRequestOTPRequest((e) => {
  const email = String(e.requestInfo().body.email || "").trim().toLowerCase();
  const domain = email.split("@")[1] || "";
  const blocked = ($os.getenv("SATCHEL_OTP_BLOCKED_DOMAINS") || "")
    .split(",")
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d);

  $app.logger().info("otp requested",
    "collection", e.collection.name,
    "email_sha256", $security.sha256(email),
    "known", e.record !== null);

  if (blocked.includes(domain)) {
    throw new BadRequestError("Sign-in codes can't be sent to this email domain.");
  }
  return e.next();
});
