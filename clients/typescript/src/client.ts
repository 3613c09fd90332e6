// The typed client: openapi-fetch over the `paths` that openapi-typescript generated from the
// server's /openapi.json, with the two things a browser would add on its own — the bearer
// token of the signed-in tab, and the refresh cookie (cookie mode).
import createClient, { type Middleware } from "openapi-fetch";
import { CookieJar } from "tough-cookie";

import type { components, paths } from "./generated/api.js";

export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type TokenResponse = Schemas["TokenResponse"];

/** What a signed-in tab holds: the access token. The refresh token is not here: in cookie
 * mode it lives in the HttpOnly cookie, out of the page's reach. */
export interface Session {
  accessToken: string | null;
}

/** Sends `Authorization: Bearer …` while the session holds an access token. */
function bearer(session: Session): Middleware {
  return {
    onRequest({ request }) {
      if (session.accessToken !== null) {
        request.headers.set("Authorization", `Bearer ${session.accessToken}`);
      }
      return request;
    },
  };
}

/** What `fetch(…, { credentials: "include" })` does in a browser and Node's fetch does not:
 * keep each `Set-Cookie` (its Path, Max-Age, HttpOnly and Secure rules as RFC 6265 says, by
 * tough-cookie) and send back the cookies whose path matches. `Secure` cookies travel over
 * http only to localhost and 127.0.0.1, as in browsers. */
function cookies(jar: CookieJar): Middleware {
  return {
    async onRequest({ request }) {
      const cookie = await jar.getCookieString(request.url);
      if (cookie !== "") {
        request.headers.set("Cookie", cookie);
      }
      return request;
    },
    async onResponse({ request, response }) {
      for (const line of response.headers.getSetCookie()) {
        await jar.setCookie(line, request.url);
      }
      return response;
    },
  };
}

export function dealergate(baseUrl: string, session: Session, jar: CookieJar) {
  const client = createClient<paths>({ baseUrl });
  client.use(bearer(session), cookies(jar));
  return client;
}

export type Client = ReturnType<typeof dealergate>;

/** Keeps a sign-in's (or a refresh's, or a switch's) access token for the next requests. */
export function keep(session: Session, tokens: TokenResponse): TokenResponse {
  session.accessToken = tokens.access_token;
  return tokens;
}
