// A frontend's day against a live dealergate in cookie mode, as Mark (manager@premiumauto.com,
// one person in two dealerships): enrol an authenticator app, sign in with the second step,
// list the staff, refresh through the cookie, switch dealership, and react to errors by their
// `type`. Every step asserts what it got; the first failure stops the run with exit code 1.
//
//   API_BASE_URL=http://127.0.0.1:8000 npm start
//
// The server must run with `auth.cookie_mode` on and Mark without a factor (a fresh demo seed):
// clients/typescript/ci.sh starts one so.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as OTPAuth from "otpauth";
import { CookieJar } from "tough-cookie";

import { type Session, type TokenResponse, type User, dealergate, keep } from "./client.js";
import { noContent, ok, refused, runSteps } from "./check.js";
import { kindOf, react } from "./errors.js";

const baseUrl = process.env.API_BASE_URL ?? "http://127.0.0.1:8000";
const mark = { email: "manager@premiumauto.com", password: "Manager123!" };
const REFRESH_COOKIE = "dealergate_refresh";

const session: Session = { accessToken: null };
const jar = new CookieJar();
const api = dealergate(baseUrl, session, jar);

/** What the steps learn and hand on. */
const seen: { app?: OTPAuth.TOTP; confirmedStep?: number; signedIn?: TokenResponse } = {};

/** The refresh cookie as the browser holds it (the page itself cannot read it: HttpOnly). */
async function refreshCookie() {
  const all = await jar.getCookies(`${baseUrl}/api/v1/auth/refresh`);
  return all.find((c) => c.key === REFRESH_COOKIE);
}

function signedIn(): TokenResponse {
  assert.ok(seen.signedIn, "an earlier step signs in");
  return seen.signedIn;
}

async function staff(): Promise<{ users: User[]; total: number }> {
  const answer = await api.GET("/api/v1/users", { params: { query: { limit: 100 } } });
  const users = ok(answer, "list users");
  const total = Number(answer.response.headers.get("X-Total-Count"));
  return { users, total };
}

