// What the program's steps share: unwrapping openapi-fetch answers loudly, and running the
// steps in order with one line each and the closing count.
import type { ErrorBody } from "./errors.js";

/** openapi-fetch answers `{ data }` or `{ error }` (the operation's typed error body) with the
 * raw `response`; a step that expects success stops the run with the status and the body. */
export function ok<T>(
  result: { data?: T; error?: ErrorBody | undefined; response: Response },
  what: string,
): T {
  if (result.data === undefined) {
    throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

/** A 204 answer (no body for openapi-fetch to parse). */
export function noContent(result: { error?: unknown; response: Response }, what: string): void {
  if (result.response.status !== 204) {
    throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
}

/** The error body of a call expected to fail with `status`. */
export function refused(
  result: { data?: unknown; error?: ErrorBody | undefined; response: Response },
  status: number,
  what: string,
): ErrorBody {
  if (result.response.status !== status || result.error === undefined) {
    throw new Error(
      `${what}: expected HTTP ${status}, got ${result.response.status} ` +
        JSON.stringify(result.error ?? result.data),
    );
  }
  return result.error;
}

export type Step = readonly [name: string, run: () => Promise<string>];

/** Runs the steps in order (each needs the ones before it), printing `ok`/`not ok` lines and
 * `N passed, N failed` at the end; true when all passed. */
export async function runSteps(steps: readonly Step[]): Promise<boolean> {
  let passed = 0;
  let failed = 0;
  for (const [name, run] of steps) {
    const started = performance.now();
    try {
      const said = await run();
      const ms = Math.round(performance.now() - started);
      console.log(`ok ${passed + 1} - ${name} (${ms} ms): ${said}`);
      passed += 1;
    } catch (error) {
      console.log(`not ok ${passed + 1} - ${name}`);
      console.error(error);
      failed += 1;
      break; // the later steps stand on this one
    }
  }
  const skipped = steps.length - passed - failed;
  const rest = skipped > 0 ? `, ${skipped} skipped` : "";
  console.log(`client: ${passed} passed, ${failed} failed${rest}`);
  return failed === 0;
}
