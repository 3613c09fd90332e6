// Every dealergate error has one body, `{"error": {type, message, request_id, details}}`
// (api.md, "Errors"); a frontend decides what to show by `type`, never by the message.
import type { Schemas } from "./client.js";

export type ErrorBody = Schemas["ErrorBody"];
export type FieldError = Schemas["ErrorField"];

/** The stable kinds the server sends in `error.type`. The OpenAPI document types the field
 * as a plain string, so the list is kept here; a kind the server adds later lands in
 * `"unknown"` rather than breaking the page. */
export const errorKinds = [
  "bad_request",
  "unauthenticated",
  "forbidden",
  "email_not_verified",
  "mfa_enrolment_required",
  "step_up_required",
  "not_found",
  "method_not_allowed",
  "conflict",
  "payload_too_large",
  "headers_too_large",
  "validation_error",
  "rate_limited",
  "unavailable",
  "internal",
] as const;

export type ErrorKind = (typeof errorKinds)[number];

export function kindOf(body: ErrorBody): ErrorKind | "unknown" {
  const kind = body.error.type;
  return (errorKinds as readonly string[]).includes(kind) ? (kind as ErrorKind) : "unknown";
}

/** What a page does with an error: the switch a frontend writes once. The `never` at the end
 * makes tsc name any kind added to `errorKinds` and not handled here. */
export type Reaction =
  | { do: "sign_in_again" }
  | { do: "prove_second_factor" }
  | { do: "enrol_second_factor" }
  | { do: "show_fields"; fields: FieldError[] }
  | { do: "show_message"; message: string }
  | { do: "retry_later"; requestId: string };

export function react(body: ErrorBody): Reaction {
  const kind = kindOf(body);
  switch (kind) {
    case "unauthenticated":
      return { do: "sign_in_again" };
    case "step_up_required":
      return { do: "prove_second_factor" };
    case "mfa_enrolment_required":
      return { do: "enrol_second_factor" };
    case "validation_error":
    case "bad_request":
      return { do: "show_fields", fields: body.error.details };
    case "forbidden":
    case "email_not_verified":
    case "not_found":
    case "method_not_allowed":
    case "conflict":
    case "payload_too_large":
    case "headers_too_large":
      return { do: "show_message", message: body.error.message };
    case "rate_limited":
    case "unavailable":
    case "internal":
    case "unknown":
      return { do: "retry_later", requestId: body.error.request_id };
    default: {
      const unhandled: never = kind;
      throw new Error(`unhandled error kind ${String(unhandled)}`);
    }
  }
}