const steps = [
  [
    "sign in with the password alone (no factor yet), the refresh token in a cookie",
    async () => {
      const answer = ok(await api.POST("/api/v1/auth/login", { body: mark }), "login");
      assert.ok(!("mfa_required" in answer), "no second step before enrolling");
      keep(session, answer);
      assert.equal(answer.mfa, "optional");
      assert.equal(answer.refresh_token ?? null, null, "cookie mode: no refresh token in the body");
      const cookie = await refreshCookie();
      assert.ok(cookie?.httpOnly && cookie.secure, "the refresh cookie is HttpOnly and Secure");
      assert.equal(cookie.sameSite, "strict");
      assert.equal(cookie.path, "/api/v1/auth");
      assert.equal(answer.user.memberships.length, 2, "Mark works in two dealerships");
      return `${answer.user.first_name} in ${answer.user.memberships.length} dealerships`;
    },
  ],
  [
    "enrol an authenticator app (otpauth URI) and confirm it with its first code",
    async () => {
      const enrolment = ok(
        await api.POST("/api/v1/auth/mfa/totp", { body: { current_password: mark.password } }),
        "enrol",
      );
      const app = OTPAuth.URI.parse(enrolment.otpauth_uri);
      assert.ok(app instanceof OTPAuth.TOTP, "the URI is a TOTP one");
      assert.equal(app.secret.base32, enrolment.secret, "the URI holds the shown secret");
      assert.ok(enrolment.qr_svg.includes("<svg"), "the QR code is an SVG document");
      const now = Date.now();
      const confirmed = ok(
        await api.POST("/api/v1/auth/mfa/totp/{id}/confirm", {
          params: { path: { id: enrolment.id } },
          body: { code: app.generate({ timestamp: now }) },
        }),
        "confirm",
      );
      assert.equal(confirmed.recovery_codes.length, 10);
      assert.notEqual(confirmed.factor.confirmed_at, null);
      session.accessToken = confirmed.token.access_token;
      seen.app = app;
      seen.confirmedStep = app.counter({ timestamp: now });
      return `factor ${confirmed.factor.id}, ${confirmed.recovery_codes.length} recovery codes`;
    },
  ],
  [
    "sign out: the session ends and the refresh cookie is cleared",
    async () => {
      noContent(await api.POST("/api/v1/auth/logout"), "logout");
      assert.equal(await refreshCookie(), undefined, "Max-Age=0 removed the cookie");
      const stale = refused(await api.GET("/api/v1/auth/me"), 401, "me after logout");
      assert.equal(kindOf(stale), "unauthenticated");
      session.accessToken = null;
      return "cookie gone, old access token refused (unauthenticated)";
    },
  ],
  [
    "sign in with the second step: password, then a code computed from the secret",
    async () => {
      const first = ok(await api.POST("/api/v1/auth/login", { body: mark }), "login");
      assert.ok("mfa_required" in first, "the password alone no longer signs Mark in");
      assert.equal(await refreshCookie(), undefined, "no cookie before the second step");
      assert.ok(seen.app !== undefined && seen.confirmedStep !== undefined);
      // A code is accepted once: the confirmation used this 30-second step, so answer with the
      // next one (the server accepts one step of clock skew either side).
      const step = seen.confirmedStep + 1;
      const code = seen.app.generate({ timestamp: step * seen.app.period * 1000 });
      const tokens = ok(
        await api.POST("/api/v1/auth/mfa/verify", { body: { mfa_token: first.mfa_token, code } }),
        "verify",
      );
      keep(session, tokens);
      seen.signedIn = tokens;
      assert.equal(tokens.mfa, "enrolled");
      assert.ok((await refreshCookie()) !== undefined, "the second step set the refresh cookie");
      const me = ok(await api.GET("/api/v1/auth/me"), "me");
      assert.equal(me.email, mark.email);
      return `signed in to ${tokens.user.dealership_id} with mfa ${tokens.mfa}`;
    },
  ],
  [
    "list users: typed User[], X-Total-Count, only the signed-in dealership",
    async () => {
      const here = signedIn().user.dealership_id;
      const { users, total } = await staff();
      assert.ok(users.length > 0 && users.length === total, `${users.length} of ${total}`);
      for (const user of users) {
        assert.equal(user.dealership_id, here, `${user.email} is of the signed-in dealership`);
      }
      assert.ok(users.some((u) => u.email === mark.email));
      return `${total} users: ${users.map((u) => `${u.first_name} (${u.role})`).join(", ")}`;
    },
  ],
  [
    "refresh in cookie mode: body {}, the cookie rotates",
    async () => {
      const before = (await refreshCookie())?.value;
      const answer = await api.POST("/api/v1/auth/refresh", { body: {} });
      const tokens = keep(session, ok(answer, "refresh"));
      const after = (await refreshCookie())?.value;
      assert.ok(before !== undefined && after !== undefined && before !== after, "rotated");
      assert.equal(tokens.refresh_token ?? null, null);
      assert.equal(tokens.user.dealership_id, signedIn().user.dealership_id);
      ok(await api.GET("/api/v1/auth/me"), "me with the refreshed token");
      return "new access token works, refresh cookie rotated";
    },
  ],
  [
    "switch dealership: tokens for the other membership, its staff only",
    async () => {
      const { user } = signedIn();
      const other = user.memberships.find((m) => m.dealership_id !== user.dealership_id);
      assert.ok(other?.dealership_id, "Mark has a second dealership");
      const tokens = keep(
        session,
        ok(
          await api.POST("/api/v1/auth/switch", { body: { dealership_id: other.dealership_id } }),
          "switch",
        ),
      );
      assert.equal(tokens.user.dealership_id, other.dealership_id);
      const { users } = await staff();
      assert.ok(users.every((u) => u.dealership_id === other.dealership_id));
      // in cookie mode the cookie now holds the family switched to: a refresh stays there
      const refreshed = ok(await api.POST("/api/v1/auth/refresh", { body: {} }), "refresh");
      keep(session, refreshed);
      assert.equal(refreshed.user.dealership_id, other.dealership_id);
      return `now in ${other.dealership_name} (${users.length} users), a refresh stays there`;
    },
  ],
  [
    "errors by their type: 404 not_found, 422 validation_error with details, 401",
    async () => {
      const missing = refused(
        await api.GET("/api/v1/users/{id}", { params: { path: { id: randomUUID() } } }),
        404,
        "a user that is not there",
      );
      assert.equal(kindOf(missing), "not_found");
      assert.deepEqual(react(missing), { do: "show_message", message: missing.error.message });
      const invalid = refused(
        await api.PATCH("/api/v1/auth/me", { body: { phone: "not a phone" } }),
        422,
        "an invalid phone",
      );
      const reaction = react(invalid);
      assert.equal(reaction.do, "show_fields");
      assert.ok(reaction.do === "show_fields" && reaction.fields.some((f) => f.field === "phone"));
      noContent(await api.POST("/api/v1/auth/logout-all"), "logout-all");
      const gone = refused(await api.POST("/api/v1/auth/refresh", { body: {} }), 401, "refresh");
      assert.deepEqual(react(gone), { do: "sign_in_again" });
      return `${missing.error.type}, ${invalid.error.type} on ${invalid.error.details
        .map((d) => d.field)
        .join(", ")}, ${gone.error.type} after logout-all`;
    },
  ],
] as const;

console.log(`dealergate typed client against ${baseUrl}`);
process.exitCode = (await runSteps(steps)) ? 0 : 1;
